//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runOpts is what a check asks of a container, in engine-neutral terms.
type runOpts struct {
	tty       bool
	memory    int64 // bytes
	cpuQuota  int64 // microseconds per 100ms period
	cpuShares int64
	pids      int64
	readOnly  bool
	capAdd    []string
	capDrop   []string
	user      string
	device    string // host:container
	// sharedVolume is a host directory on a shared mount, bound at /vol
	// with rshared propagation.
	sharedVolume string
	cmd          []string
}

// engine is one client driving one private daemon. Operations a client has
// no command for call notApplicable().
type engine interface {
	Name() string
	// Run runs a container in the foreground, removes it, and returns its
	// output and exit status as the client reports them.
	Run(t *testing.T, o runOpts) cmdResult
	// Start runs a container detached and returns its reference.
	Start(t *testing.T, o runOpts) string
	Pid(t *testing.T, id string) int
	Exec(t *testing.T, id string, tty bool, cmd ...string) cmdResult
	Logs(t *testing.T, id string) string
	Pause(t *testing.T, id string)
	Unpause(t *testing.T, id string)
	Kill(t *testing.T, id, signal string)
	Stop(t *testing.T, id string)
	Restart(t *testing.T, id string)
	Remove(t *testing.T, id string)
	UpdateMemory(t *testing.T, id string, bytes int64)
	// Stats returns the memory limit and the number of pids the client
	// reports for the container.
	Stats(t *testing.T, id string) (memLimit int64, pids int64)
	Top(t *testing.T, id string) string
	// OOMKilled runs a container that exceeds its memory limit and tells
	// whether the client reports it as OOM-killed.
	OOMKilled(t *testing.T, o runOpts) bool
}

const (
	clientTimeout = 90 * time.Second
	sleeper       = "while :; do sleep 1; done"
)

func sh(script string) []string { return []string{"sh", "-c", script} }

