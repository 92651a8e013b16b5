package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The init does its setup parked in the runtime's own cgroup (so that the
// setup's memory is not charged to the container), but it is in the
// container's cgroup before any hook can look at it, when create returns,
// and its cgroup namespace is rooted at the container's cgroup.
func TestInitJoinsItsCgroupBeforeHooks(t *testing.T) {
	r := newRuntime(t)
	out := filepath.Join(t.TempDir(), "hook-cgroup")
	b := newBundle(t, withArgs("sh", "-c", "grep ^0:: /proc/self/cgroup"))
	script := filepath.Join(b, "hook.sh")
	must(t, os.WriteFile(script, []byte(`#!/bin/sh
pid=$(sed 's/.*"pid":\([0-9]*\).*/\1/')
grep ^0:: /proc/$pid/cgroup > "$1"
`), 0o755))
	editBundle(t, b, func(s *specs.Spec) {
		s.Process.Terminal = false
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
		s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: script, Args: []string{"hook.sh", out}}}} //nolint:staticcheck // still used by clients
	})
	c := r.Create(b)
	want := "0::" + strings.TrimPrefix(cgroupDir(c.ID), unifiedMount()) + "\n"
	if got := readFile(t, out); got != want {
		t.Errorf("prestart hook saw the init in %q, want %q", got, want)
	}
	if got := readFile(t, fmt.Sprintf("/proc/%d/cgroup", c.Pid)); !strings.Contains(got, want) {
		t.Errorf("after create the init is in %q, want %q", got, want)
	}
	r.Must("start", c.ID)
	c.Wait(t, 10*time.Second)
	if got := c.ReadOutput(t); got != "0::/\n" {
		t.Errorf("container sees itself in %q, want 0::/ (its cgroup namespace rooted at its cgroup)", got)
	}
}

// While create sets the container up, its init is parked in the runtime's
// own cgroup where memory is charged: checked at the "spawned" point,
// where create stops itself. (On a hybrid host the init may be born in
// the container's cgroup of the unified hierarchy, which has no memory
// controller there.)
func TestInitSetupRunsInRuntimeCgroup(t *testing.T) {
	r := newRuntime(t)
	bundle := newBundle(t, withArgs("true"))
	id := newID(t)
	cmd := r.createStoppedAt(bundle, id, "spawned")
	pid := readState(t, r, id).initPid()
	initCgroup := memoryCgroup(t, pid)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	r.Must("delete", "--force", id)
	reapZombie(pid)
	if own := memoryCgroup(t, os.Getpid()); initCgroup != own {
		t.Errorf("during setup the init is in %q, want the runtime's own %q", initCgroup, own)
	}
}

// memoryCgroup is a process's cgroup in the hierarchy that charges its
// memory: the v1 memory hierarchy where there is one, else the unified.
func memoryCgroup(t *testing.T, pid int) string {
	t.Helper()
	for _, line := range strings.Split(readFile(t, fmt.Sprintf("/proc/%d/cgroup", pid)), "\n") {
		if parts := strings.SplitN(line, ":", 3); len(parts) == 3 && slices.Contains(strings.Split(parts[1], ","), "memory") {
			return parts[2]
		}
	}
	return unifiedCgroup(t, pid)
}

// unifiedCgroup is a process's cgroup on the unified hierarchy.
func unifiedCgroup(t *testing.T, pid int) string {
	t.Helper()
	for _, line := range strings.Split(readFile(t, fmt.Sprintf("/proc/%d/cgroup", pid)), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p
		}
	}
	t.Fatalf("no 0:: line in /proc/%d/cgroup", pid)
	return ""
}
