package integration

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const hugePageSetting = "/sys/kernel/mm/transparent_hugepage/enabled"

// hostAllowsHugePages is the host's policy as the runtime reads it.
func hostAllowsHugePages(t *testing.T) bool {
	data, err := os.ReadFile(hugePageSetting)
	if os.IsNotExist(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(data), "[always]") || strings.Contains(string(data), "[madvise]")
}

// anonHugePagesKB is AnonHugePages of a process, from its smaps_rollup.
func anonHugePagesKB(t *testing.T, pid int) int {
	t.Helper()
	for _, line := range strings.Split(readFile(t, "/proc/"+strconv.Itoa(pid)+"/smaps_rollup"), "\n") {
		if rest, ok := strings.CutPrefix(line, "AnonHugePages:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatalf("pid %d: AnonHugePages %q: %v", pid, rest, err)
			}
			return kb
		}
	}
	t.Fatalf("pid %d: no AnonHugePages in smaps_rollup", pid)
	return 0
}

// The start of the runtime's heap is one huge page where the host allows
// them, in the CLI and in the container's Go init (which learns the CLI's
// answer from its environment), and in neither where the host says never.
func TestRuntimeHeapOnHugePage(t *testing.T) {
	allowed := hostAllowsHugePages(t)
	check := func(what string, pid int) {
		t.Helper()
		kb := anonHugePagesKB(t, pid)
		if allowed && kb < 2048 {
			t.Errorf("%s (pid %d) has %d kB of huge pages, the host allows them: want at least 2048", what, pid, kb)
		}
		if !allowed && kb != 0 {
			t.Errorf("%s (pid %d) has %d kB of huge pages, the host says never", what, pid, kb)
		}
	}
	r := newRuntime(t)
	r.Env = []string{goInitEnv}

	created := r.Create(newBundle(t, withArgs("sleep", "1000")))
	check("a created container's init", created.Pid)
	env := procEnviron(t, created.Pid)
	want := "_OCIRT_HUGE_HEAP=0"
	if allowed {
		want = "_OCIRT_HUGE_HEAP=1"
	}
	if !slices.Contains(env, want) {
		t.Errorf("the init's environment %q lacks %s", env, want)
	}

	id := newID(t)
	cmd := r.Command("run", "--bundle", newBundle(t, withArgs("sleep", "1000")), id)
	cmd.Stdout, cmd.Stderr = tempFile(t), tempFile(t)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		r.Run("kill", id, "KILL")
		_ = cmd.Wait() // the run ends with the status of its killed container
	}()
	waitFor(t, 10*time.Second, "the foreground run's container to run", func() bool {
		res := r.Run("state", id)
		return res.Code == 0 && strings.Contains(res.Stdout, `"running"`)
	})
	check("a foreground run", cmd.Process.Pid)
}

// tracedByPid runs oci-rt with args under strace (see traceRuntime) and
// returns the CLI's pid and each traced process's lines, by pid.
func tracedByPid(t *testing.T, r *Runtime, env []string, syscalls string, args ...string) (string, map[string][]string) {
	t.Helper()
	pidOf := regexp.MustCompile(`^(\d+) `)
	cli, byPid := "", map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(traceRuntime(t, r, env, syscalls, args...)), "\n") {
		m := pidOf.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if cli == "" {
			cli = m[1]
		}
		byPid[m[1]] = append(byPid[m[1]], line)
	}
	if cli == "" {
		t.Fatalf("%s: strace saw no process", strings.Join(args, " "))
	}
	return cli, byPid
}

// matching counts the lines that contain s.
func matching(lines []string, s string) int {
	n := 0
	for _, line := range lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// Only the CLI reads the host's huge page policy. The init gets the answer
// in its environment: it may already be in the container's mount
// namespace, where /sys is the container's and a fifo at that path would
// hang the open.
func TestOnlyTheCLIReadsTheHugePagePolicy(t *testing.T) {
	r := newRuntime(t)
	cli, byPid := tracedByPid(t, r, nil, "open,openat,openat2", "run", "--bundle", newBundle(t, withArgs("/bin/true")), newID(t))
	if n := matching(byPid[cli], `"`+hugePageSetting+`"`); n != 1 {
		t.Errorf("the CLI opened %s %d times, want once", hugePageSetting, n)
	}
	if len(byPid) < 2 {
		t.Fatal("the trace holds no process but the CLI: it did not follow the init")
	}
	for pid, lines := range byPid {
		if pid != cli && matching(lines, hugePageSetting) > 0 {
			t.Errorf("process %s, not the CLI (%s), opened the policy: %q", pid, cli, lines)
		}
	}
}

// A container's init makes its heap a huge page before it joins the
// container's cgroup; a Go process that starts in that cgroup (an exec
// through the Go path) does not, so that the container is never charged
// for it.
func TestNoHugePageInTheContainersCgroup(t *testing.T) {
	allowed := hostAllowsHugePages(t)
	r := newRuntime(t)
	initCollapsed := false
	cli, byPid := tracedByPid(t, r, []string{goInitEnv}, "madvise", "run", "--bundle", newBundle(t, withArgs("/bin/true")), newID(t))
	for pid, lines := range byPid {
		if pid != cli && matching(lines, "MADV_COLLAPSE") > 0 {
			initCollapsed = true
		}
	}
	cliCollapsed := matching(byPid[cli], "MADV_COLLAPSE") > 0
	if cliCollapsed != allowed || initCollapsed != allowed {
		t.Fatalf("run: the CLI collapsed: %v, the init: %v; the host allows huge pages: %v; trace by pid: %q", cliCollapsed, initCollapsed, allowed, byPid)
	}

	c := runningContainer(t, r)
	cli, byPid = tracedByPid(t, r, []string{goInitEnv}, "madvise", "exec", c.ID, "/bin/true")
	if len(byPid) < 2 {
		t.Fatal("the trace holds no process but the CLI: it did not follow the exec init")
	}
	for pid, lines := range byPid {
		if pid != cli && matching(lines, "MADV_COLLAPSE") > 0 {
			t.Errorf("exec through the Go path: process %s, born in the container's cgroup, collapsed its heap: %q", pid, lines)
		}
	}
}
