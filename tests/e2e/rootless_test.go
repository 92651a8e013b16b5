//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/oci-rt/oci-rt/tests/testuser"
)

// subordinateSize is how many subordinate ids useradd gives a new user
// (SUB_UID_COUNT in Debian's /etc/login.defs).
const subordinateSize = 65536

// TestPodmanRootless: an unprivileged user with subordinate ranges runs
// Podman 4.3 on the runtime (its own copy, as a user would install it),
// with its storage (vfs) in its directory, XDG_RUNTIME_DIR at /run/user/
// <uid> as logind would make it, no network and the cgroupfs manager.
// Rootless Podman puts no container in a cgroup on a host whose
// controllers are v1 (this one), so the runtime runs the container
// without one. --cgroups=disabled is not the way: Podman refuses it for
// every runtime but crun and krun.
//
// run, exec, stop and rm are checked in the kernel: the container's
// process runs as the host id its user maps to, in a user namespace with
// the user's own id and its subordinate range; exec runs in it; stop ends
// the process; rm leaves no state in the runtime's default root below
// XDG_RUNTIME_DIR.
func TestPodmanRootless(t *testing.T) {
	checkKey(t, "podman-rootless/run-exec-stop-rm", "run-exec-stop-rm", podmanRootless)
}

func podmanRootless(t *testing.T) {
	if _, err := exec.LookPath("newuidmap"); err != nil {
		t.Fatal("newuidmap missing: install the uidmap package (tests/install-deps.sh)")
	}
	u := testuser.New(t, "ocirt-e2e-pm", workDir)
	cg := podmanUserCgroups(t, u)
	subUID := u.SubordinateStart(t, "/etc/subuid")
	t.Cleanup(func() { endProcessesOf(t, u.UID, subUID) })
	runtime := filepath.Join(u.Dir, runtimeName)
	u.Copy(t, runtimeBinary, runtime)
	runtimeRoot := filepath.Join(u.RuntimeDir, runtimeName)

	global := []string{"--root", filepath.Join(u.Dir, "storage"), "--runroot", filepath.Join(u.RuntimeDir, "containers"),
		"--runtime", runtime, "--cgroup-manager", cg.manager, "--events-backend", "file", "--storage-driver", "vfs"}
	podman := func(args ...string) cmdResult {
		return runCmdAs(clientTimeout, "", func(cmd *exec.Cmd) { u.As(cmd); cmd.Env = append(cmd.Env, cg.env...) },
			"/usr/bin/podman", append(global, args...)...)
	}
	mustPodman := func(args ...string) string {
		t.Helper()
		res := podman(args...)
		if res.Err != nil {
			t.Fatalf("podman %s as %s: %v\n%s", strings.Join(args, " "), u.Name, res.Err, res.Out)
		}
		return strings.TrimSpace(res.Out)
	}
	mustPodman("load", "-i", imageArchive)

	const containerUID = 1000
	id := mustPodman(append(append([]string{"run", "-d", "--pull", "never", "--network", "none",
		"--user", fmt.Sprintf("%d:%d", containerUID, containerUID)}, cg.runFlags...), imageBusybox, "sleep", "1000")...)
	t.Cleanup(func() { podman("rm", "-f", "--time", "0", id) })
	pid, err := strconv.Atoi(mustPodman("inspect", "-f", "{{.State.Pid}}", id))
	if err != nil || pid <= 0 {
		t.Fatalf("podman inspect: pid %d (%v)", pid, err)
	}
	cg.check(t, id, pid)
	hostUID := subUID + containerUID - 1
	host := strconv.Itoa(int(hostUID))
	if got, want := statusField(t, pid, "Uid"), strings.Join([]string{host, host, host, host}, " "); got != want {
		t.Errorf("container process %d: Uid %q, want %q (container uid %d in %s's subordinate range)", pid, got, want, containerUID, u.Name)
	}
	wantMap := fmt.Sprintf("0 %d 1\n1 %d %d", u.UID, subUID, subordinateSize)
	if got := normalizeMap(readFileString(t, fmt.Sprintf("/proc/%d/uid_map", pid))); got != wantMap {
		t.Errorf("container process %d: uid_map %q, want %q", pid, got, wantMap)
	}
	if _, err := os.Stat(filepath.Join(runtimeRoot, id)); err != nil {
		t.Errorf("the runtime's state of the running container: %v", err)
	}

	out := mustPodman("exec", id, "sh", "-c", "id -u; cat /proc/self/uid_map")
	if first, rest, _ := strings.Cut(out, "\n"); first != strconv.Itoa(containerUID) || normalizeMap(rest) != wantMap {
		t.Errorf("exec: %q, want uid %d and the container's uid map %q", out, containerUID, wantMap)
	}

	mustPodman("stop", "-t", "2", id)
	if pidAlive(pid) {
		t.Errorf("container process %d still runs after podman stop", pid)
	}
	if status := mustPodman("inspect", "-f", "{{.State.Status}}", id); status != "exited" {
		t.Errorf("podman inspect after stop: status %q, want exited", status)
	}

	mustPodman("rm", id)
	if out := mustPodman("ps", "-a", "-q"); out != "" {
		t.Errorf("podman ps -a after rm: %q", out)
	}
	entries, err := os.ReadDir(runtimeRoot)
	if err != nil || len(entries) != 0 {
		t.Errorf("runtime root %s after rm: %v %v, want it empty", runtimeRoot, entries, err)
	}
}

