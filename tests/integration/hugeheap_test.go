package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

	created := r.Create(newBundle(t, withArgs("sleep", "1000")))
	check("a created container's init", created.Pid)
	env := readFile(t, "/proc/"+strconv.Itoa(created.Pid)+"/environ")
	want := "_OCIRT_HUGE_HEAP=0"
	if allowed {
		want = "_OCIRT_HUGE_HEAP=1"
	}
	if !strings.Contains(env, want+"\x00") {
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

// Only the CLI reads the host's huge page policy. The init gets the answer
// in its environment: it may already be in the container's mount
// namespace, where /sys is the container's and a fifo at that path would
// hang the open.
func TestOnlyTheCLIReadsTheHugePagePolicy(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Fatalf("strace is needed to see the opens (tests/install-deps.sh installs it): %v", err)
	}
	r := newRuntime(t)
	trace := filepath.Join(t.TempDir(), "trace")
	cmd := exec.Command("strace", "-f", "-qq", "-e", "trace=open,openat,openat2", "-o", trace,
		r.Bin, "--root", r.Root, "run", "--bundle", newBundle(t, withArgs("/bin/true")), newID(t))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run: %v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(readFile(t, trace)), "\n")
	pidOf := regexp.MustCompile(`^(\d+) `)
	first := pidOf.FindStringSubmatch(lines[0])
	if first == nil {
		t.Fatalf("no pid in the trace's first line %q", lines[0])
	}
	cli := first[1]
	cliReads, others := 0, map[string]bool{}
	for _, line := range lines {
		m := pidOf.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if m[1] != cli {
			others[m[1]] = true
		}
		if strings.Contains(line, `"`+hugePageSetting+`"`) {
			if m[1] != cli {
				t.Errorf("process %s, not the CLI (%s), opened the policy: %s", m[1], cli, line)
			} else {
				cliReads++
			}
		}
	}
	if cliReads != 1 {
		t.Errorf("the CLI opened %s %d times, want once", hugePageSetting, cliReads)
	}
	if len(others) == 0 {
		t.Fatal("the trace holds no process but the CLI: it did not follow the init")
	}
}
