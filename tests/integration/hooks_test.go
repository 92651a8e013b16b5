package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookScript records, per run, the hook's name, its mount namespace, an
// env variable and the state it got on stdin, one JSON-ish line each.
const hookScript = `#!/bin/sh
state=$(cat)
echo "$1|$(readlink /proc/self/ns/mnt)|$HOOKVAR|$state" >> "$2"
`

type hookRun struct {
	name, mntNS, env string
	state            specs.State
}

func readHookLog(t *testing.T, path string) []hookRun {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var runs []hookRun
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, "|", 4)
		if len(f) != 4 {
			t.Fatalf("hook log line %q", line)
		}
		h := hookRun{name: f[0], mntNS: f[1], env: f[2]}
		if err := json.Unmarshal([]byte(f[3]), &h.state); err != nil {
			t.Fatalf("hook %s got state %q on stdin: %v", f[0], f[3], err)
		}
		runs = append(runs, h)
	}
	return runs
}

// TestHooks: each hook kind runs at its moment, in order,
// in the right mount namespace, with its env and the state on stdin.
// createRuntime/prestart/poststart/poststop run in the runtime's namespace;
// createContainer and startContainer in the container's (startContainer's
// path resolves inside the container, so the script is in the rootfs and
// logs through a bind mount).
func TestHooks(t *testing.T) {
	r := newRuntime(t)
	logDir := t.TempDir()
	hostLog := filepath.Join(logDir, "log")
	b := newBundle(t, withArgs("true"))
	hostScript := filepath.Join(b, "hook.sh")
	must(t, os.WriteFile(hostScript, []byte(hookScript), 0o755))
	writeRootfsFile(t, b, "hook.sh", hookScript, 0o755)
	env := []string{"PATH=/usr/bin:/bin", "HOOKVAR=passed"}
	hook := func(name string) specs.Hook {
		return specs.Hook{Path: hostScript, Args: []string{"hook.sh", name, hostLog}, Env: env}
	}
	editBundle(t, b, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/hooklog", Type: "bind", Source: logDir, Options: []string{"rbind", "rw"}})
		s.Hooks = &specs.Hooks{
			Prestart:        []specs.Hook{hook("prestart")}, //nolint:staticcheck // still used by clients
			CreateRuntime:   []specs.Hook{hook("createRuntime")},
			CreateContainer: []specs.Hook{hook("createContainer")},
			StartContainer:  []specs.Hook{{Path: "/hook.sh", Args: []string{"hook.sh", "startContainer", "/hooklog/log"}, Env: env}},
			Poststart:       []specs.Hook{hook("poststart")},
			Poststop:        []specs.Hook{hook("poststop")},
		}
	})
	runtimeNS, err := os.Readlink("/proc/self/ns/mnt")
	must(t, err)

	c := r.Create(b)
	containerNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", c.Pid))
	must(t, err)
	if runs := readHookLog(t, hostLog); len(runs) != 3 {
		t.Fatalf("after create: hooks %v, want prestart, createRuntime, createContainer", runs)
	}
	r.Must("start", c.ID)
	c.Wait(t, 10*time.Second)
	if runs := readHookLog(t, hostLog); len(runs) != 5 {
		t.Fatalf("after start: hooks %v, want startContainer and poststart too", runs)
	}
	r.Must("delete", c.ID)

	want := []struct {
		name, ns string
		status   specs.ContainerState
		pid      int
	}{
		// As runc, and as the conformance suite checks: the runtime's own
		// create hooks see "created".
		{"prestart", runtimeNS, specs.StateCreated, c.Pid},
		{"createRuntime", runtimeNS, specs.StateCreated, c.Pid},
		{"createContainer", containerNS, specs.StateCreating, c.Pid},
		{"startContainer", containerNS, specs.StateCreated, c.Pid},
		{"poststart", runtimeNS, specs.StateRunning, -1}, // the process may already be gone
		{"poststop", runtimeNS, specs.StateStopped, 0},
	}
	runs := readHookLog(t, hostLog)
	if len(runs) != len(want) {
		t.Fatalf("hooks ran: %+v, want %d", runs, len(want))
	}
	for i, w := range want {
		h := runs[i]
		if h.name != w.name {
			t.Errorf("hook #%d is %s, want %s", i, h.name, w.name)
			continue
		}
		if h.mntNS != w.ns {
			t.Errorf("%s ran in mount ns %s, want %s", h.name, h.mntNS, w.ns)
		}
		if h.env != "passed" {
			t.Errorf("%s: HOOKVAR %q, want the hook's env", h.name, h.env)
		}
		st := h.state
		if st.ID != c.ID || st.Bundle != b || (w.pid >= 0 && st.Pid != w.pid) || (w.name != "poststart" && st.Status != w.status) {
			t.Errorf("%s got state %+v, want id %s, bundle %s, status %s, pid %d", h.name, st, c.ID, b, w.status, w.pid)
		}
	}
}

