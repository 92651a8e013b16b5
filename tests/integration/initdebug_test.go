package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// With --debug, each role of the init logs the steps it takes, in order:
// the Go container init of create (namespaces, mounts and hooks, root
// switch, names and paths, the process's setup, the wait for start, the
// seccomp filter and the identity switch before execve), the Go exec
// init, and the exec plan, for which the runtime logs which steps ran.
// (The create plan's log: TestDebugLogShowsPlannedCreate.)
func TestDebugLogShowsInitSteps(t *testing.T) {
	r := newRuntime(t)
	logFile := filepath.Join(t.TempDir(), "log")
	id := newID(t)
	bundle := newBundle(t, withArgs("sleep", "1000"), func(s *specs.Spec) {
		s.Hostname = "debugged"
		s.Process.NoNewPrivileges = false
		s.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdirat"}, Action: specs.ActErrno}},
		}
	})
	debug := []string{"--debug", "--log", logFile}
	r.Env = []string{goInitEnv}
	for _, args := range [][]string{{"create", "--bundle", bundle, id}, {"start", id}} {
		if res := r.Run(append(debug, args...)...); res.Code != 0 {
			t.Fatalf("%s", res)
		}
	}
	r.Env = nil
	inOrder(t, readFile(t, logFile),
		id+" container init: pid ",
		"namespaces created [pid network ipc uts mount], joined []",
		id+" container init: mounts done, the runtime runs the prestart and createRuntime hooks",
		id+" container init: root filesystem set up, root switched (pivot_root)",
		id+" container init: hostname, sysctls, read-only and masked paths set",
		id+" container init: process prepared (personality, rlimits, scheduler, memory policy, cwd /, user 0:0, executable /bin/sleep)",
		id+" container init: set up, waiting for start",
		id+" container init: started",
		id+" container init: seccomp filter installed",
		id+" container init: switching to uid 0 and executing /bin/sleep",
	)

	goLog := filepath.Join(t.TempDir(), "log")
	cmd := r.Command("--debug", "--log", goLog, "exec", id, "true")
	cmd.Env = append(os.Environ(), goInitEnv)
	if res := r.RunCmd(cmd); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	inOrder(t, readFile(t, goLog),
		"exec "+id+": the Go path sets the process up",
		id+" exec init: pid ",
		"namespaces created [], joined [pid network ipc uts mount]",
		id+" exec init: outside the container's pid namespace: using the runtime's procfs",
		id+" exec init: process prepared (",
		id+" exec init: seccomp filter installed",
		id+" exec init: switching to uid 0 and executing /bin/true",
		"exec "+id+": process ",
	)

	planLog := filepath.Join(t.TempDir(), "log")
	if res := r.Run("--debug", "--log", planLog, "exec", id, "true"); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	inOrder(t, readFile(t, planLog),
		"exec "+id+": plan of ",
		"exec "+id+": the plan's steps 0-",
		"; wait for the runtime",
		"exec "+id+": the plan's steps ",
		"; setresuid 0",
		"exec "+id+": process ",
	)
}

// inOrder fails unless log holds each of steps, each after the one before.
func inOrder(t *testing.T, log string, steps ...string) {
	t.Helper()
	rest := log
	for _, step := range steps {
		i := strings.Index(rest, step)
		if i < 0 {
			t.Fatalf("no debug record of %q after the steps before it in:\n%s", step, log)
		}
		rest = rest[i+len(step):]
	}
}
