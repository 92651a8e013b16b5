package integration

// exec into a running container, driven through go-runc as containerd's
// shim drives it and through the CLI where exact words matter.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/console"
	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// execOutIO gives a go-runc exec one file as stdout and stderr.
type execOutIO struct{ f *os.File }

func (i execOutIO) Close() error          { return nil }
func (i execOutIO) Stdin() io.WriteCloser { return nil }
func (i execOutIO) Stdout() io.ReadCloser { return nil }
func (i execOutIO) Stderr() io.ReadCloser { return nil }
func (i execOutIO) Set(cmd *exec.Cmd)     { cmd.Stdout, cmd.Stderr = i.f, i.f }

// runningContainer creates and starts a container running `sleep` for
// bundle; edits change its config first.
func runningContainer(t *testing.T, r *Runtime, edits ...func(*specs.Spec)) *Container {
	t.Helper()
	c := r.Create(newBundle(t, append([]func(*specs.Spec){withArgs("sleep", "1000")}, edits...)...))
	r.Must("start", c.ID)
	return c
}

// withExecTmp puts a writable tmpfs on /tmp (the default root is read-only).
func withExecTmp(s *specs.Spec) {
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"})
}

// withMkdirDenied gives the container a seccomp filter under which
// mkdir/mkdirat fail with EACCES, an errno nothing else here produces.
func withMkdirDenied(s *specs.Spec) {
	errno := uint(unix.EACCES)
	s.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &errno}},
	}
}

// withAllNamespaces adds user (identity-mapped), time and cgroup
// namespaces to the default pid, net, ipc, uts and mount ones, so that
// exec must join all eight. The cgroup2 mount is dropped: this hybrid host
// refuses it inside a user namespace.
func withAllNamespaces(s *specs.Spec) {
	s.Linux.Namespaces = append(s.Linux.Namespaces,
		specs.LinuxNamespace{Type: specs.UserNamespace},
		specs.LinuxNamespace{Type: specs.TimeNamespace},
		specs.LinuxNamespace{Type: specs.CgroupNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 65536}}
	s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/sys/fs/cgroup" })
}

var nsTypes = []string{"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"}

// TestExecDetachedGoRunc: a detached exec through go-runc writes the pid
// file before returning, leaves the process a child of ours (reparented,
// as containerd's shim needs to reap it), with no fds beyond its stdio,
// inside every namespace of the container (user, mnt and time included)
// and in its cgroup.
func TestExecDetachedGoRunc(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r, withAllNamespaces)
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	out := tempFile(t)
	proc := specs.Process{Args: []string{"sh", "-c", "read x; exit 7"}, Cwd: "/", Env: []string{"PATH=/bin"}}
	// A pipe the test holds as the process's stdin lets it exit on cue.
	stdinR, stdinW, err := os.Pipe()
	noErr(t, err)
	defer stdinW.Close()
	err = r.GoRunc().Exec(context.Background(), c.ID, proc, &runc.ExecOpts{
		IO: stdinIO{execOutIO{out}, stdinR}, PidFile: pidFile, Detach: true,
	})
	stdinR.Close()
	if err != nil {
		t.Fatalf("exec -d: %v; output %q", err, readFile(t, out.Name()))
	}
	pid := readPidFile(t, pidFile)
	exited := adopt(t, pid) // fails unless the process is our child
	for _, ns := range nsTypes {
		initNS, err1 := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", c.Pid, ns))
		execNS, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		hostNS, _ := os.Readlink("/proc/self/ns/" + ns)
		if err1 != nil || err2 != nil || initNS != execNS {
			t.Errorf("%s namespace: init %q (%v), exec %q (%v)", ns, initNS, err1, execNS, err2)
		}
		if initNS == hostNS {
			t.Errorf("%s namespace of the container is the host's: the test does not prove the join", ns)
		}
	}
	// Only the stdio go-runc gave: no fd of the runtime or the host.
	if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err != nil || len(fds) != 3 {
		t.Errorf("exec'd process has fds %v (%v), want only 0, 1, 2", fds, err)
	}
	initCg := readFile(t, fmt.Sprintf("/proc/%d/cgroup", c.Pid))
	if execCg := readFile(t, fmt.Sprintf("/proc/%d/cgroup", pid)); execCg != initCg {
		t.Errorf("exec's cgroups\n%s\ndiffer from the init's\n%s", execCg, initCg)
	}
	stdinW.Close()
	select {
	case ws := <-exited:
		if ws.ExitStatus() != 7 {
			t.Fatalf("exec'd process exit status %v, want 7", ws)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("exec'd process did not exit")
	}
}

// stdinIO adds a stdin file to execOutIO.
type stdinIO struct {
	execOutIO
	in *os.File
}

func (i stdinIO) Set(cmd *exec.Cmd) { i.execOutIO.Set(cmd); cmd.Stdin = i.in }

