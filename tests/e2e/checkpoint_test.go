//go:build e2e

package e2e

// Checkpoint and restore through the engines, which call the runtime's
// checkpoint and restore commands (and those call CRIU). CRIU 3.17 fails on
// a kernel as new as the CI host's, so these run in the project's VM
// (Debian's 6.1 kernel), from `make test-vm`, which sets E2E_CRIU=1.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// counterScript counts once a second into /count (one write each, which a
// reader sees empty or whole), from a random start: a process started
// afresh would count from elsewhere, so a restored one that goes on from
// the checkpointed number did resume.
const counterScript = "i=$RANDOM; while :; do i=$((i+1)); echo $i > /count; sleep 1; done"

func needCriu(t *testing.T) {
	t.Helper()
	if os.Getenv("E2E_CRIU") != "1" {
		t.Skip("checkpoint needs a kernel CRIU works on: runs in the VM (make test-vm sets E2E_CRIU=1)")
	}
}

// counter is a counting container and the last number the test read.
type counter struct {
	e    engine
	id   string
	last int
	at   time.Time
}

// startCounter runs the counter (its reference is id) and waits until it
// has counted.
func startCounter(t *testing.T, e engine, id string) *counter {
	t.Helper()
	c := &counter{e: e, id: id}
	first := c.read(t)
	waitUntil(t, 30*time.Second, c.id+" counting", func() bool { return c.read(t) > first })
	return c
}

// read is the number the container (of c.id) has reached, read through
// its root from the host.
func (c *counter) read(t *testing.T) int {
	t.Helper()
	path := filepath.Join("/proc", strconv.Itoa(c.e.Pid(t, c.id)), "root/count")
	var n int
	waitUntil(t, 30*time.Second, path+" to hold a number", func() bool {
		data, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		var convErr error
		n, convErr = strconv.Atoi(strings.TrimSpace(string(data)))
		return convErr == nil
	})
	c.last, c.at = n, time.Now()
	return n
}

// expectResumed checks that the container id counts on from where c was
// checkpointed: at least the last number read before, at most as far on as
// the time since then allows; and that it keeps counting.
func (c *counter) expectResumed(t *testing.T, id string) {
	t.Helper()
	before, since := c.last, c.at
	restored := &counter{e: c.e, id: id}
	got := restored.read(t)
	limit := before + int(time.Since(since).Seconds()) + 2
	if got < before || got > limit {
		t.Fatalf("restored %s counts at %d; it was checkpointed after %d, so want %d..%d (a fresh start counts from elsewhere)", id, got, before, before, limit)
	}
	waitUntil(t, 30*time.Second, id+" counting on after the restore", func() bool { return restored.read(t) > got })
}

// expectGone checks that once the client has removed a restored
// container, no process naming it is left (its monitor or shim, which
// a restore started): the emulated VM is slow, so they get a minute.
func expectGone(t *testing.T, name string, remove func()) {
	t.Helper()
	remove()
	waitUntil(t, time.Minute, "the processes of "+name+" to end", func() bool { return len(processesUsing(name)) == 0 })
}

// TestPodmanCheckpoint: `podman container checkpoint` and `restore` on the
// runtime, in place and through --export/--import to a second name.
func TestPodmanCheckpoint(t *testing.T) {
	needCriu(t)
	podman := startPodman(t)
	defer podman.cmd(clientTimeout, "rm", "-a", "-f")
	check(t, podman, "checkpoint-restore", func(t *testing.T) {
		c := startCounter(t, podman, podman.Start(t, runOpts{cmd: sh(counterScript)}))
		c.read(t)
		podman.must(t, "container", "checkpoint", c.id)
		if state := podman.must(t, "inspect", "--format", "{{.State.Status}}", c.id); state != "exited" {
			t.Errorf("after checkpoint %s is %s, want exited", c.id, state)
		}
		podman.must(t, "container", "restore", c.id)
		c.expectResumed(t, c.id)
		full := podman.must(t, "inspect", "--format", "{{.Id}}", c.id)
		expectGone(t, full, func() { podman.Remove(t, c.id) })
	})
	check(t, podman, "checkpoint-export-import", func(t *testing.T) {
		c := startCounter(t, podman, podman.Start(t, runOpts{cmd: sh(counterScript)}))
		archive := filepath.Join(workDir, "podman", c.id+"-checkpoint.tar.gz")
		c.read(t)
		podman.must(t, "container", "checkpoint", "--export", archive, c.id)
		imported := c.id + "-imported"
		podman.must(t, "container", "restore", "--import", archive, "--name", imported)
		c.expectResumed(t, imported)
		full := podman.must(t, "inspect", "--format", "{{.Id}}", imported)
		expectGone(t, full, func() { podman.Remove(t, imported) })
	})
}

// TestContainerdCheckpoint: ctr's container checkpoint (the task's
// memory into the content store, the task left running) and restore
// --live as a new container, after the first is gone.
func TestContainerdCheckpoint(t *testing.T) {
	needCriu(t)
	dir := filepath.Join(workDir, "containerd")
	ns := fmt.Sprintf("oci-rt-e2e-ctr-%d", os.Getpid())
	ctr := newCtr(t, startContainerd(t, dir, false, []string{"/" + ns}), dir, ns)
	check(t, ctr, "checkpoint-restore", func(t *testing.T) {
		// ctr's Start logs to a file, and that file would be the
		// process's stdout in the images; `ctr containers restore`
		// gives the restored task pipes, which CRIU cannot seek to the
		// file's offset. Without --log-uri the task has pipes from the
		// start, as the engines' tasks do.
		id := ctr.newID()
		ctr.must(t, append([]string{"run", "-d"}, ctr.runArgs(runOpts{cmd: sh(counterScript)}, id)...)...)
		c := startCounter(t, ctr, id)
		ref := "localhost/e2e-checkpoint:" + c.id
		c.read(t)
		ctr.must(t, "containers", "checkpoint", "--task", c.id, ref)
		ctr.Remove(t, c.id)
		restored := c.id + "-restored"
		ctr.must(t, "containers", "restore", "--live", restored, ref)
		c.expectResumed(t, restored)
		expectGone(t, restored, func() { ctr.Remove(t, restored) })
	})
}
