//go:build vmtest

package integration

// Rootless containers in a cgroup delegated to the user: run in the VM
// with systemd as PID 1 (tests/vm, --init systemd, pure cgroup v2), whose
// writable root lets the tests add their users:
//
//	make build BINARY=tests/vm/.cache/bin/oci-rt
//	go test -c -tags 'vmtest osusergo netgo urfave_cli_no_docs' -o tests/vm/.cache/bin/integration.test ./tests/integration
//	tests/vm/run.sh --init systemd --timeout 900 --env OCIRT_BINARY=$PWD/tests/vm/.cache/bin/oci-rt -- \
//		tests/vm/.cache/bin/integration.test -test.run '^TestRootlessDelegated' -test.v

import (
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

// runIn is `oci-rt global... --root <its default> args...` as the user,
// with prepare applied to the command first.
func (u *rootlessUser) runIn(t *testing.T, prepare func(*exec.Cmd), global []string, args ...string) Result {
	t.Helper()
	cmd := u.command(u.binary(), append(append(global, "--root", u.stateDir()), args...)...)
	prepare(cmd)
	return u.runtime(t).RunCmd(cmd)
}

// rootlessLimits are the limits both tests set: a memory limit and a pids
// limit, and the files of a cgroup v2 that show them.
func rootlessLimits(s *specs.Spec) {
	memory, pids := int64(64<<20), int64(50)
	s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &memory}, Pids: &specs.LinuxPids{Limit: &pids}}
}

var rootlessLimitFiles = map[string]string{"memory.max": "67108864", "pids.max": "50"}

// checkRootlessCgroup: the container's init is in the cgroup at path, whose
// files hold the limits, and the user's runtime reports it there.
func checkRootlessCgroup(t *testing.T, u *rootlessUser, id, path string) {
	t.Helper()
	for file, want := range rootlessLimitFiles {
		if got := strings.TrimSpace(readFile(t, filepath.Join("/sys/fs/cgroup", path, file))); got != want {
			t.Errorf("%s/%s is %q, want %q", path, file, got, want)
		}
	}
	pid := readState(t, u.runtime(t), id).initPid()
	checkInCgroup(t, "container init", pid, path)
	if res := u.run(t, "ps", id); res.Code != 0 || !strings.Contains(res.Stdout, strconv.Itoa(pid)) {
		t.Errorf("%s: want the init %d listed", res, pid)
	}
}

// With the systemd driver, a user's container goes to its systemd user
// manager (user@UID.service, reached over the user's D-Bus session bus)
// as a transient scope in the slice its cgroupsPath names, the form
// runc's rootless users write: the scope's cgroup is below the user
// manager's delegated cgroup and holds the config's limits.
func TestRootlessDelegatedSystemd(t *testing.T) {
	systemdRuntime(t)
	u := newRootlessUser(t, "ocirt-rl1")
	manager := fmt.Sprintf("user@%d.service", u.UID)
	systemctl(t, "start", manager)
	t.Cleanup(func() { systemctl(t, "stop", manager) })
	u.RuntimeDir = fmt.Sprintf("/run/user/%d", u.UID)
	withUserBus := func(cmd *exec.Cmd) {
		cmd.Env = append(cmd.Env, "DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(u.RuntimeDir, "bus"))
	}

	id := newID(t)
	u.writeRootlessSpec(t, withArgs("sleep", "1000"), rootlessLimits, func(s *specs.Spec) {
		s.Linux.CgroupsPath = "user.slice:oci-rt:" + id
	})
	if res := u.runIn(t, withUserBus, []string{"--systemd-cgroup"}, "run", "--detach", "--bundle", u.bundle(), id); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	t.Cleanup(func() { u.runIn(t, withUserBus, []string{"--systemd-cgroup"}, "delete", "--force", id) })

	managerCgroup := unitProperty(t, manager, "ControlGroup")
	scope := "oci-rt-" + id + ".scope"
	path := managerCgroup + "/user.slice/" + scope
	checkRootlessCgroup(t, u, id, path)
	cmd := u.command("systemctl", "--user", "show", "-P", "ActiveState", scope)
	withUserBus(cmd)
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "active" {
		t.Errorf("the user manager's %s: %v %q, want active", scope, err, out)
	}

	if res := u.runIn(t, withUserBus, []string{"--systemd-cgroup"}, "delete", "--force", id); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", path)); err == nil {
		t.Errorf("cgroup %s left after delete", path)
	}
}

// delegateCgroup makes a cgroup v2 for the user as a delegation does
// (cgroups(7), "Delegation"): the directory and its cgroup.procs,
// cgroup.threads and cgroup.subtree_control are the user's, its own
// limits stay root's; memory and pids are enabled for its children. The
// user's processes start in its child "caller", so that a process the
// runtime moves into a sibling stays in the user's subtree, which the
// kernel requires of an unprivileged move. It returns the cgroup's path
// and an fd of "caller" (for clone into it).
func delegateCgroup(t *testing.T, u *rootlessUser) (string, int) {
	t.Helper()
	path := "/" + newID(t)
	dir := filepath.Join("/sys/fs/cgroup", path)
	must(t, os.Mkdir(dir, 0o755))
	caller := filepath.Join(dir, "caller")
	t.Cleanup(func() {
		for _, d := range []string{caller, dir} {
			if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
				t.Errorf("remove cgroup %s: %v", d, err)
			}
		}
	})
	must(t, os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory +pids"), 0o644))
	must(t, os.Mkdir(caller, 0o755))
	for _, p := range []string{dir, caller} {
		for _, name := range []string{"", "cgroup.procs", "cgroup.threads", "cgroup.subtree_control"} {
			must(t, os.Chown(filepath.Join(p, name), int(u.UID), int(u.GID)))
		}
	}
	fd, err := unix.Open(caller, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	must(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	return path, fd
}

// Without systemd's help, a cgroup v2 subtree root delegated to the user
// (chowned to it) takes the user's rootless container: its cgroupsPath
// below the subtree is made there and holds the limits, as runc does for
// a writable cgroup; delete removes it.
func TestRootlessDelegatedCgroupfs(t *testing.T) {
	if !isUnified() {
		t.Fatal("the delegation of a cgroup v2 subtree needs a pure cgroup v2 host: run this test in the VM")
	}
	u := newRootlessUser(t, "ocirt-rl1")
	delegated, callerFD := delegateCgroup(t, u)
	inCaller := func(cmd *exec.Cmd) {
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, callerFD
	}
	path := delegated + "/ctr"
	u.writeRootlessSpec(t, withArgs("sleep", "1000"), rootlessLimits, func(s *specs.Spec) { s.Linux.CgroupsPath = path })
	id := newID(t)
	if res := u.runIn(t, inCaller, nil, "run", "--detach", "--bundle", u.bundle(), id); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	t.Cleanup(func() { u.runIn(t, inCaller, nil, "delete", "--force", id) })
	checkRootlessCgroup(t, u, id, path)
	if res := u.runIn(t, inCaller, nil, "delete", "--force", id); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", path)); err == nil {
		t.Errorf("cgroup %s left after delete", path)
	}
}
