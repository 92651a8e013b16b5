package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The state store steers kill and delete: a state not written by the
// caller alone is refused, and a state that names objects create never
// made for the container (a decoy process, a decoy cgroup with a process
// in it, a decoy mount) makes neither command touch them.

// TestStateStoreOwnership: a --root, state directory or state file that
// is a symlink, owned by another user or writable by group or others is
// refused with a message that says so, and the container is left alone.
func TestStateStoreOwnership(t *testing.T) {
	r := newRuntime(t)
	c := r.Create(newBundle(t, withArgs("sleep", "1000")))
	r.Must("start", c.ID)
	dir := filepath.Join(r.Root, c.ID)
	stateFile := filepath.Join(dir, "state.json")
	nobody := 65534

	tamper := []struct {
		name        string
		apply, undo func() error
		args        []string
		want        string
	}{
		{"root writable by others", func() error { return os.Chmod(r.Root, 0o777) }, func() error { return os.Chmod(r.Root, 0o700) },
			[]string{"kill", c.ID, "KILL"}, "writable by group or others"},
		{"root owned by another user", func() error { return os.Chown(r.Root, nobody, nobody) }, func() error { return os.Chown(r.Root, 0, 0) },
			[]string{"list"}, "owned by uid 65534"},
		{"state dir writable by group", func() error { return os.Chmod(dir, 0o770) }, func() error { return os.Chmod(dir, 0o700) },
			[]string{"delete", "--force", c.ID}, "writable by group or others"},
		{"state file owned by another user", func() error { return os.Chown(stateFile, nobody, nobody) }, func() error { return os.Chown(stateFile, 0, 0) },
			[]string{"kill", "--all", c.ID, "KILL"}, "owned by uid 65534"},
		{"state file writable by others", func() error { return os.Chmod(stateFile, 0o606) }, func() error { return os.Chmod(stateFile, 0o600) },
			[]string{"delete", "--force", c.ID}, "writable by group or others"},
	}
	for _, tc := range tamper {
		if err := tc.apply(); err != nil {
			t.Fatal(err)
		}
		res := r.Run(tc.args...)
		if err := tc.undo(); err != nil {
			t.Fatal(err)
		}
		if res.Code == 0 || !strings.Contains(res.Stderr, tc.want) || !strings.Contains(res.Stderr, "refusing to trust it") {
			t.Errorf("%s: %s, want a failure saying %q", tc.name, res, tc.want)
		}
		if !pidAlive(c.Pid) {
			t.Fatalf("%s: %s killed the container", tc.name, res)
		}
	}

	link := filepath.Join(t.TempDir(), "root-link")
	if err := os.Symlink(r.Root, link); err != nil {
		t.Fatal(err)
	}
	res := r.RunCmd(exec.Command(rtBinary, "--root", link, "kill", c.ID, "KILL"))
	if res.Code == 0 || !strings.Contains(res.Stderr, "symlink") {
		t.Errorf("symlinked --root: %s, want a failure naming the symlink", res)
	}
	if !pidAlive(c.Pid) {
		t.Fatalf("kill through a symlinked --root killed the container")
	}
	if st := r.State(c.ID); st.Status != specs.StateRunning {
		t.Fatalf("after the refusals the container is %s, want running", st.Status)
	}
}

// decoys are objects of the host that no container owns: a process in a
// cgroup of its own, and a tmpfs mount.
type decoys struct {
	proc        *exec.Cmd
	cgroup      string // path within the unified hierarchy
	mount       string
	mountID     uint64
	mountUnique uint64
}

func makeDecoys(t *testing.T) *decoys {
	t.Helper()
	d := &decoys{cgroup: "/" + newID(t) + "-decoy", mount: filepath.Join(t.TempDir(), "decoy-mount")}
	cgDir := filepath.Join(unifiedMount(), d.cgroup)
	if err := os.Mkdir(cgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	d.proc = exec.Command("sleep", "1000")
	if err := d.proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.proc.Process.Kill()
		_ = d.proc.Wait()
		if err := os.Remove(cgDir); err != nil {
			t.Errorf("remove decoy cgroup: %v", err)
		}
	})
	if err := os.WriteFile(filepath.Join(cgDir, "cgroup.procs"), []byte(strconv.Itoa(d.proc.Process.Pid)), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(d.mount, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("decoy", d.mount, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(d.mount, 0); err != nil {
			t.Errorf("unmount decoy: %v", err)
		}
	})
	d.mountID, d.mountUnique = mountIDs(t, d.mount)
	return d
}

// mountIDs are the mount's reusable and never-reused IDs (0 for the
// latter where the kernel has none).
func mountIDs(t *testing.T, path string) (uint64, uint64) {
	t.Helper()
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &stx); err != nil {
		t.Fatal(err)
	}
	id := stx.Mnt_id
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID_UNIQUE, &stx); err == nil && stx.Mask&unix.STATX_MNT_ID_UNIQUE != 0 {
		return id, stx.Mnt_id
	}
	return id, 0
}

// assertUntouched fails the test unless every decoy is as it was made.
func (d *decoys) assertUntouched(t *testing.T, after string) {
	t.Helper()
	pid := d.proc.Process.Pid
	if !pidAlive(pid) {
		t.Fatalf("%s: the decoy process %d was killed", after, pid)
	}
	procs, err := os.ReadFile(filepath.Join(unifiedMount(), d.cgroup, "cgroup.procs"))
	if err != nil || strings.TrimSpace(string(procs)) != strconv.Itoa(pid) {
		t.Fatalf("%s: the decoy cgroup %s holds %q (%v), want the decoy process %d", after, d.cgroup, procs, err, pid)
	}
	if id, unique := mountIDs(t, d.mount); id != d.mountID || unique != d.mountUnique {
		t.Fatalf("%s: the decoy mount at %s is gone (mount %d/%d there, want %d/%d)", after, d.mount, id, unique, d.mountID, d.mountUnique)
	}
}

