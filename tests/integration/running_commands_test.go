package integration

// ps, pause/resume, events and update on a running container, driven
// through go-runc as containerd's shim drives them and through the CLI
// where exact words matter. Resource limits need controllers this hybrid
// host's cgroup v2 hierarchy lacks: those effects are tested in vm_test.go.

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestPsPauseResume: ps lists the container's host pids (json through
// go-runc, table keeping only its rows); pause freezes it (state says
// paused, exec is refused); resume thaws it; delete --force of a paused
// container kills everything and removes its cgroup.
func TestPsPauseResume(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	rc, ctx := r.GoRunc(), context.Background()
	pidFile := filepath.Join(t.TempDir(), "pid")
	noErr(t, rc.Exec(ctx, c.ID, specs.Process{Args: []string{"sleep", "1000"}, Cwd: "/"}, &runc.ExecOpts{Detach: true, PidFile: pidFile, IO: execOutIO{tempFile(t)}}))
	execPid := readPidFile(t, pidFile)
	adopt(t, execPid)
	pids, err := rc.Ps(ctx, c.ID)
	noErr(t, err)
	slices.Sort(pids)
	if want := []int{c.Pid, execPid}; !slices.Equal(pids, sortedInts(want)) {
		t.Errorf("ps --format json: %v, want %v", pids, want)
	}
	top, err := rc.Top(ctx, c.ID, "")
	noErr(t, err)
	pidCol := slices.Index(top.Headers, "PID")
	var topPids []int
	for _, row := range top.Processes {
		p, _ := strconv.Atoi(row[pidCol])
		topPids = append(topPids, p)
	}
	if !slices.Equal(sortedInts(topPids), sortedInts([]int{c.Pid, execPid})) {
		t.Errorf("ps table rows %v, want the container's pids %d and %d", top.Processes, c.Pid, execPid)
	}

	noErr(t, rc.Pause(ctx, c.ID))
	if st := r.State(c.ID); st.Status != "paused" {
		t.Fatalf("after pause: %s", st.Status)
	}
	for _, pid := range []int{c.Pid, execPid} {
		if st, _ := procStatusField(pid, "State"); !strings.HasPrefix(st, "S") && !strings.HasPrefix(st, "D") {
			t.Errorf("pid %d state %q while paused", pid, st)
		}
	}
	if !cgroupFrozen(t, c.ID) {
		t.Error("the container's cgroup is not frozen while paused")
	}
	if res := r.Run("exec", c.ID, "true"); res.Code == 0 || !strings.Contains(res.Stderr, "paused") {
		t.Errorf("exec into a paused container: %s", res)
	}
	if res := r.Run("pause", c.ID); res.Code == 0 {
		t.Errorf("pause of a paused container succeeded")
	}
	noErr(t, rc.Resume(ctx, c.ID))
	if st := r.State(c.ID); st.Status != "running" {
		t.Fatalf("after resume: %s", st.Status)
	}
	if res := r.Run("exec", c.ID, "true"); res.Code != 0 {
		t.Errorf("exec after resume: %s", res)
	}

	noErr(t, rc.Pause(ctx, c.ID))
	r.Must("delete", "--force", c.ID)
	ws := c.Wait(t, 10*time.Second)
	if !ws.Signaled() || ws.Signal() != unix.SIGKILL {
		t.Errorf("init of the paused container ended with %v, want SIGKILL", ws)
	}
	waitFor(t, 10*time.Second, "the exec'd process to die", func() bool { return !pidAlive(execPid) })
	if _, err := os.Stat(cgroupDir(c.ID)); !os.IsNotExist(err) {
		t.Errorf("cgroup of the paused container survived delete --force: %v", err)
	}
	if res := r.Run("exec", c.ID, "true"); res.Code == 0 || !strings.Contains(res.Stderr, "does not exist") {
		t.Errorf("exec into a deleted container: %s", res)
	}
}

func sortedInts(s []int) []int { s = slices.Clone(s); slices.Sort(s); return s }

