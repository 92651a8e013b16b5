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
	"time"

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
	checkRootlessPauseAndStats(t, run, prepare, global, id, path)
	running(t)
	if res := run(t, prepare, global, "delete", "--force", id); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", path)); err == nil {
		t.Errorf("cgroup %s left after delete", path)
	}
}

// checkRootlessPauseAndStats: with the freezer delegated (the container's
// cgroup is the user's), pause freezes the cgroup and resume thaws it,
// and events --stats reads the container's own numbers.
func checkRootlessPauseAndStats(t *testing.T, run rootlessRun, prepare func(*exec.Cmd), global []string, id, path string) {
	t.Helper()
	frozen := func() string {
		for _, line := range strings.Split(readFile(t, filepath.Join("/sys/fs/cgroup", path, "cgroup.events")), "\n") {
			if v, ok := strings.CutPrefix(line, "frozen "); ok {
				return v
			}
		}
		return ""
	}
	status := func() string {
		var st specs.State
		res := run(t, prepare, global, "state", id)
		if err := json.Unmarshal([]byte(res.Stdout), &st); err != nil {
			t.Fatalf("%s: %v", res, err)
		}
		return string(st.Status)
	}
	if res := run(t, prepare, global, "pause", id); res.Code != 0 {
		t.Fatalf("pause: %s", res)
	}
	waitFor(t, 10*time.Second, "the cgroup to freeze", func() bool { return frozen() == "1" })
	if got := status(); got != "paused" {
		t.Errorf("state after pause: %q, want paused", got)
	}
	if res := run(t, prepare, global, "resume", id); res.Code != 0 {
		t.Fatalf("resume: %s", res)
	}
	if got, st := frozen(), status(); got != "0" || st != "running" {
		t.Errorf("after resume: frozen %q, state %q; want 0, running", got, st)
	}
	res := run(t, prepare, global, "events", "--stats", id)
	var ev struct {
		Type string `json:"type"`
		Data struct {
			Pids struct {
				Current uint64 `json:"current"`
				Limit   uint64 `json:"limit"`
			} `json:"pids"`
			Memory struct {
				Usage struct {
					Usage uint64 `json:"usage"`
					Limit uint64 `json:"limit"`
				} `json:"usage"`
			} `json:"memory"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &ev); err != nil || res.Code != 0 || ev.Type != "stats" {
		t.Fatalf("events --stats: %s: %v", res, err)
	}
	if d := ev.Data; d.Pids.Current != 1 || d.Pids.Limit != 50 || d.Memory.Usage.Usage == 0 || d.Memory.Usage.Limit != 64<<20 {
		t.Errorf("events --stats: pids %+v, memory %+v; want the init alone under 50, some memory under 64 MiB", d.Pids, d.Memory.Usage)
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
