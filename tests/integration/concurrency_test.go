package integration

// Load and concurrency: parallel commands on one ID and on many, readers
// during churn, and leaks over repeated cycles.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// parallel runs f(0..n-1) at once and waits for all of them.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// TestParallelCreateSameID: of 50 creates of one ID exactly
// one succeeds, and the state is the winner's.
func TestParallelCreateSameID(t *testing.T) {
	r := newRuntime(t)
	bundle := newBundle(t, withArgs("true"))
	id := newID(t)
	dir := t.TempDir()
	before := liveChildren(t)
	results := make([]Result, 50)
	parallel(len(results), func(i int) {
		cmd := r.Command("create", "--bundle", bundle, "--pid-file", filepath.Join(dir, strconv.Itoa(i)), id)
		results[i] = r.RunCmd(cmd)
	})
	winner := -1
	for i, res := range results {
		switch {
		case res.Code == 0 && winner >= 0:
			t.Errorf("creates %d and %d of one ID both succeeded", winner, i)
		case res.Code == 0:
			winner = i
		case res.Stderr == "" || strings.Count(res.Stderr, "\n") != 1:
			t.Errorf("losing create: %s, want a one-line error", res)
		}
	}
	if winner < 0 {
		t.Fatal("no create succeeded")
	}
	c := &Container{ID: id, Pid: readPidFile(t, filepath.Join(dir, strconv.Itoa(winner)))}
	c.exited = adopt(t, c.Pid)
	if st := r.State(id); st.Status != "created" || st.Pid != c.Pid || st.Bundle != bundle {
		t.Errorf("state after the race: %+v, want created by the winner (pid %d)", st, c.Pid)
	}
	if pids := cgroupProcs(id); len(pids) != 1 || pids[0] != c.Pid {
		t.Errorf("cgroup holds %v, want only the winner's init %d", pids, c.Pid)
	}
	for pid := range liveChildren(t) {
		if !before[pid] && pid != c.Pid {
			t.Errorf("a losing create left process %d", pid)
		}
	}
	r.Must("delete", id)
	c.Wait(t, 10*time.Second)
	assertGone(t, r, id)
}

// TestParallelCreateSharedMount: 100 containers created at
// once, all bind-mounting one host directory at the same destination.
func TestParallelCreateSharedMount(t *testing.T) {
	r := newRuntime(t)
	shared := t.TempDir()
	bundle := newBundle(t, shell("ls /shared"), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/shared/data", Type: "bind", Source: shared, Options: []string{"rbind", "rw"}})
	})
	ids := make([]string, 100)
	results := make([]Result, len(ids))
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", newID(t), i)
	}
	parallel(len(ids), func(i int) {
		results[i] = r.Run("create", "--bundle", bundle, ids[i])
	})
	for i, res := range results {
		if res.Code != 0 {
			t.Errorf("create %d: %s", i, res)
			continue
		}
		if st := r.State(ids[i]); st.Status != "created" {
			t.Errorf("container %d: %+v", i, st)
		}
	}
	parallel(len(ids), func(i int) {
		if res := r.Run("delete", "--force", ids[i]); res.Code != 0 {
			t.Errorf("%s", res)
		}
	})
	for _, id := range ids {
		assertGone(t, r, id)
	}
	if entries, _ := os.ReadDir(shared); len(entries) != 0 {
		t.Errorf("the shared source gained %d entries", len(entries))
	}
}

// TestReadersDuringChurn: list and state in a loop while
// containers are created and deleted never fail or print partial JSON.
func TestReadersDuringChurn(t *testing.T) {
	r := newRuntime(t)
	bundle := newBundle(t, withArgs("true"))
	steady := r.Create(bundle)
	stop := make(chan struct{})
	var churn sync.WaitGroup
	for w := range 2 {
		churn.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("%s-%d-%d", steady.ID, w, i)
				r.Run("create", "--bundle", bundle, id)
				r.Run("delete", "--force", id)
			}
		})
	}
	deadline := time.Now().Add(3 * time.Second)
	reads := 0
	for ; time.Now().Before(deadline); reads++ {
		var list []specs.State
		out := r.Must("list", "--format", "json")
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("list during churn: %v in %q", err, out)
		}
		for _, st := range list {
			if st.ID == "" || (st.Status != "created" && st.Status != "stopped" && st.Status != "running") {
				t.Errorf("list during churn shows %+v", st)
			}
		}
		if st := r.State(steady.ID); st.Status != "created" || st.Pid != steady.Pid {
			t.Errorf("state during churn: %+v", st)
		}
	}
	close(stop)
	churn.Wait()
	t.Logf("%d list+state rounds", reads)
}