// TestExecInsideView: what an exec'd process sees of itself — seccomp (the
// container's filter, same behaviour as the init), capabilities (--cap never
// inheritable, which would pass it on to programs with file capabilities,
// CVE-2022-29162), cwd, env, the init's namespaces and cgroup — and
// uid/gid/groups from --user.
func TestExecInsideView(t *testing.T) {
	r := newRuntime(t)
	c := r.Create(newBundle(t, withExecTmp, withMkdirDenied,
		shell("mkdir /tmp/by-init; exec sleep 1000")))
	r.Must("start", c.ID)
	waitFor(t, 5*time.Second, "the init's mkdir", func() bool { return c.ReadOutput(t) != "" })
	if out := c.ReadOutput(t); !strings.Contains(out, "Permission denied") {
		t.Fatalf("init's mkdir: %q, want the filter's EACCES", out)
	}
	script := strings.Join([]string{
		grepStatus("Seccomp", "Seccomp_filters", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs"),
		"echo cwd=$(pwd)", "echo foo=$FOO",
		"[ \"$(cat /proc/self/cgroup)\" = \"$(cat /proc/1/cgroup)\" ] && echo cgroup=same",
		"for n in " + strings.Join(nsTypes[1:6], " ") + " uts; do [ $(readlink /proc/self/ns/$n) = $(readlink /proc/1/ns/$n) ] || echo nsdiff=$n; done",
		"mkdir /tmp/by-exec 2>&1 || true",
	}, "\n")
	res := r.Run("exec", "--cwd", "/tmp", "--env", "FOO=bar", "--cap", "CAP_NET_RAW", c.ID, "sh", "-c", script)
	if res.Code != 0 {
		t.Fatalf("%s", res)
	}
	f := statusMap(res.Stdout)
	initStatus := statusMap(readFile(t, fmt.Sprintf("/proc/%d/status", c.Pid)))
	if f["Seccomp"] != "2" || f["Seccomp_filters"] != initStatus["Seccomp_filters"] {
		t.Errorf("exec'd process has Seccomp %q with %q filters, the init %q: want mode 2 and the same filters", f["Seccomp"], f["Seccomp_filters"], initStatus["Seccomp_filters"])
	}
	if !strings.Contains(res.Stdout, "Permission denied") {
		t.Errorf("mkdir in the exec'd process was not refused by the filter: %q", res.Stdout)
	}
	// The default config's AUDIT_WRITE, KILL, NET_BIND_SERVICE plus NET_RAW.
	const want = "0000000020002420"
	for _, k := range []string{"CapPrm", "CapEff", "CapBnd"} {
		if f[k] != want {
			t.Errorf("%s = %s, want %s (config + --cap CAP_NET_RAW)", k, f[k], want)
		}
	}
	if f["CapInh"] != "0000000000000000" || f["CapAmb"] != "0000000000000000" {
		t.Errorf("CapInh %s CapAmb %s: --cap must not reach the inheritable or ambient sets", f["CapInh"], f["CapAmb"])
	}
	if f["NoNewPrivs"] != "1" {
		t.Errorf("NoNewPrivs %q, want the config's 1", f["NoNewPrivs"])
	}
	for _, want := range []string{"cwd=/tmp\n", "foo=bar\n", "cgroup=same\n"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, res.Stdout)
		}
	}
	if strings.Contains(res.Stdout, "nsdiff") {
		t.Errorf("namespaces differ from the init's:\n%s", res.Stdout)
	}

	res = r.Run("exec", "--user", "1000:1001", "--additional-gids", "2000", "--additional-gids", "3000", c.ID,
		"sh", "-c", grepStatus("Uid", "Gid", "Groups"))
	if res.Code != 0 {
		t.Fatalf("%s", res)
	}
	f = statusMap(res.Stdout)
	if f["Uid"] != "1000\t1000\t1000\t1000" || f["Gid"] != "1001\t1001\t1001\t1001" || f["Groups"] != "2000 3000" {
		t.Errorf("--user 1000:1001 -g 2000 -g 3000 gave Uid %q Gid %q Groups %q", f["Uid"], f["Gid"], f["Groups"])
	}

	if res := r.Run("exec", "--cap", "CAP_NOT_A_THING", c.ID, "true"); res.Code == 0 || !strings.Contains(res.Stderr, "CAP_NOT_A_THING") {
		t.Errorf("exec with an unknown capability: %s", res)
	}
}

