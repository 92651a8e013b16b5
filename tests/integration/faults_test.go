package integration

// Faults and crash consistency: a runtime killed mid-create, half-written
// state, a reused init pid, a failed create.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// recordedState is the part of <root>/<id>/state.json these tests read
// and forge: where the container's pieces are.
type recordedState map[string]any

func readState(t testing.TB, r *Runtime, id string) recordedState {
	t.Helper()
	var st recordedState
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(r.Root, id, "state.json"))), &st); err != nil {
		t.Fatalf("state.json of %s: %v", id, err)
	}
	return st
}

func (st recordedState) initPid() int {
	pid, _ := st["initPid"].(float64)
	return int(pid)
}

// writeState replaces state.json atomically, as the runtime does.
func writeState(t testing.TB, r *Runtime, id string, st recordedState) {
	t.Helper()
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(r.Root, id, "state.json")
	if err := os.WriteFile(path+".forged", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".forged", path); err != nil {
		t.Fatal(err)
	}
}

// cgroupProcs lists the processes in a container's cgroup (none when it
// does not exist).
func cgroupProcs(id string) []int {
	data, _ := os.ReadFile(filepath.Join(cgroupDir(id), "cgroup.procs"))
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// liveChildren lists our children that have not exited: an init left by a
// create comes back to us, the subreaper.
func liveChildren(t testing.TB) map[int]bool {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil {
		t.Fatal(err)
	}
	kids := map[int]bool{}
	for _, task := range tasks {
		data, _ := os.ReadFile(task)
		for _, f := range strings.Fields(string(data)) {
			if pid, _ := strconv.Atoi(f); pid > 0 && pidAlive(pid) {
				kids[pid] = true
			}
		}
	}
	return kids
}

// reapZombie collects pid if it is an exited child of ours.
func reapZombie(pid int) {
	var ws unix.WaitStatus
	_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
}

// TestKillCreateAtEachPoint: create stops itself at each
// named point (OCIRT_TEST_PAUSE_AT), we SIGKILL it there; delete --force
// then leaves no process, cgroup or state, and the ID can be reused. Also
// for a container that joins another's pid namespace, whose init sets up
// outside it.
func TestKillCreateAtEachPoint(t *testing.T) {
	for _, point := range []string{"recorded", "cgroup", "spawned", "ready", "joined-pidns-spawned", "joined-pidns-ready", "joined-hooks-spawned", "joined-hooks-ready", "joined-userns-spawned", "joined-userns-ready"} {
		t.Run(point, func(t *testing.T) {
			r := newRuntime(t)
			edits := []func(*specs.Spec){withArgs("true")}
			if p, ok := strings.CutPrefix(point, "joined-pidns-"); ok {
				point = p
				edits = append(edits, joinPidNS(sharedPidNamespace(t, r)))
			}
			if p, ok := strings.CutPrefix(point, "joined-hooks-"); ok {
				point = p
				edits = append(edits, joinPidNS(sharedPidNamespace(t, r)), withStartHook("true"))
			}
			if p, ok := strings.CutPrefix(point, "joined-userns-"); ok {
				point = p
				edits = append(edits, joinPidNS(sharedPidNamespace(t, r)), userNSSpec)
			}
			bundle := newBundle(t, edits...)
			openToUserNS(t, bundle)
			id := newID(t)
			cmd := r.createStoppedAt(bundle, id, point)
			st := readState(t, r, id)
			procs := cgroupProcs(id)
			if pid := st.initPid(); pid > 0 {
				procs = append(procs, pid)
			}
			if (point == "spawned" || point == "ready") && len(procs) == 0 {
				t.Fatalf("at %s the state records no init and the cgroup holds no process", point)
			}
			_ = cmd.Process.Kill()
			_ = cmd.Wait()

			r.Must("delete", "--force", id)
			for _, pid := range procs {
				reapZombie(pid)
				if pidAlive(pid) {
					t.Errorf("process %d of the killed create survived delete --force", pid)
				}
			}
			assertGone(t, r, id)
			c := r.CreateID(id, bundle)
			r.Must("delete", c.ID)
			c.Wait(t, 10*time.Second)
			assertGone(t, r, id)
		})
	}
}

// TestIncompleteStateDir: a state dir with no state file, a
// truncated one, or one create never completed is skipped by list and
// removed by delete --force.
func TestIncompleteStateDir(t *testing.T) {
	r := newRuntime(t)
	c := r.Create(newBundle(t, withArgs("true")))
	incomplete := map[string]string{
		newID(t): "",
		newID(t): `{"id":`,
		newID(t): `{"id":"x","complete":false}`,
	}
	for id, content := range incomplete {
		if err := os.Mkdir(filepath.Join(r.Root, id), 0o700); err != nil {
			t.Fatal(err)
		}
		if content != "" {
			if err := os.WriteFile(filepath.Join(r.Root, id, "state.json"), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.Must("list", "--format", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0]["id"] != c.ID {
		t.Errorf("list shows %v, want only %s", list, c.ID)
	}
	for id := range incomplete {
		r.Must("delete", "--force", id)
		assertGone(t, r, id)
	}
}

// TestPidReused: the init exited and another process now has
// its pid (forged: state.json names a live process of ours with the init's
// start time): state says stopped, kill refuses and leaves that process
// alone, delete does too.
func TestPidReused(t *testing.T) {
	r := newRuntime(t)
	c := r.Create(newBundle(t, withArgs("true")))
	r.Must("start", c.ID)
	c.Wait(t, 10*time.Second)
	// Start times count clock ticks: a process started in the init's
	// tick would share its start time, which is another case (the pid
	// namespace tells them apart), so the stranger starts a tick later.
	time.Sleep(30 * time.Millisecond)
	stranger := exec.Command("sleep", "60") // stands for the process that got the pid
	if err := stranger.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stranger.Process.Kill(); _ = stranger.Wait() }()
	st := readState(t, r, c.ID)
	st["initPid"] = stranger.Process.Pid
	writeState(t, r, c.ID, st)

	if got := r.State(c.ID); got.Status != "stopped" || got.Pid != 0 {
		t.Errorf("state with a reused pid: %+v, want stopped with pid 0", got)
	}
	if res := r.Run("kill", c.ID, "KILL"); res.Code != 1 || !strings.Contains(res.Stderr, "container not running") {
		t.Errorf("kill with a reused pid: %s", res)
	}
	r.Must("delete", c.ID)
	if !pidAlive(stranger.Process.Pid) {
		t.Fatal("the process that reused the init's pid was killed")
	}
	assertGone(t, r, c.ID)
}

// TestFailedCreateLeavesNothing: a create that fails inside
// init (args[0] missing) fails with a one-line error and leaves no state,
// cgroup or process; also in a container that joins another's pid
// namespace, and where that namespace is no pid namespace at all.
func TestFailedCreateLeavesNothing(t *testing.T) {
	for _, c := range []struct {
		name, want string
		edit       func(*testing.T, *Runtime) func(*specs.Spec)
	}{
		{"own-pidns", "/no/such/binary", func(*testing.T, *Runtime) func(*specs.Spec) { return withArgs("/no/such/binary") }},
		{"joined-pidns", "/no/such/binary", func(t *testing.T, r *Runtime) func(*specs.Spec) {
			pid := sharedPidNamespace(t, r)
			return func(s *specs.Spec) { withArgs("/no/such/binary")(s); joinPidNS(pid)(s) }
		}},
		{"joined-pidns-hooks", "/no/such/binary", func(t *testing.T, r *Runtime) func(*specs.Spec) {
			pid := sharedPidNamespace(t, r)
			return func(s *specs.Spec) { withArgs("/no/such/binary")(s); joinPidNS(pid)(s); withStartHook("true")(s) }
		}},
		{"userns-joined-pidns", "/no/such/binary", func(t *testing.T, r *Runtime) func(*specs.Spec) {
			pid := sharedPidNamespace(t, r)
			return func(s *specs.Spec) { withArgs("/no/such/binary")(s); joinPidNS(pid)(s); userNSSpec(s) }
		}},
		{"not-a-pidns", "pid namespace", func(*testing.T, *Runtime) func(*specs.Spec) {
			return func(s *specs.Spec) {
				for i, ns := range s.Linux.Namespaces {
					if ns.Type == specs.PIDNamespace {
						s.Linux.Namespaces[i].Path = "/proc/self/ns/net"
					}
				}
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRuntime(t)
			bundle := newBundle(t, c.edit(t, r))
			openToUserNS(t, bundle)
			failedCreateLeavesNothing(t, r, bundle, c.want)
		})
	}
}

// sharedPidNamespace starts a container for others to join the pid
// namespace of, and returns its pid.
func sharedPidNamespace(t *testing.T, r *Runtime) int {
	t.Helper()
	a := r.Create(newBundle(t, withArgs("sleep", "300")))
	r.Must("start", a.ID)
	t.Cleanup(func() {
		_ = r.Run("kill", a.ID, "KILL")
		a.Wait(t, 10*time.Second)
	})
	return a.Pid
}

func failedCreateLeavesNothing(t *testing.T, r *Runtime, bundle, want string) {
	before := liveChildren(t)
	id := newID(t)
	res := r.Run("create", "--bundle", bundle, id)
	if res.Code != 1 || !strings.Contains(res.Stderr, want) || strings.Count(res.Stderr, "\n") != 1 {
		t.Errorf("create: %s, want exit 1 and a one-line error naming %q", res, want)
	}
	assertGone(t, r, id)
	if _, err := os.Stat(filepath.Join(r.Root, id)); !os.IsNotExist(err) {
		t.Errorf("state of %s after a failed create: %v", id, err)
	}
	time.Sleep(50 * time.Millisecond)
	for pid := range liveChildren(t) {
		if !before[pid] {
			t.Errorf("failed create left process %d behind", pid)
		}
	}
}