// runChecks is the same list for every engine.
func runChecks(t *testing.T, e engine) {
	check(t, e, "run-exit-code", func(t *testing.T) {
		res := e.Run(t, runOpts{cmd: sh("echo pid=$$; exit 3")})
		if res.Code != 3 || !strings.Contains(res.Out, "pid=1") {
			t.Fatalf("exit %d (want 3), output %q (want pid=1: the shell is the init of its own pid namespace)", res.Code, res.Out)
		}
	})
	check(t, e, "resources", func(t *testing.T) {
		id := e.Start(t, runOpts{memory: 64 << 20, cpuQuota: 50000, cpuShares: 512, cmd: sh(sleeper)})
		defer e.Remove(t, id)
		pid := e.Pid(t, id)
		expectCgroup(t, pid, "memory", "memory.limit_in_bytes", "memory.max", "67108864")
		expectCgroup(t, pid, "cpu", "cpu.cfs_quota_us", "cpu.max", "50000")
		expectCgroup(t, pid, "cpu", "cpu.shares", "", "512")
	})
	check(t, e, "pids-limit", func(t *testing.T) {
		id := e.Start(t, runOpts{pids: 100, cmd: sh(sleeper)})
		defer e.Remove(t, id)
		expectCgroup(t, e.Pid(t, id), "pids", "pids.max", "pids.max", "100")
	})
	check(t, e, "oom-reported", func(t *testing.T) {
		if !e.OOMKilled(t, runOpts{memory: 16 << 20, cmd: sh("tail /dev/zero")}) {
			t.Fatal("the client does not report the container as OOM-killed")
		}
	})
	check(t, e, "stats", func(t *testing.T) {
		id := e.Start(t, runOpts{memory: 48 << 20, cmd: sh("sleep 1000 & sleep 1000 & " + sleeper)})
		defer e.Remove(t, id)
		pid := e.Pid(t, id)
		waitUntil(t, 20*time.Second, "three processes in the container", func() bool { return len(cgroupProcs(t, pid)) >= 3 })
		limit, pids := e.Stats(t, id)
		if diff := limit - 48<<20; diff < -(48<<20)/100 || diff > (48<<20)/100 {
			t.Errorf("memory limit in stats %d, want %d", limit, 48<<20)
		}
		if want := int64(len(cgroupProcs(t, pid))); pids < 3 || pids > want+1 {
			t.Errorf("pids in stats %d, the container's cgroup has %d", pids, want)
		}
	})
	check(t, e, "exec", func(t *testing.T) {
		id := e.Start(t, runOpts{cmd: sh(sleeper)})
		defer e.Remove(t, id)
		pid := e.Pid(t, id)
		res := e.Exec(t, id, false, "sh", "-c", "readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt; exit 5")
		want := nsLinks(t, pid, "pid", "mnt")
		var got []string
		for _, field := range strings.Fields(res.Out) {
			if strings.HasPrefix(field, "pid:[") || strings.HasPrefix(field, "mnt:[") {
				got = append(got, field)
			}
		}
		if res.Code != 5 || strings.Join(got, " ") != want {
			t.Fatalf("exec: exit %d (want 5), namespaces %q (want the container's %q)", res.Code, res.Out, want)
		}
	})
	check(t, e, "exec-tty", func(t *testing.T) {
		id := e.Start(t, runOpts{cmd: sh(sleeper)})
		defer e.Remove(t, id)
		res := e.Exec(t, id, true, "tty")
		if res.Code != 0 || !strings.Contains(res.Out, "/dev/pts/") {
			t.Fatalf("exec -t: exit %d, tty %q (want /dev/pts/N)", res.Code, res.Out)
		}
	})
	check(t, e, "run-tty", func(t *testing.T) {
		res := e.Run(t, runOpts{tty: true, cmd: sh("tty; stty size 2>/dev/null || true")})
		if res.Code != 0 || !strings.Contains(res.Out, "/dev/pts/") {
			t.Fatalf("run -t: exit %d, output %q (want /dev/pts/N)", res.Code, res.Out)
		}
	})
	check(t, e, "detached-logs", func(t *testing.T) {
		id := e.Start(t, runOpts{cmd: sh("echo hello-from-$$; " + sleeper)})
		defer e.Remove(t, id)
		waitUntil(t, 20*time.Second, "the log line", func() bool { return strings.Contains(e.Logs(t, id), "hello-from-1") })
	})
	check(t, e, "pause-unpause", func(t *testing.T) {
		id := e.Start(t, runOpts{cmd: sh(sleeper)})
		defer e.Remove(t, id)
		pid := e.Pid(t, id)
		e.Pause(t, id)
		if state := freezerState(t, pid); state != "FROZEN" {
			t.Fatalf("after pause the cgroup is %s", state)
		}
		e.Unpause(t, id)
		if state := freezerState(t, pid); state != "THAWED" {
			t.Fatalf("after unpause the cgroup is %s", state)
		}
	})
	check(t, e, "kill-signal", func(t *testing.T) {
		id := e.Start(t, runOpts{cmd: sh("trap 'echo got-usr1; exit 7' USR1; echo ready; while :; do sleep 0.1; done")})
		defer e.Remove(t, id)
		pid := e.Pid(t, id)
		waitUntil(t, 20*time.Second, "the trap", func() bool { return strings.Contains(e.Logs(t, id), "ready") })
		e.Kill(t, id, "USR1")
		waitUntil(t, 20*time.Second, "the container to exit", func() bool { return !pidAlive(pid) })
		if logs := e.Logs(t, id); !strings.Contains(logs, "got-usr1") {
			t.Fatalf("the container did not see SIGUSR1: logs %q", logs)
		}
	})
	check(t, e, "stop", func(t *testing.T) {
		id := e.Start(t, runOpts{cmd: sh(sleeper)})
		defer e.Remove(t, id)
		pid := e.Pid(t, id)
		e.Stop(t, id)
		if pidAlive(pid) {
			t.Fatalf("pid %d still runs after stop", pid)
		}
	})
	check(t, e, "restart", func(t *testing.T) {
		id := e.Start(t, runOpts{cmd: sh(sleeper)})
		defer e.Remove(t, id)
		pid := e.Pid(t, id)
		e.Restart(t, id)
		newPid := e.Pid(t, id)
		if newPid == pid || pidAlive(pid) || !pidAlive(newPid) {
			t.Fatalf("restart: old pid %d (alive %v), new pid %d (alive %v)", pid, pidAlive(pid), newPid, pidAlive(newPid))
		}
	})
	check(t, e, "rm-leaves-nothing", func(t *testing.T) {
		mountsBefore := mountsUnder(t, workDir)
		id := e.Start(t, runOpts{memory: 32 << 20, cmd: sh(sleeper)})
		pid := e.Pid(t, id)
		cgroup := cgroupDir(t, pid, "memory")
		e.Remove(t, id)
		if pidAlive(pid) {
			t.Errorf("pid %d still runs after rm", pid)
		}
		if _, err := os.Stat(cgroup); err == nil {
			t.Errorf("cgroup %s is left after rm", cgroup)
		}
		if after := mountsUnder(t, workDir); after != mountsBefore {
			t.Errorf("%d mounts under the engine's directories after rm, %d before", after, mountsBefore)
		}
	})
	check(t, e, "update", func(t *testing.T) {
		id := e.Start(t, runOpts{memory: 64 << 20, cmd: sh(sleeper)})
		defer e.Remove(t, id)
		pid := e.Pid(t, id)
		e.UpdateMemory(t, id, 96<<20)
		expectCgroup(t, pid, "memory", "memory.limit_in_bytes", "memory.max", strconv.Itoa(96<<20))
	})
	check(t, e, "read-only", func(t *testing.T) {
		res := e.Run(t, runOpts{readOnly: true, cmd: sh("touch /newfile 2>&1; cat /tmp/from-image; grep -q ' /tmp tmpfs' /proc/self/mounts && { touch /tmp/x || echo tmp not writable; }")})
		if !strings.Contains(res.Out, "Read-only file system") {
			t.Fatalf("writing to / in a --read-only container: %q", res.Out)
		}
		// Podman mounts a tmpfs with tmpcopyup on /tmp: the image's file
		// must be there, and the tmpfs writable.
		if e.Name() == "podman" && !strings.Contains(res.Out, "image file in /tmp") || strings.Contains(res.Out, "tmp not writable") {
			t.Fatalf("/tmp in a --read-only container: %q", res.Out)
		}
	})
	check(t, e, "caps", func(t *testing.T) {
		res := e.Run(t, runOpts{capAdd: []string{"NET_ADMIN"}, capDrop: []string{"CHOWN"}, cmd: sh("grep CapEff /proc/self/status")})
		eff := capField(t, res.Out)
		if eff&(1<<12) == 0 || eff&1 != 0 {
			t.Fatalf("CapEff %#x: want NET_ADMIN (bit 12) and not CHOWN (bit 0)", eff)
		}
	})
	check(t, e, "user", func(t *testing.T) {
		res := e.Run(t, runOpts{user: "1234:1235", cmd: sh("grep -E '^(Uid|Gid):' /proc/self/status")})
		fields := strings.Fields(res.Out)
		if len(fields) < 10 || fields[1] != "1234" || fields[4] != "1234" || fields[6] != "1235" || fields[9] != "1235" {
			t.Fatalf("--user 1234:1235: %q", res.Out)
		}
	})
	check(t, e, "device", func(t *testing.T) {
		res := e.Run(t, runOpts{device: "/dev/net/tun", cmd: sh("stat -c '%t:%T %F' /dev/net/tun && exec 3<>/dev/net/tun && echo opened")})
		if !strings.Contains(res.Out, "a:c8 character special file") || !strings.Contains(res.Out, "opened") {
			t.Fatalf("--device /dev/net/tun (10:200, created and allowed in the device cgroup): %q", res.Out)
		}
	})
	check(t, e, "seccomp-default", func(t *testing.T) {
		res := e.Run(t, runOpts{cmd: sh("grep Seccomp: /proc/self/status")})
		if !strings.Contains(res.Out, "Seccomp:\t2") {
			t.Fatalf("no seccomp filter in the container: %q", res.Out)
		}
	})
	check(t, e, "top", func(t *testing.T) {
		id := e.Start(t, runOpts{cmd: sh("sleep 4242 & " + sleeper)})
		defer e.Remove(t, id)
		pid := e.Pid(t, id)
		child := 0
		waitUntil(t, 20*time.Second, "sleep 4242", func() bool { child = findProc(t, pid, "4242"); return child != 0 })
		out := e.Top(t, id)
		for _, p := range []int{pid, child} {
			if !strings.Contains(out, strconv.Itoa(p)) {
				t.Errorf("top does not list host pid %d: %q", p, out)
			}
		}
	})
	userNSBesideSharedMounts(t, e)
}