// TestHookFailures: a failing or slow hook fails its operation with a
// message naming it; create failures leave nothing behind; a poststart
// failure fails start and stops the container; a poststop failure is
// reported (as a warning) while delete still removes the container.
func TestHookFailures(t *testing.T) {
	fail := func(msg string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "echo " + msg + " >&2; exit 3"}}
	}
	one := func(edit func(*specs.Hooks)) func(*specs.Spec) {
		return func(s *specs.Spec) { s.Hooks = &specs.Hooks{}; edit(s.Hooks) }
	}
	timeout := 1
	for _, tc := range []struct {
		name, want string
		edit       func(*specs.Spec)
	}{
		{"prestart", "prestart hook #0", one(func(h *specs.Hooks) { h.Prestart = []specs.Hook{fail("prestart-broke")} })}, //nolint:staticcheck
		{"createRuntime", "createRuntime hook #0", one(func(h *specs.Hooks) { h.CreateRuntime = []specs.Hook{fail("cr-broke")} })},
		{"createContainer", "createContainer hook #0", one(func(h *specs.Hooks) { h.CreateContainer = []specs.Hook{fail("cc-broke")} })},
		{"timeout", "timed out", one(func(h *specs.Hooks) {
			h.CreateRuntime = []specs.Hook{{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Timeout: &timeout}}
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRuntime(t)
			start := time.Now()
			res := expectCreateFails(t, r, newBundle(t, tc.edit), tc.want)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("failing hook took %v to fail create", d)
			}
			if tc.name != "timeout" && !strings.Contains(res.Stderr, "broke") {
				t.Errorf("%s: the hook's stderr is not in the error", res)
			}
		})
	}

	t.Run("startContainer", func(t *testing.T) {
		r := newRuntime(t)
		c := r.Create(newBundle(t, withArgs("sleep", "30"), one(func(h *specs.Hooks) {
			h.StartContainer = []specs.Hook{fail("sc-broke")}
		})))
		res := r.Run("start", c.ID)
		checkFailure(t, res, "startContainer hook #0")
		c.Wait(t, 10*time.Second)
	})

	t.Run("poststart", func(t *testing.T) {
		r := newRuntime(t)
		c := r.Create(newBundle(t, withArgs("sleep", "30"), one(func(h *specs.Hooks) {
			h.Poststart = []specs.Hook{fail("ps-broke")}
		})))
		checkFailure(t, r.Run("start", c.ID), "poststart hook #0")
		c.Wait(t, 10*time.Second) // the container is stopped, not left running
		if st := r.State(c.ID); st.Status != "stopped" {
			t.Errorf("after a failed poststart: %s", st.Status)
		}
	})

	t.Run("poststop", func(t *testing.T) {
		r := newRuntime(t)
		c := r.Create(newBundle(t, withArgs("true"), one(func(h *specs.Hooks) {
			h.Poststop = []specs.Hook{fail("pst-broke")}
		})))
		r.Must("start", c.ID)
		c.Wait(t, 10*time.Second)
		// Spec 1.3: delete goes on; the failure is a warning on stderr.
		res := r.Run("delete", c.ID)
		if !strings.Contains(res.Stderr, "poststop hook #0") || !strings.Contains(res.Stderr, "pst-broke") {
			t.Errorf("%s: the poststop failure is not reported", res)
		}
		checkNothingLeft(t, r, c.ID)
	})
}

// TestHooksThatLeaveTheirStdinUnread: a hook the runtime runs that exits
// without reading the state on its stdin (here a state larger than a
// pipe holds) must not reach the container: a runtime that wrote the
// state into a pipe got SIGPIPE for it, and a foreground run passes
// every signal it gets on to the container's process once it runs (a
// poststart hook's for certain), which dies of it unless it is the init
// of a pid namespace: here it shares the host's.
func TestHooksThatLeaveTheirStdinUnread(t *testing.T) {
	r := newRuntime(t)
	ignore := []specs.Hook{{Path: "/bin/true"}}
	b := newBundle(t, withArgs("sleep", "1"), func(s *specs.Spec) {
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(ns specs.LinuxNamespace) bool { return ns.Type == specs.PIDNamespace })
		s.Annotations = map[string]string{"big": strings.Repeat("x", 256<<10)}
		s.Hooks = &specs.Hooks{Prestart: ignore, CreateRuntime: ignore, CreateContainer: ignore, Poststart: ignore} //nolint:staticcheck // prestart is still used by clients
	})
	if res := runContainer(t, r, b); res.Code != 0 {
		t.Errorf("%s: want the container to sleep on and exit 0", res)
	}
}
