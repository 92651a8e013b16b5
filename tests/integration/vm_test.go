//go:build vmtest

package integration

// Resource effects of update, events and stats, which need the memory and
// pids controllers: run inside the project's pure cgroup v2 VM (tests/vm),
// with a prebuilt binary (compiling under emulation is slow):
//
//	make build
//	go test -c -tags 'vmtest osusergo netgo' -o tests/integration/vm.test ./tests/integration
//	tests/vm/run.sh --env OCIRT_BINARY=$PWD/oci-rt -- tests/integration/vm.test -test.run VM -test.v

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func withMemoryLimit(limit int64) func(*specs.Spec) {
	return func(s *specs.Spec) {
		if s.Linux.Resources == nil {
			s.Linux.Resources = &specs.LinuxResources{}
		}
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
	}
}

// TestVMUpdateLimits: update changes memory.max and pids.max of a running
// container, the pids limit stops forks inside it, stats report the new
// limits, and the recorded config holds them.
func TestVMUpdateLimits(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r, withMemoryLimit(256<<20))
	limit, pids := int64(96<<20), int64(16)
	noErr(t, r.GoRunc().Update(context.Background(), c.ID, &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &limit},
		Pids:   &specs.LinuxPids{Limit: &pids},
	}))
	if got := strings.TrimSpace(readFile(t, filepath.Join(cgroupDir(c.ID), "memory.max"))); got != "100663296" {
		t.Errorf("memory.max %s after update --memory 96m", got)
	}
	// The init is one process; the exec'd shell can start about 14 sleeps
	// before a fork fails. (The limit leaves room for the threads of the
	// runtime's exec stage, which is a Go program until execve.)
	res := r.Run("exec", c.ID, "sh", "-c", "for i in $(seq 30); do sleep 5 & done 2>&1; kill $(jobs -p) 2>/dev/null; true")
	if !strings.Contains(res.Stdout+res.Stderr, "fork") {
		t.Errorf("forks past pids.max 16 were not refused: %s", res)
	}
	st, err := r.GoRunc().Stats(context.Background(), c.ID)
	noErr(t, err)
	if st.Pids.Limit != 16 || st.Memory.Usage.Limit != uint64(limit) || st.Memory.Usage.Usage == 0 {
		t.Errorf("stats: pids limit %d, memory limit %d usage %d; want 16, %d and some usage", st.Pids.Limit, st.Memory.Usage.Limit, st.Memory.Usage.Usage, limit)
	}
	var spec specs.Spec
	noErr(t, json.Unmarshal([]byte(readFile(t, filepath.Join(r.Root, c.ID, "config.json"))), &spec))
	if res := spec.Linux.Resources; *res.Memory.Limit != limit || *res.Pids.Limit != pids {
		t.Errorf("recorded resources: memory %d pids %d", *res.Memory.Limit, *res.Pids.Limit)
	}
}

// TestVMOOMEvent: a process exec'd into a container with a 32 MiB limit
// that allocates 64 MiB is OOM-killed (exec exits 137) and the events
// stream reports {"type":"oom"}.
func TestVMOOMEvent(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r, withMemoryLimit(32<<20))
	lines, _ := eventLines(t, r, c.ID)
	// Give events time to take its baseline before the OOM.
	time.Sleep(300 * time.Millisecond)
	res := r.Run("exec", c.ID, "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
	if res.Code != 137 {
		t.Errorf("memory hog: %s, want exit 137 (SIGKILL by the OOM killer)", res)
	}
	select {
	case line := <-lines:
		var e struct{ Type, ID string }
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Type != "oom" || e.ID != c.ID {
			t.Errorf("events line %q, want an oom event", line)
		}
	case <-time.After(10 * time.Second):
		t.Error("no oom event within 10s")
	}
	if st := r.State(c.ID); st.Status != "running" {
		t.Errorf("container %s after its exec'd process was OOM-killed", st.Status)
	}
}

// TestVMSmallMemoryLimit: the runtime's own setup work in the init is not
// charged to the container, so a container starts under a memory.max far
// below what a Go process needs (about 2 MiB): 512 KiB is in place on the
// cgroup while the container is created, and its process runs to exit 0.
func TestVMSmallMemoryLimit(t *testing.T) {
	r := newRuntime(t)
	c := r.Create(newBundle(t, withArgs("true"), withMemoryLimit(512<<10)))
	if got := strings.TrimSpace(readFile(t, filepath.Join(cgroupDir(c.ID), "memory.max"))); got != "524288" {
		t.Errorf("memory.max %s, want 524288", got)
	}
	r.Must("start", c.ID)
	if ws := c.Wait(t, 30*time.Second); ws.ExitStatus() != 0 || ws.Signaled() {
		t.Errorf("container under memory.max 512K: wait status %#x, output %q", ws, c.ReadOutput(t))
	}
	r.Must("delete", c.ID)
}

// TestVMInitOOMKilledDuringCreate: under a memory.max too
// small for even the namespace stage, create fails with an error that says
// the process was OOM-killed, and leaves nothing behind.
func TestVMInitOOMKilledDuringCreate(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, withArgs("true"), withMemoryLimit(16<<10), func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	})
	id := newID(t)
	res := r.Run("create", "--bundle", b, id)
	if res.Code == 0 || !strings.Contains(res.Stderr, "OOM-killed during create") || !strings.Contains(res.Stderr, "memory limit too low") {
		t.Errorf("create under memory.max 16K: %s, want an error saying the process was OOM-killed", res)
	}
	assertGone(t, r, id)
}

// TestVMPausedDeleteForce: on a pure v2 host, delete --force of a paused
// container kills its processes through the frozen cgroup and removes it,
// leaving no frozen process behind.
func TestVMPausedDeleteForce(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	r.Must("pause", c.ID)
	if st := r.State(c.ID); st.Status != "paused" {
		t.Fatalf("after pause: %s", st.Status)
	}
	r.Must("delete", "--force", c.ID)
	c.Wait(t, 10*time.Second)
	if _, err := os.Stat(cgroupDir(c.ID)); !os.IsNotExist(err) {
		t.Errorf("cgroup survived: %v", err)
	}
}
