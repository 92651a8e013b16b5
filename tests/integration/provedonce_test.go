package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// One command proves the container's cgroup and the host's boot once, not
// at every step that asks: each proof opens the container's directory in
// every cgroup hierarchy, which on a v1 host made one `exec` open about
// fifty cgroup directories and read the boot id seven times. A second open
// of a directory is allowed where the command uses it (the cgroup an exec'd
// process starts in); a third means the proof is repeated.
func TestCommandProvesContainerOnce(t *testing.T) {
	r := newRuntime(t)
	created := r.Create(newBundle(t, withArgs("sleep", "1000")))
	c := runningContainer(t, r)
	dirs := allCgroupDirs(c.ID)
	if len(dirs) == 0 {
		t.Fatalf("container %s has no cgroup directory", c.ID)
	}
	commands := [][]string{
		{"start", created.ID},
		{"exec", c.ID, "/bin/true"},
		{"state", c.ID},
		{"pause", c.ID},
		{"resume", c.ID},
		{"ps", c.ID},
		{"kill", c.ID, "KILL"},
	}
	for _, args := range commands {
		log := traceRuntime(t, r, nil, "open,openat,openat2", args...)
		id := args[1]
		for _, d := range allCgroupDirs(id) {
			if n := opensOf(log, d); n > 2 {
				t.Errorf("%s opened %s %d times", strings.Join(args, " "), d, n)
			}
		}
		if n := opensOf(log, "/proc/sys/kernel/random/boot_id"); n > 1 {
			t.Errorf("%s read the boot id %d times", strings.Join(args, " "), n)
		}
	}
}

// traceRuntime runs oci-rt with args under strace -f, tracing the given
// system calls, with env added to the environment, and returns the log:
// one line per call, each led by its process's pid.
func traceRuntime(t *testing.T, r *Runtime, env []string, syscalls string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("strace"); err != nil {
		t.Fatalf("strace is needed to see the system calls (tests/install-deps.sh installs it): %v", err)
	}
	trace := filepath.Join(t.TempDir(), "trace")
	cmd := exec.Command("strace", append([]string{"-f", "-qq", "-e", "trace=" + syscalls, "-o", trace, r.Bin, "--root", r.Root}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return readFile(t, trace)
}

// opensOf counts the successful opens of exactly path in an strace log.
func opensOf(log, path string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"`+path+`"`) && !strings.Contains(line, "= -1 ") {
			n++
		}
	}
	return n
}

// A foreground run has the config it created the container from: it
// does not read the copy recorded in the state directory back, neither
// to learn whether there is a terminal nor to delete the container.
func TestRunReadsNoRecordedConfig(t *testing.T) {
	r := newRuntime(t)
	log := traceRuntime(t, r, nil, "open,openat,openat2", "run", "-b", newBundle(t, withArgs("true")), newID(t))
	if n := strings.Count(log, `"config.json", O_RDONLY`); n != 0 {
		t.Errorf("run read the recorded config.json %d times:\n%s", n, grepLines(log, "config.json"))
	}
}