// podmanCgroups is how the rootless Podman test uses cgroups on this host.
type podmanCgroups struct {
	manager  string   // --cgroup-manager
	env      []string // for every podman command
	runFlags []string
	// check looks at the cgroup of container id, whose process is pid.
	check func(t *testing.T, id string, pid int)
}

// podmanUserCgroups sets the user's session up as its login would. Where
// systemd is PID 1 (the VM of tests/vm with --init systemd, cgroup v2) the
// user's systemd manager runs (user@UID.service, which makes /run/user/
// <uid>), and Podman asks it over the session bus for a scope holding a
// memory limit: the container must be in that scope, below the manager's
// delegated cgroup, with the limit. Without systemd (this host: no
// logind, v1 controllers) /run/user/<uid> is made by hand, rootless
// Podman puts the container in no cgroup, and there is nothing to check.
func podmanUserCgroups(t *testing.T, u *testuser.User) podmanCgroups {
	t.Helper()
	if fi, err := os.Lstat("/run/systemd/system"); err != nil || !fi.IsDir() {
		u.UseRunUserDir(t)
		return podmanCgroups{manager: "cgroupfs", check: func(*testing.T, string, int) {}}
	}
	manager := fmt.Sprintf("user@%d.service", u.UID)
	must(t, clientTimeout, "systemctl", "start", manager)
	t.Cleanup(func() { must(t, clientTimeout, "systemctl", "stop", manager) })
	u.RuntimeDir = fmt.Sprintf("/run/user/%d", u.UID)
	managerCgroup := strings.TrimSpace(must(t, clientTimeout, "systemctl", "show", "-P", "ControlGroup", manager))
	return podmanCgroups{
		manager:  "systemd",
		env:      []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(u.RuntimeDir, "bus")},
		runFlags: []string{"--memory", "64m"},
		check: func(t *testing.T, id string, pid int) {
			t.Helper()
			path, ok := strings.CutPrefix(strings.TrimSpace(readFileString(t, fmt.Sprintf("/proc/%d/cgroup", pid))), "0::")
			if !ok || !strings.HasPrefix(path, managerCgroup+"/") || !strings.HasSuffix(path, "/libpod-"+id+".scope") {
				t.Fatalf("container process %d in cgroup %q, want libpod-%s.scope below %s", pid, path, id, managerCgroup)
			}
			if got := strings.TrimSpace(readFileString(t, filepath.Join("/sys/fs/cgroup", path, "memory.max"))); got != "67108864" {
				t.Errorf("%s/memory.max is %q, want 67108864 (--memory 64m)", path, got)
			}
		},
	}
}

// statusField is a field of /proc/<pid>/status, its values separated by
// single spaces.
func statusField(t *testing.T, pid int, name string) string {
	t.Helper()
	for _, line := range strings.Split(readFileString(t, fmt.Sprintf("/proc/%d/status", pid)), "\n") {
		if value, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.Join(strings.Fields(value), " ")
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, name)
	return ""
}

// normalizeMap is an id map with its columns separated by single spaces.
func normalizeMap(m string) string {
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(m), "\n") {
		lines = append(lines, strings.Join(strings.Fields(line), " "))
	}
	return strings.Join(lines, "\n")
}

// endProcessesOf kills what the test's user left running: Podman's pause
// process, which holds the user's namespaces between commands, runs as
// the user; a container a failed check left runs as an id of the user's
// subordinate range.
func endProcessesOf(t *testing.T, uid, subStart uint32) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 2 || fields[0] != "Uid:" {
				continue
			}
			ruid, _ := strconv.ParseUint(fields[1], 10, 32)
			if uint32(ruid) == uid || uint32(ruid) >= subStart && uint32(ruid) < subStart+subordinateSize {
				t.Logf("ending pid %d of the test's user (uid %d)", pid, ruid)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}