// procIdentity is what a reader of /proc learns of a process: its start
// time and its pid namespace's inode.
func procIdentity(t *testing.T, pid int) (uint64, uint64) {
	t.Helper()
	stat := readFile(t, fmt.Sprintf("/proc/%d/stat", pid))
	fields := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/pid", pid), &st); err != nil {
		t.Fatal(err)
	}
	return start, st.Ino
}

// forge writes a state directory for id into r's root: a copy of genuine's,
// changed by edit (on the decoded state.json and config.json), the way
// somebody who can write the store but holds no power over the cgroup
// tree would make one.
func forge(t *testing.T, r *Runtime, genuine, id string, edit func(state map[string]any, spec *specs.Spec)) {
	t.Helper()
	src, dst := filepath.Join(r.Root, genuine), filepath.Join(r.Root, id)
	var state map[string]any
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(src, "state.json"))), &state); err != nil {
		t.Fatal(err)
	}
	var spec specs.Spec
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(src, "config.json"))), &spec); err != nil {
		t.Fatal(err)
	}
	state["id"] = id
	edit(state, &spec)
	if err := os.RemoveAll(dst); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dst) })
	for name, v := range map[string]any{"state.json": state, "config.json": &spec} {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestForgedStateTouchesNothing: states that name a decoy process, a decoy
// cgroup holding it and a decoy tmpfs mount, with everything about them
// that /proc and statx tell anybody (pid, start time, pid namespace,
// cgroup inode, mount IDs), and a config that places the container in the
// decoy cgroup, make none of kill, kill --all, delete and delete --force
// touch a decoy, and each says why. A copy of a real container's state
// under another ID does not reach the real container either.
func TestForgedStateTouchesNothing(t *testing.T) {
	r := newRuntime(t)
	genuine := r.Create(newBundle(t, withArgs("sleep", "1000")))
	r.Must("start", genuine.ID)
	d := makeDecoys(t)
	decoyPid := d.proc.Process.Pid
	start, pidNS := procIdentity(t, decoyPid)
	var cgStat unix.Stat_t
	if err := unix.Stat(filepath.Join(unifiedMount(), d.cgroup), &cgStat); err != nil {
		t.Fatal(err)
	}

	namesDecoys := func(state map[string]any, spec *specs.Spec) {
		state["initPid"] = decoyPid
		state["initStartTime"] = start
		state["initPidNs"] = pidNS
		state["cgroupPath"] = d.cgroup
		state["cgroupInode"] = cgStat.Ino
		state["rootfs"] = d.mount
		state["hostRootfsMount"] = map[string]any{"id": d.mountID, "uniqueId": d.mountUnique}
		spec.Linux.CgroupsPath = d.cgroup
	}
	copiesReal := func(map[string]any, *specs.Spec) {}
	cases := []struct {
		forged string
		edit   func(map[string]any, *specs.Spec)
		args   []string
		want   []string // each must appear in stderr
	}{
		{"decoys", namesDecoys, []string{"kill", "%s", "KILL"}, []string{"is not the init of container", "refusing to touch it"}},
		{"decoys", namesDecoys, []string{"kill", "--all", "%s", "KILL"}, []string{"cgroup " + d.cgroup + " is not container", "left alone"}},
		{"decoys", namesDecoys, []string{"delete", "%s"}, []string{"cgroup " + d.cgroup + " is not container", "not a bind of the rootfs onto itself"}},
		{"decoys", namesDecoys, []string{"delete", "--force", "%s"}, []string{"cgroup " + d.cgroup + " is not container", "not a bind of the rootfs onto itself"}},
		{"copy", copiesReal, []string{"kill", "%s", "KILL"}, []string{"is not the init of container", "refusing to touch it"}},
		{"copy", copiesReal, []string{"kill", "--all", "%s", "KILL"}, []string{"is not container", "left alone"}},
		{"copy", copiesReal, []string{"delete", "--force", "%s"}, []string{"is not container", "left alone"}},
	}
	for _, tc := range cases {
		id := genuine.ID + "-forged-" + tc.forged
		forge(t, r, genuine.ID, id, tc.edit)
		args := make([]string, len(tc.args))
		for i, a := range tc.args {
			args[i] = strings.ReplaceAll(a, "%s", id)
		}
		res := r.Run(args...)
		if res.Code == 0 {
			t.Errorf("%s: succeeded on a forged state", res)
		}
		for _, w := range tc.want {
			if !strings.Contains(res.Stderr, w) {
				t.Errorf("%s: stderr lacks %q", res, w)
			}
		}
		what := fmt.Sprintf("oci-rt %s on a forged state (%s)", strings.Join(args, " "), tc.forged)
		d.assertUntouched(t, what)
		if !pidAlive(genuine.Pid) {
			t.Fatalf("%s killed the genuine container %s", what, genuine.ID)
		}
	}
	if st := r.State(genuine.ID); st.Status != specs.StateRunning {
		t.Fatalf("after the forged states the genuine container is %s, want running", st.Status)
	}
}