// TestParallelCommandsOneContainer: kill, state, start and
// delete --force racing on one running container all return, and the end
// is consistent: no process, no state, no cgroup.
func TestParallelCommandsOneContainer(t *testing.T) {
	r := newRuntime(t)
	c := startSleeper(t, r)
	done := make(chan struct{})
	go func() {
		parallel(24, func(i int) {
			switch i % 4 {
			case 0:
				r.Run("kill", c.ID, "TERM")
			case 1:
				r.Run("state", c.ID)
			case 2:
				r.Run("start", c.ID)
			case 3:
				r.Run("delete", "--force", c.ID)
			}
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("parallel commands on one container hang")
	}
	c.Wait(t, 10*time.Second)
	assertGone(t, r, c.ID)
	if res := r.Run("state", c.ID); res.Code != 1 || !strings.Contains(res.Stderr, "does not exist") {
		t.Errorf("state after the race: %s", res)
	}
}

// leakCounts are host-wide things a container cycle could leave behind.
type leakCounts struct {
	mounts, cgroups, memfds, children, rootEntries int
}

func countLeaks(t testing.TB, r *Runtime) leakCounts {
	t.Helper()
	var n leakCounts
	n.mounts = strings.Count(readFile(t, "/proc/self/mountinfo"), "\n")
	cgroups, _ := filepath.Glob(filepath.Join(unifiedMount(), defaultCgroupGlob("it-*")))
	for _, cg := range cgroups {
		if fi, err := os.Stat(cg); err == nil && fi.IsDir() && strings.Contains(cg, t.Name()) {
			n.cgroups++
		}
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if target, _ := os.Readlink(fd); strings.HasPrefix(target, "/memfd:") {
			n.memfds++
		}
	}
	n.children = len(liveChildren(t))
	entries, _ := os.ReadDir(r.Root)
	n.rootEntries = len(entries)
	return n
}

// initFDs counts the fds a created (not yet started) init holds.
func initFDs(t testing.TB, pid int) int {
	t.Helper()
	waitBlockedOnFifo(t, pid)
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// waitBlockedOnFifo waits until a created init sits in the open of its
// exec fifo, where it stays until start. create returns a moment before
// that: until then the init may still be opening the directory it
// reopens the fifo through, so its fds are not yet the ones it waits with.
func waitBlockedOnFifo(t testing.TB, pid int) {
	t.Helper()
	openat := strconv.Itoa(unix.SYS_OPENAT) + " "
	deadline := time.Now().Add(10 * time.Second)
	for {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
		for _, task := range tasks {
			if b, err := os.ReadFile(task); err == nil && strings.HasPrefix(string(b), openat) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("init %d never blocked opening its exec fifo", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestNoLeaksOverCycles: create/start/wait/delete cycles
// leave mounts, cgroups, memfds, processes and state as they were, and the
// init holds as many fds in the last cycle as in the first.
// OCIRT_LEAK_CYCLES sets the count (1000 cycles show even a slow leak; the
// default keeps CI short).
func TestNoLeaksOverCycles(t *testing.T) {
	cycles := 20
	if v := os.Getenv("OCIRT_LEAK_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			t.Fatalf("OCIRT_LEAK_CYCLES=%q: want a number >= 2", v)
		}
		cycles = n
	}
	r := newRuntime(t)
	bundle := newBundle(t, withArgs("true"))
	cycle := func() int {
		c := r.Create(bundle)
		fds := initFDs(t, c.Pid)
		r.Must("start", c.ID)
		c.Wait(t, 10*time.Second)
		r.Must("delete", c.ID)
		return fds
	}
	firstFDs := cycle() // warm up: the first cycle may create shared state
	before := countLeaks(t, r)
	lastFDs := firstFDs
	for range cycles - 1 {
		lastFDs = cycle()
	}
	after := countLeaks(t, r)
	// memfds are counted host-wide: others' processes may hold some, so
	// only growth by at least one per cycle is ours.
	if after.mounts != before.mounts || after.cgroups != before.cgroups || after.children != before.children ||
		after.rootEntries != before.rootEntries || after.memfds-before.memfds >= cycles-1 {
		t.Errorf("after %d cycles: %+v, before: %+v", cycles, after, before)
	}
	if lastFDs != firstFDs {
		t.Errorf("created init holds %d fds in the last cycle, %d in the first", lastFDs, firstFDs)
	}
}