// TestEventsStats: events --stats prints one JSON object in runc's shape
// (go-runc's Stats decodes it); events streams stats at --interval and
// ends when the container stops. Exec into the stopped container fails.
func TestEventsStats(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	raw := r.Must("events", "--stats", c.ID)
	var ev struct {
		Type string                     `json:"type"`
		ID   string                     `json:"id"`
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(raw), &ev); err != nil || ev.Type != "stats" || ev.ID != c.ID {
		t.Fatalf("events --stats: %q (%v)", raw, err)
	}
	for _, k := range []string{"cpu", "memory", "pids", "blkio", "hugetlb"} {
		if _, ok := ev.Data[k]; !ok {
			t.Errorf("stats lack %q: %s", k, raw)
		}
	}
	st, err := r.GoRunc().Stats(context.Background(), c.ID)
	noErr(t, err)
	if st.Pids.Current != 1 {
		t.Errorf("go-runc Stats: pids.current %d, want 1 (the init)", st.Pids.Current)
	}

	cmd := r.Command("events", "--interval", "100ms", c.ID)
	stdout, err := cmd.StdoutPipe()
	noErr(t, err)
	noErr(t, cmd.Start())
	lines := bufio.NewScanner(stdout)
	for i := 0; i < 2; i++ {
		if !lines.Scan() {
			t.Fatalf("events stream ended early: %v", lines.Err())
		}
		var e struct{ Type, ID string }
		if err := json.Unmarshal(lines.Bytes(), &e); err != nil || e.Type != "stats" || e.ID != c.ID {
			t.Fatalf("events line %q (%v)", lines.Text(), err)
		}
	}
	r.Must("kill", c.ID, "KILL")
	c.Wait(t, 10*time.Second)
	waitErr := make(chan error, 1)
	go func() {
		for lines.Scan() {
		}
		waitErr <- cmd.Wait()
	}()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Errorf("events after the container stopped: %v", err)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("events did not end when the container stopped")
	}
	if res := r.Run("exec", c.ID, "true"); res.Code == 0 || !strings.Contains(res.Stderr, "stopped") {
		t.Errorf("exec into a stopped container: %s", res)
	}
	if res := r.Run("kill", "--all", c.ID, "KILL"); res.Code != 0 {
		t.Errorf("kill --all of a stopped container: %s", res)
	}
}

// TestUpdateDevices: update (go-runc) replaces the device filter of a
// running container — a device the config does not allow becomes usable,
// then denied again — and records the rules in the container's config.
// A resource whose controller this hybrid host lacks is a clear error.
func TestUpdateDevices(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/dev/kmsg", Type: "bind", Source: "/dev/kmsg", Options: []string{"bind"}})
	})
	// Opening /dev/kmsg write-only needs no capability: only the device
	// filter stands in the way. Nothing is written.
	probe := func() Result { return r.Run("exec", c.ID, "sh", "-c", ": > /dev/kmsg") }
	if res := probe(); res.Code == 0 || !strings.Contains(res.Stderr, "Operation not permitted") {
		t.Fatalf("/dev/kmsg before update: %s, want EPERM from the filter", res)
	}
	rc, ctx := r.GoRunc(), context.Background()
	major, minor := int64(1), int64(11)
	noErr(t, rc.Update(ctx, c.ID, &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "w"}}}))
	if res := probe(); res.Code != 0 {
		t.Fatalf("/dev/kmsg after allowing it: %s", res)
	}
	if res := r.Run("exec", c.ID, "sh", "-c", ": > /dev/null"); res.Code != 0 {
		t.Fatalf("/dev/null after update: %s (the default devices must stay allowed)", res)
	}
	var spec specs.Spec
	noErr(t, json.Unmarshal([]byte(readFile(t, filepath.Join(r.Root, c.ID, "config.json"))), &spec))
	if d := spec.Linux.Resources.Devices; len(d) != 1 || d[0].Access != "w" || *d[0].Minor != 11 {
		t.Errorf("recorded device rules %+v, want the update's", d)
	}
	// An empty rule list (go-runc would omit it) goes through the CLI.
	cmd := r.Command("update", "--resources", "-", c.ID)
	cmd.Stdin = strings.NewReader(`{"devices":[]}`)
	if res := r.RunCmd(cmd); res.Code != 0 || res.Stderr != "" {
		t.Fatalf("%s", res)
	}
	if res := probe(); res.Code == 0 {
		t.Fatalf("/dev/kmsg still usable after the rule was removed: %s", res)
	}

	cmd = r.Command("update", "--resources", "-", c.ID)
	cmd.Stdin = strings.NewReader(`{"rdma":{"mlx5_0":{"hcaHandles":1}}}`)
	if res := r.RunCmd(cmd); res.Code == 0 || !strings.Contains(errorMessage(res.Stderr), `"rdma" controller`) {
		t.Errorf("update of an absent controller: %s", res)
	}
	if res := r.Run("update", "--l3-cache-schema", "L3:0=f", c.ID); res.Code == 0 {
		t.Errorf("update --l3-cache-schema succeeded: %s", res)
	}
}