// findProc is the host pid of the process in pid's cgroup whose command
// line contains word.
func findProc(t *testing.T, pid int, word string) int {
	for _, p := range cgroupProcs(t, pid) {
		cmdline, _ := os.ReadFile("/proc/" + p + "/cmdline")
		if strings.Contains(string(cmdline), word) {
			n, _ := strconv.Atoi(p)
			return n
		}
	}
	return 0
}

// cgroupDir is the container's directory in one hierarchy: the v1
// controller's when the host has it, else the unified one.
func cgroupDir(t *testing.T, pid int, controller string) string {
	t.Helper()
	data := readFileString(t, fmt.Sprintf("/proc/%d/cgroup", pid))
	unified := ""
	for _, line := range strings.Split(strings.TrimSpace(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			unified = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				return filepath.Join("/sys/fs/cgroup", parts[1], parts[2])
			}
		}
	}
	if base := unifiedMount(); base != "" && unified != "" {
		return filepath.Join(base, unified)
	}
	t.Fatalf("pid %d has no %s cgroup: %s", pid, controller, data)
	return ""
}

func unifiedMount() string {
	for _, p := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		if _, err := os.Stat(filepath.Join(p, "cgroup.controllers")); err == nil {
			return p
		}
	}
	return ""
}

// expectCgroup checks a value in the container's cgroup: the v1 file when
// the controller is a v1 hierarchy, the v2 file otherwise.
func expectCgroup(t *testing.T, pid int, controller, v1File, v2File, want string) {
	t.Helper()
	dir := cgroupDir(t, pid, controller)
	file := v1File
	if _, err := os.Stat(filepath.Join(dir, v1File)); err != nil {
		file = v2File
	}
	if file == "" {
		t.Errorf("%s: no %s in the container's cgroup %s", controller, v1File, dir)
		return
	}
	got := strings.TrimSpace(readFileString(t, filepath.Join(dir, file)))
	if got != want && !strings.HasPrefix(got, want+" ") {
		t.Errorf("%s/%s = %q, want %q", dir, file, got, want)
	}
}

