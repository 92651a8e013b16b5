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

// rootlessRun runs one runtime's command as the user: global flags, the
// runtime's --root below the user's XDG_RUNTIME_DIR, then args, with
// prepare applied to the command first.
type rootlessRun func(t *testing.T, prepare func(*exec.Cmd), global []string, args ...string) Result

// rootlessRuntimes are oci-rt and, for comparison, runc as the user, each
// at the root it uses by default.
func (u *rootlessUser) rootlessRuntimes() map[string]rootlessRun {
	runWith := func(binary, root string) rootlessRun {
		return func(t *testing.T, prepare func(*exec.Cmd), global []string, args ...string) Result {
			t.Helper()
			cmd := u.command(binary, append(append(global, "--root", root), args...)...)
			prepare(cmd)
			return u.runtime(t).RunCmd(cmd)
		}
	}
	return map[string]rootlessRun{
		"oci-rt": runWith(u.binary(), u.stateDir()),
		"runc":   runWith("/usr/sbin/runc", filepath.Join(u.RuntimeDir, "runc")),
	}
}

// rootlessLimits are the limits both tests set: a memory limit and a pids
// limit, and the files of a cgroup v2 that show them.
func rootlessLimits(s *specs.Spec) {
	memory, pids := int64(64<<20), int64(50)
	s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &memory}, Pids: &specs.LinuxPids{Limit: &pids}}
}

var rootlessLimitFiles = map[string]string{"memory.max": "67108864", "pids.max": "50"}

// checkRootlessContainer runs the user's bundle as id, checks that its
// init is in the cgroup at path, whose files hold rootlessLimits, that ps
// lists the init and what running checks; delete must remove the cgroup.
func checkRootlessContainer(t *testing.T, run rootlessRun, prepare func(*exec.Cmd), global []string, u *rootlessUser,
	id, path string, running func(t *testing.T),
) {
	t.Helper()
	if res := run(t, prepare, global, "run", "--detach", "--bundle", u.bundle(), id); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	t.Cleanup(func() { run(t, prepare, global, "delete", "--force", id) })
	for file, want := range rootlessLimitFiles {
		if got := strings.TrimSpace(readFile(t, filepath.Join("/sys/fs/cgroup", path, file))); got != want {
			t.Errorf("%s/%s is %q, want %q", path, file, got, want)
		}
	}
	var st specs.State
	res := run(t, prepare, global, "state", id)
	if err := json.Unmarshal([]byte(res.Stdout), &st); err != nil || st.Pid <= 0 {
		t.Fatalf("%s: %v", res, err)
	}
	checkInCgroup(t, "container init", st.Pid, path)
	if res := run(t, prepare, global, "ps", id); res.Code != 0 || !strings.Contains(res.Stdout, strconv.Itoa(st.Pid)) {
		t.Errorf("%s: want the init %d listed", res, st.Pid)
	}
	running(t)
	if res := run(t, prepare, global, "delete", "--force", id); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", path)); err == nil {
		t.Errorf("cgroup %s left after delete", path)
	}
}

// With the systemd driver, a user's container goes to its systemd user
// manager (user@UID.service, reached over the user's D-Bus session bus)
// as a transient scope in the slice its cgroupsPath names, the form
// runc's rootless users write: the scope's cgroup is below the user
// manager's delegated cgroup and holds the config's limits. runc does the
// same.
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

	managerCgroup := unitProperty(t, manager, "ControlGroup")
	u.writeRootlessSpec(t, withArgs("sleep", "1000"), rootlessLimits)
	for name, run := range u.rootlessRuntimes() {
		t.Run(name, func(t *testing.T) {
			id := newID(t)
			editBundle(t, u.bundle(), func(s *specs.Spec) { s.Linux.CgroupsPath = "user.slice:oci-rt:" + id })
			scope := "oci-rt-" + id + ".scope"
			scopeActive := func(t *testing.T) {
				cmd := u.command("systemctl", "--user", "show", "-P", "ActiveState", scope)
				withUserBus(cmd)
				if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "active" {
					t.Errorf("the user manager's %s: %v %q, want active", scope, err, out)
				}
			}
			checkRootlessContainer(t, run, withUserBus, []string{"--systemd-cgroup"}, u, id, managerCgroup+"/user.slice/"+scope, scopeActive)
		})
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
// below the subtree is made there and holds the limits; delete removes
// it. runc does the same.
func TestRootlessDelegatedCgroupfs(t *testing.T) {
	if !isUnified() {
		t.Fatal("the delegation of a cgroup v2 subtree needs a pure cgroup v2 host: run this test in the VM")
	}
	u := newRootlessUser(t, "ocirt-rl1")
	delegated, callerFD := delegateCgroup(t, u)
	inCaller := func(cmd *exec.Cmd) {
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, callerFD
	}
	u.writeRootlessSpec(t, withArgs("sleep", "1000"), rootlessLimits)
	for name, run := range u.rootlessRuntimes() {
		t.Run(name, func(t *testing.T) {
			path := delegated + "/" + name
			editBundle(t, u.bundle(), func(s *specs.Spec) { s.Linux.CgroupsPath = path })
			checkRootlessContainer(t, run, inCaller, nil, u, newID(t), path, func(*testing.T) {})
		})
	}
}