// TestExecExitStatus: a foreground exec exits with the process's status,
// 128+signal when it is killed, and passes its stdio through.
func TestExecExitStatus(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	if res := r.Run("exec", c.ID, "sh", "-c", "echo out; echo err >&2; exit 5"); res.Code != 5 || res.Stdout != "out\n" || res.Stderr != "err\n" {
		t.Errorf("%s, want exit 5 with out/err", res)
	}
	if res := r.Run("exec", c.ID, "sh", "-c", "kill -9 $$"); res.Code != 128+9 {
		t.Errorf("%s, want exit 137", res)
	}
	if res := r.Run("exec", c.ID, "/no/such/binary"); res.Code != 255 || !strings.Contains(res.Stderr, "/no/such/binary") {
		t.Errorf("%s, want exit 255 (as runc) and a one-line error naming the binary", res)
	}
}

// TestExecForwardsSignals: signals sent to a foreground exec reach the
// process, and the exec exits with its status.
func TestExecForwardsSignals(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	out := tempFile(t)
	cmd := r.Command("exec", c.ID, "sh", "-c", "trap 'echo got USR1' USR1; trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	output := func() string { return readFile(t, out.Name()) }
	waitFor(t, 5*time.Second, "ready", func() bool { return strings.Contains(output(), "ready") })
	noErr(t, cmd.Process.Signal(unix.SIGUSR1))
	waitFor(t, 5*time.Second, "the USR1 trap", func() bool { return strings.Contains(output(), "got USR1") })
	noErr(t, cmd.Process.Signal(unix.SIGTERM))
	_ = cmd.Wait()
	if code := shellStatus(cmd.ProcessState); code != 7 {
		t.Errorf("exec after SIGTERM exited %d, want 7 from the TERM trap; output %q", code, output())
	}
}

// TestExecLeakedFdCwd: the leaked-fd escape (CVE-2024-21626) through exec: a
// cwd or executable through /proc/self/fd/N is refused, or at least lands
// inside the container.
func TestExecLeakedFdCwd(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	for n := 3; n <= 12; n++ {
		fdPath := fmt.Sprintf("/proc/self/fd/%d", n)
		// From an escaped cwd, climbing up reaches the host's /, which has
		// the /work this repository lives in; the container's / has not.
		res := r.Run("exec", "--cwd", fdPath, c.ID, "ls", "../../../../../..")
		if res.Code == 0 && strings.Contains(res.Stdout, "work") {
			t.Errorf("exec --cwd %s reached the host: %s", fdPath, res)
		}
		res = r.Run("exec", c.ID, fdPath+"/../../bin/sh", "-c", "echo escaped")
		if res.Code == 0 {
			t.Errorf("exec of %s/../../bin/sh ran: %s", fdPath, res)
		}
	}
}

// TestExecConsoleSocket: exec -t with a console socket (go-runc) sends a
// pty master, through which the test talks to the process.
func TestExecConsoleSocket(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	sock, err := runc.NewTempConsoleSocket()
	noErr(t, err)
	defer sock.Close()
	done := make(chan error, 1)
	go func() {
		proc := specs.Process{Terminal: true, Args: []string{"sh", "-c", "tty; read x; echo got-$x; exit 3"}, Cwd: "/", Env: []string{"PATH=/bin"}}
		done <- r.GoRunc().Exec(context.Background(), c.ID, proc, &runc.ExecOpts{ConsoleSocket: sock})
	}()
	master, err := receiveMaster(sock, done)
	noErr(t, err)
	defer master.Close()
	var buf bufString
	go func() { _, _ = io.Copy(&buf, master) }()
	waitFor(t, 10*time.Second, "the tty name", func() bool { return strings.Contains(buf.String(), "/dev/pts/") })
	_, err = master.Write([]byte("hello\n"))
	noErr(t, err)
	select {
	case err := <-done:
		var exit *runc.ExitError
		if !errors.As(err, &exit) || exit.Status != 3 {
			t.Fatalf("exec: %v, want exit status 3", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("exec -t did not return")
	}
	// The process may exit before the copy has read its last line from
	// the master, where it stays readable.
	waitFor(t, 5*time.Second, "got-hello on the pty", func() bool { return strings.Contains(buf.String(), "got-hello") })
}

// receiveMaster waits for the pty master, or for exec to fail first.
func receiveMaster(sock *runc.Socket, done <-chan error) (console.Console, error) {
	got := make(chan console.Console, 1)
	fail := make(chan error, 1)
	go func() {
		m, err := sock.ReceiveMaster()
		if err != nil {
			fail <- err
			return
		}
		got <- m
	}()
	select {
	case m := <-got:
		return m, nil
	case err := <-fail:
		return nil, err
	case err := <-done:
		return nil, fmt.Errorf("exec ended before sending a pty master: %v", err)
	case <-time.After(10 * time.Second):
		return nil, errors.New("no pty master after 10s")
	}
}

// noErr fails the test on err.
func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// grepStatus is a shell command printing the named /proc/self/status lines.
func grepStatus(names ...string) string {
	return fmt.Sprintf("grep -E '^(%s):' /proc/self/status", strings.Join(names, "|"))
}

// statusMap parses "Name:\tvalue" lines.
func statusMap(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}