func cgroupProcs(t *testing.T, pid int) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cgroupDir(t, pid, "pids"), "cgroup.procs"))
	if err != nil {
		return nil
	}
	return strings.Fields(string(data))
}

func freezerState(t *testing.T, pid int) string {
	t.Helper()
	dir := cgroupDir(t, pid, "freezer")
	if data, err := os.ReadFile(filepath.Join(dir, "freezer.state")); err == nil {
		return strings.TrimSpace(string(data))
	}
	if strings.TrimSpace(readFileString(t, filepath.Join(dir, "cgroup.freeze"))) == "1" {
		return "FROZEN"
	}
	return "THAWED"
}

func nsLinks(t *testing.T, pid int, kinds ...string) string {
	t.Helper()
	var links []string
	for _, kind := range kinds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
		if err != nil {
			t.Fatal(err)
		}
		links = append(links, link)
	}
	return strings.Join(links, " ")
}

// mountsUnder counts the host's mounts below dir (the engines' data).
func mountsUnder(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(readFileString(t, "/proc/self/mountinfo"), "\n") {
		if fields := strings.Fields(line); len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			n++
		}
	}
	return n
}

func capField(t *testing.T, out string) uint64 {
	t.Helper()
	fields := strings.Fields(out)
	if len(fields) < 2 {
		t.Fatalf("no CapEff line in %q", out)
	}
	v, err := strconv.ParseUint(fields[len(fields)-1], 16, 64)
	if err != nil {
		t.Fatalf("CapEff %q: %v", out, err)
	}
	return v
}

func pidAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie has exited; only its parent has not reaped it yet.
	fields := strings.Fields(string(data))
	return len(fields) > 2 && fields[2] != "Z"
}

func readFileString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
