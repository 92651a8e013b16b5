package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The exec plan (the runtime decides the process's setup, nsenter's C
// carries it out with no Go runtime in the process) must give the exec'd
// process exactly what the Go exec init gives it. Binaries built with the
// ocirt_testhooks tag take the Go path when OCIRT_TEST_EXEC_GO_PATH is set.

// execPlanProbe prints what the process can see of itself: ids,
// capabilities, seccomp and no_new_privs, limits, cwd, umask, env,
// cgroups, oom_score_adj, nice, priority and scheduling policy,
// personality, hostname, namespaces and open fds.
const execPlanProbe = `grep -E '^(Uid|Gid|Groups|Cap|Seccomp|NoNewPrivs)' /proc/self/status
cat /proc/self/limits; pwd; umask; env | sort; cat /proc/self/cgroup
cat /proc/self/oom_score_adj; cut -d' ' -f18,19,41 /proc/self/stat
cat /proc/self/personality; hostname; readlink /proc/self/ns/*; ls /proc/self/fd`

// execBothWays runs the process p in container id through the plan and
// through the Go path and returns what each printed; each run must have
// taken the path it names (shown by its --debug log).
func execBothWays(t *testing.T, r *Runtime, id string, p *specs.Process) (plan, goPath string) {
	t.Helper()
	data, err := json.Marshal(p)
	noErr(t, err)
	file := filepath.Join(t.TempDir(), "process.json")
	noErr(t, os.WriteFile(file, data, 0o644))
	run := func(forceGo bool) string {
		t.Helper()
		logFile := filepath.Join(t.TempDir(), "log")
		cmd := r.Command("--debug", "--log", logFile, "exec", "--process", file, id)
		if forceGo {
			cmd.Env = append(os.Environ(), "OCIRT_TEST_EXEC_GO_PATH=1")
		}
		res := r.RunCmd(cmd)
		if res.Code != 0 {
			t.Fatalf("%s (Go path forced: %v)", res, forceGo)
		}
		log := readFile(t, logFile)
		if took := strings.Contains(log, "exec "+id+": plan of "); took == forceGo {
			t.Fatalf("exec (Go path forced: %v) took the other path; log:\n%s", forceGo, log)
		}
		return res.Stdout
	}
	return run(false), run(true)
}

func probeProcess(user specs.User, caps []string, nnp bool) *specs.Process {
	oom, umask := 123, uint32(0o027)
	user.Umask = &umask
	p := &specs.Process{
		Args:            []string{"sh", "-c", execPlanProbe},
		Env:             []string{"PATH=/usr/bin:/bin", "FOO=bar", "FOO=baz", "HOME="},
		Cwd:             "/etc",
		User:            user,
		NoNewPrivileges: nnp,
		OOMScoreAdj:     &oom,
		Rlimits: []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: 512, Hard: 1024},
			{Type: "RLIMIT_CORE", Soft: 0, Hard: 4096},
		},
		Scheduler: &specs.Scheduler{Policy: specs.SchedBatch, Nice: 5},
	}
	if caps != nil {
		p.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps, Inheritable: caps, Ambient: caps}
	}
	return p
}

// TestExecPlanMatchesGoPath: for a root and a non-root process with
// capabilities, with and without a user namespace, with a seccomp filter
// installed early (no no_new_privs) and late (with it), the plan and the
// Go path give the process the same ids, groups, capabilities, seccomp
// and no_new_privs state, rlimits, cwd, umask, env, cgroups,
// oom_score_adj, scheduling, personality, hostname, namespaces and fds.
func TestExecPlanMatchesGoPath(t *testing.T) {
	netCaps := []string{"CAP_NET_RAW", "CAP_NET_BIND_SERVICE"}
	cases := []struct {
		name  string
		edits []func(*specs.Spec)
		proc  *specs.Process
	}{
		{"root", nil, probeProcess(specs.User{}, []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}, false)},
		{"root seccomp early", []func(*specs.Spec){withMkdirDenied}, probeProcess(specs.User{}, netCaps, false)},
		{"non-root with caps, seccomp late", []func(*specs.Spec){withMkdirDenied},
			probeProcess(specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5, 6}}, netCaps, true)},
		{"userns root", []func(*specs.Spec){withAllNamespaces}, probeProcess(specs.User{}, netCaps, false)},
		{"userns non-root with caps", []func(*specs.Spec){withAllNamespaces, withMkdirDenied},
			probeProcess(specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5}}, netCaps, true)},
		{"named user", nil, probeProcess(specs.User{Username: "root"}, nil, false)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRuntime(t)
			edits := append([]func(*specs.Spec){func(s *specs.Spec) {
				s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux}
			}}, tc.edits...)
			c := runningContainer(t, r, edits...)
			plan, goPath := execBothWays(t, r, c.ID, tc.proc)
			if plan != goPath {
				t.Errorf("the plan gave the process\n%s\nthe Go path\n%s", plan, goPath)
			}
			for _, want := range []string{"Seccomp:", "Max open files            512                  1024", "/etc\n", "FOO=baz", "123\n"} {
				if !strings.Contains(plan, want) {
					t.Errorf("the probe's output lacks %q: the comparison proves less than it claims\n%s", want, plan)
				}
			}
		})
	}
}

// TestExecPlanErrors: a step that fails in the plan reads as the Go
// path's error does, with exec's status 255.
func TestExecPlanErrors(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"exec", c.ID, "no-such-command"}, `exec failed: exec: "no-such-command": executable file not found in $PATH`},
		{[]string{"exec", "--cwd", "/no/such/dir", c.ID, "true"}, `exec failed: chdir to cwd ("/no/such/dir") set in config.json failed: no such file or directory`},
		{[]string{"exec", c.ID, "/etc/passwd"}, `exec failed: exec: "/etc/passwd": permission denied`},
	} {
		res := r.Run(tc.args...)
		if res.Code != 255 || errorMessage(res.Stderr) != tc.want || strings.Count(strings.TrimSpace(res.Stderr), "\n") != 0 {
			t.Errorf("%s: want exit 255 and the one line %q", res, tc.want)
		}
	}
}
