package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cpusOf is the Cpus_allowed_list line of a status file.
func cpusOf(t *testing.T, status string) string {
	t.Helper()
	for _, line := range strings.Split(readFile(t, status), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no Cpus_allowed_list in %s", status)
	return ""
}

// cpuSet is the set of CPUs a Cpus_allowed_list value names ("0-2,5").
func cpuSet(t *testing.T, list string) map[int]bool {
	t.Helper()
	set := map[int]bool{}
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.Atoi(lo)
		must(t, err)
		last := first
		if isRange {
			last, err = strconv.Atoi(hi)
			must(t, err)
		}
		for cpu := first; cpu <= last; cpu++ {
			set[cpu] = true
		}
	}
	return set
}

// firstKey is one member of a set.
func firstKey(set map[int]bool) int {
	for k := range set {
		return k
	}
	return -1
}

// The runtime starts pinned to one CPU, so that the Go runtime gives
// itself one P, and its own threads stay on one CPU of the caller's,
// while everything it starts has the caller's mask: the container's
// init, an exec'd process and the hooks. An init that runs Go (here
// forced by the test hook, with a createContainer hook for it to run) is
// never pinned: the container's process would keep the pin.
func TestTheRuntimeGivesTheCallersCPUsBack(t *testing.T) {
	t.Run("init in C", func(t *testing.T) { testCallersCPUs(t, false) })
	t.Run("init in Go", func(t *testing.T) { testCallersCPUs(t, true) })
}

func testCallersCPUs(t *testing.T, goInit bool) {
	caller := cpusOf(t, "/proc/self/status")
	r := newRuntime(t)
	hookLog := filepath.Join(t.TempDir(), "hooks")
	createLog := filepath.Join(t.TempDir(), "create.log")
	b := newBundle(t, withArgs("sleep", "100"), withLoggingHooks("grep Cpus_allowed_list /proc/self/status", hookLog), func(s *specs.Spec) {
		if goInit {
			s.Hooks.CreateContainer = []specs.Hook{{Path: "/bin/true"}}
		}
	})
	if goInit {
		r.Env = []string{goInitEnv}
	}
	r.Global = []string{"--debug", "--log", createLog}
	c := r.Create(b)
	r.Global = nil
	if inGo := strings.Contains(readFile(t, createLog), "the init sets the container up in Go"); inGo != goInit {
		t.Fatalf("the init ran Go: %v, want %v", inGo, goInit)
	}
	r.Must("start", c.ID)
	if got := cpusOf(t, "/proc/"+strconv.Itoa(c.Pid)+"/status"); got != caller {
		t.Errorf("the container's init may run on CPUs %s, want the caller's %s", got, caller)
	}

	out := tempFile(t)
	var debug bytes.Buffer
	cmd := r.Command("--debug", "exec", c.ID, "sh", "-c", "grep Cpus_allowed_list /proc/self/status; sleep 2")
	cmd.Stdout, cmd.Stderr = out, &debug
	must(t, cmd.Start())
	waitFor(t, 5*time.Second, "the exec'd process to start", func() bool {
		fi, err := out.Stat()
		return err == nil && fi.Size() > 0
	})
	cli := "/proc/" + strconv.Itoa(cmd.Process.Pid)
	tasks, err := os.ReadDir(cli + "/task")
	must(t, err)
	callerSet := cpuSet(t, caller)
	for _, task := range tasks {
		got := cpusOf(t, cli+"/task/"+task.Name()+"/status")
		if set := cpuSet(t, got); len(set) != 1 || !callerSet[firstKey(set)] {
			t.Errorf("thread %s of the runtime's exec may run on CPUs %s, want one of the caller's %s", task.Name(), got, caller)
		}
	}
	must(t, cmd.Wait())
	if got := strings.TrimSpace(strings.TrimPrefix(readFile(t, out.Name()), "Cpus_allowed_list:")); got != caller {
		t.Errorf("the exec'd process may run on CPUs %q, want the caller's %s", got, caller)
	}
	// With more than one CPU the start was pinned, which this test is
	// about; it says so in the debug log.
	if pinned := strings.Contains(debug.String(), "started on one CPU"); pinned != strings.ContainsAny(caller, ",-") {
		t.Errorf("caller's CPUs %s, but the runtime says it started pinned: %v; its debug log:\n%s", caller, pinned, debug.String())
	}

	r.Must("kill", c.ID, "KILL")
	c.Wait(t, 10*time.Second)
	r.Must("delete", c.ID)
	lines := strings.Split(strings.TrimSpace(readFile(t, hookLog)), "\n")
	if len(lines) != 2 {
		t.Fatalf("hook log %q, want two lines", lines)
	}
	for _, line := range lines {
		if got := strings.TrimSpace(strings.TrimPrefix(line, "Cpus_allowed_list:")); got != caller {
			t.Errorf("a hook may run on CPUs %q, want the caller's %s", got, caller)
		}
	}
}
