package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/tests/seccompagent"
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
cat /proc/self/personality; hostname; for ns in /proc/self/ns/*; do readlink $ns; done; ls /proc/self/fd`

// execBothWays runs the process p in container id through the plan and
// through the Go path and returns what each printed (see runTakingPath).
func execBothWays(t *testing.T, r *Runtime, id string, p *specs.Process) (plan, goPath string) {
	t.Helper()
	data, err := json.Marshal(p)
	noErr(t, err)
	file := filepath.Join(t.TempDir(), "process.json")
	noErr(t, os.WriteFile(file, data, 0o644))
	run := func(forceGo bool) string {
		t.Helper()
		out := runTakingPath(t, r, id, "exec", []string{"exec", "--process", file}, p.Terminal, forceGo, nil)
		// Each exec gets a pty of its own.
		return regexp.MustCompile(`/dev/pts/[0-9]+`).ReplaceAllString(out, "/dev/pts/N")
	}
	return run(false), run(true)
}

// runTakingPath runs `oci-rt args... id` with --debug, through the plan
// or, with forceGo, the Go path, adjust applied to the command, and
// returns what the process printed; the log must show that the command
// (what: "exec" or "create") took the path it was meant to. A process
// with a terminal runs detached and prints into the pty it sends to a
// console socket.
func runTakingPath(t *testing.T, r *Runtime, id, what string, args []string, terminal, forceGo bool, adjust func(*exec.Cmd)) string {
	t.Helper()
	dir := t.TempDir()
	logFile := filepath.Join(dir, "log")
	args = append([]string{"--debug", "--log", logFile}, args...)
	var listener *net.UnixListener
	if terminal {
		sock := filepath.Join(dir, "console.sock")
		var err error
		listener, err = net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
		noErr(t, err)
		defer listener.Close()
		args = append(args, "--detach", "--console-socket", sock, "--pid-file", filepath.Join(dir, "pid"))
	}
	cmd := r.Command(append(args, id)...)
	if forceGo {
		cmd.Env = append(cmd.Environ(), goInitEnv)
	}
	if adjust != nil {
		adjust(cmd)
	}
	var master *os.File
	received := make(chan struct{})
	if listener != nil {
		go func() { defer close(received); master = receiveConsole(t, listener) }()
	}
	res := r.RunCmd(cmd)
	if res.Code != 0 {
		t.Fatalf("%s (Go path forced: %v)", res, forceGo)
	}
	log := readFile(t, logFile)
	if took := strings.Contains(log, what+" "+id+": plan of "); took == forceGo {
		t.Fatalf("%s (Go path forced: %v) took the other path; log:\n%s", what, forceGo, log)
	}
	if listener == nil {
		return res.Stdout
	}
	<-received
	defer master.Close()
	exited := adopt(t, readPidFile(t, filepath.Join(dir, "pid")))
	_ = master.SetReadDeadline(time.Now().Add(10 * time.Second))
	out, _ := io.ReadAll(master) // ends in EIO once the process has gone
	<-exited
	// A pty ends lines in CR LF.
	return strings.ReplaceAll(string(out), "\r\n", "\n")
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

// withProbeTerminal gives p a terminal of a set size and has it print
// what it sees of the terminal too: its name, size, owner, and whether
// it is the process's controlling terminal.
func withProbeTerminal(p *specs.Process) *specs.Process {
	p.Terminal = true
	p.ConsoleSize = &specs.Box{Height: 37, Width: 91}
	p.Args[2] += "; tty; stty size; stat -L -c '%u %g' /proc/self/fd/0; (: </dev/tty) && echo has a controlling tty"
	return p
}

// TestExecPlanMatchesGoPath: for a root and a non-root process with
// capabilities, with and without a user namespace (whose root is host root
// or not), with a seccomp filter installed early (no no_new_privs) and
// late (with it), with and without a terminal, in a container without a
// mount namespace, the plan and the Go path give the process the same
// ids, groups, capabilities, seccomp and no_new_privs state, rlimits,
// cwd, umask, env, cgroups, oom_score_adj, scheduling, personality,
// hostname, namespaces and fds.
func TestExecPlanMatchesGoPath(t *testing.T) {
	netCaps := []string{"CAP_NET_RAW", "CAP_NET_BIND_SERVICE"}
	cases := []struct {
		name  string
		edits []func(*specs.Spec)
		proc  *specs.Process
		// joinsPid: the container joins another's pid namespace, from its
		// own user namespace (its processes are born in that namespace).
		joinsPid bool
	}{
		{"root", nil, probeProcess(specs.User{}, []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}, false), false},
		{"root seccomp early", []func(*specs.Spec){withMkdirDenied}, probeProcess(specs.User{}, netCaps, false), false},
		{"non-root with caps, seccomp late", []func(*specs.Spec){withMkdirDenied},
			probeProcess(specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5, 6}}, netCaps, true), false},
		{"userns root", []func(*specs.Spec){withAllNamespaces}, probeProcess(specs.User{}, netCaps, false), false},
		{"userns non-root with caps", []func(*specs.Spec){withAllNamespaces, withMkdirDenied},
			probeProcess(specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5}}, netCaps, true), false},
		{"named user", nil, probeProcess(specs.User{Username: "root"}, nil, false), false},
		{"no mount namespace", []func(*specs.Spec){withoutMountNamespace}, probeProcess(specs.User{UID: 1000, GID: 1000}, netCaps, false), false},
		{"terminal", nil, withProbeTerminal(probeProcess(specs.User{UID: 1000, GID: 1000}, netCaps, false)), false},
		{"userns terminal", []func(*specs.Spec){withAllNamespaces}, withProbeTerminal(probeProcess(specs.User{}, nil, true)), false},
		{"userns joining a pid namespace", []func(*specs.Spec){withAllNamespaces, withMkdirDenied},
			probeProcess(specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5}}, netCaps, true), true},
		{"userns joining a pid namespace, terminal", []func(*specs.Spec){withAllNamespaces},
			withProbeTerminal(probeProcess(specs.User{}, nil, false)), true},
		// A user namespace whose root is not host root (userNSBundle):
		// the process's /proc files are not its own to write.
		{"mapped userns", nil, probeProcess(specs.User{UID: 1000, GID: 1000}, netCaps, false), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRuntime(t)
			edits := append([]func(*specs.Spec){func(s *specs.Spec) {
				s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux}
			}}, tc.edits...)
			if tc.joinsPid {
				edits = append(edits, joinPidNS(sharedPidNamespace(t, r)))
			}
			var c *Container
			if strings.HasPrefix(tc.name, "mapped userns") {
				c = r.Create(userNSBundle(t, append(edits, withArgs("sleep", "1000"))...))
				r.Must("start", c.ID)
			} else {
				c = runningContainer(t, r, edits...)
			}
			plan, goPath := execBothWays(t, r, c.ID, tc.proc)
			if plan != goPath {
				t.Errorf("the plan gave the process\n%s\nthe Go path\n%s", plan, goPath)
			}
			wants := []string{"Seccomp:", "Max open files            512                  1024", "/etc\n", "FOO=baz", "123\n", "pid:["}
			if tc.proc.Terminal {
				wants = append(wants, "/dev/pts/N\n37 91\n", "has a controlling tty")
			}
			for _, want := range wants {
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

// TestExecPlanMemoryPolicy: the container's memory policy reaches the
// exec'd process through the plan as through the Go path, and --debug
// names the Go path's reason when it is taken.
func TestExecPlanMemoryPolicy(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r, func(s *specs.Spec) {
		s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"}
	})
	p := &specs.Process{Args: []string{"sh", "-c", "grep -q bind:0 /proc/self/numa_maps && echo bound to node 0"}, Cwd: "/", Env: []string{"PATH=/bin"}}
	plan, goPath := execBothWays(t, r, c.ID, p)
	if plan != "bound to node 0\n" || goPath != plan {
		t.Errorf("memory policy: the plan gave %q, the Go path %q; want both bound to node 0", plan, goPath)
	}
	logFile := filepath.Join(t.TempDir(), "log")
	cmd := r.Command("--debug", "--log", logFile, "exec", c.ID, "true")
	cmd.Env = append(os.Environ(), goInitEnv)
	if res := r.RunCmd(cmd); res.Code != 0 {
		t.Fatal(res)
	}
	if log := readFile(t, logFile); !strings.Contains(log, "the Go path sets the process up: the plan is turned off by a test hook") {
		t.Errorf("the debug log does not say why the plan was not used:\n%s", log)
	}
}

// TestExecPlanRefusesAnUnavailableLSM: an LSM label the host cannot apply
// is refused before any process starts, in the Go path's words.
func TestExecPlanRefusesAnUnavailableLSM(t *testing.T) {
	if _, err := os.Stat("/sys/module/apparmor"); err == nil {
		t.Skip("this host has AppArmor: the refusal cannot be provoked")
	}
	r := newRuntime(t)
	c := runningContainer(t, r)
	res := r.Run("exec", "--apparmor", "some-profile", c.ID, "true")
	if want := "exec failed: apparmor profile some-profile requested but AppArmor is not enabled"; res.Code != 255 || errorMessage(res.Stderr) != want {
		t.Errorf("%s: want exit 255 and %q", res, want)
	}
}

// TestExecPlanSeccompNotify: with a NOTIFY rule, the plan and the Go path
// alike hand the exec'd process's listener to the agent before the
// process runs, and the process gets the agent's answer.
func TestExecPlanSeccompNotify(t *testing.T) {
	r := newRuntime(t)
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	noErr(t, err)
	t.Cleanup(func() { ln.Close() })
	prof := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		ListenerPath:  sock,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"getppid"}, Action: specs.ActNotify}},
	}
	bundle := newBundle(t, withSeccomp(prof), withArgs("sleep", "1000"))
	withSysprobe(t, bundle)
	// The container's own listener comes first; it never gets a call.
	created := make(chan error, 1)
	go func() {
		_, fd, err := seccompagent.Receive(ln)
		if err == nil {
			unix.Close(fd)
		}
		created <- err
	}()
	c := r.Create(bundle)
	select {
	case err := <-created:
		noErr(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the agent got no listener from create")
	}
	r.Must("start", c.ID)
	for _, forceGo := range []bool{false, true} {
		const fake = 4242
		agent := make(chan error, 1)
		go func() {
			_, fd, err := seccompagent.Receive(ln)
			if err != nil {
				agent <- err
				return
			}
			defer unix.Close(fd)
			_, err = seccompagent.Answer(fd, unix.SYS_GETPPID, fake)
			agent <- err
		}()
		logFile := filepath.Join(t.TempDir(), "log")
		cmd := r.Command("--debug", "--log", logFile, "exec", c.ID, "/sysprobe", fmt.Sprint(unix.SYS_GETPPID))
		if forceGo {
			cmd.Env = append(os.Environ(), goInitEnv)
		}
		res := r.RunCmd(cmd)
		if res.Code != 0 || !strings.Contains(res.Stdout, fmt.Sprintf("ret=%d errno=0", fake)) {
			t.Errorf("Go path forced %v: the process did not see the agent's answer: %s", forceGo, res)
		}
		if took := strings.Contains(readFile(t, logFile), "plan of "); took == forceGo {
			t.Errorf("Go path forced %v: the exec took the other path", forceGo)
		}
		select {
		case err := <-agent:
			noErr(t, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("Go path forced %v: the agent got no listener", forceGo)
		}
	}
}
