package integration

// exec, ps, pause/resume, events and update (issue 5), driven through
// go-runc as containerd's shim drives them and through the CLI where exact
// words matter. Resource limits need controllers this hybrid host's cgroup
// v2 hierarchy lacks: those effects are tested in vm_test.go.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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

// TestExecInsideView: what an exec'd process sees of itself — seccomp
// (the container's filter, same behaviour as the init), capabilities
// (--cap never inheritable, SECURITY 10), cwd, env, the init's namespaces and cgroup — and uid/gid/groups from --user.
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

// TestExecLeakedFdCwd: SECURITY 2 for exec — a cwd or executable through
// /proc/self/fd/N is refused, or at least lands inside the container.
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
	if !strings.Contains(buf.String(), "got-hello") {
		t.Fatalf("pty output %q lacks got-hello", buf.String())
	}
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

// TestPsPauseResume: ps lists the container's host pids (json through
// go-runc, table keeping only its rows); pause freezes it (state says
// paused, exec is refused); resume thaws it; delete --force of a paused
// container kills everything and removes its cgroup (SECURITY 24).
func TestPsPauseResume(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	rc, ctx := r.GoRunc(), context.Background()
	pidFile := filepath.Join(t.TempDir(), "pid")
	noErr(t, rc.Exec(ctx, c.ID, specs.Process{Args: []string{"sleep", "1000"}, Cwd: "/"}, &runc.ExecOpts{Detach: true, PidFile: pidFile, IO: execOutIO{tempFile(t)}}))
	execPid := readPidFile(t, pidFile)
	adopt(t, execPid)
	pids, err := rc.Ps(ctx, c.ID)
	noErr(t, err)
	slices.Sort(pids)
	if want := []int{c.Pid, execPid}; !slices.Equal(pids, sortedInts(want)) {
		t.Errorf("ps --format json: %v, want %v", pids, want)
	}
	top, err := rc.Top(ctx, c.ID, "")
	noErr(t, err)
	pidCol := slices.Index(top.Headers, "PID")
	var topPids []int
	for _, row := range top.Processes {
		p, _ := strconv.Atoi(row[pidCol])
		topPids = append(topPids, p)
	}
	if !slices.Equal(sortedInts(topPids), sortedInts([]int{c.Pid, execPid})) {
		t.Errorf("ps table rows %v, want the container's pids %d and %d", top.Processes, c.Pid, execPid)
	}

	noErr(t, rc.Pause(ctx, c.ID))
	if st := r.State(c.ID); st.Status != "paused" {
		t.Fatalf("after pause: %s", st.Status)
	}
	for _, pid := range []int{c.Pid, execPid} {
		if st, _ := procStatusField(pid, "State"); !strings.HasPrefix(st, "S") && !strings.HasPrefix(st, "D") {
			t.Errorf("pid %d state %q while paused", pid, st)
		}
	}
	if !cgroupFrozen(t, c.ID) {
		t.Error("the container's cgroup is not frozen while paused")
	}
	if res := r.Run("exec", c.ID, "true"); res.Code == 0 || !strings.Contains(res.Stderr, "paused") {
		t.Errorf("exec into a paused container: %s", res)
	}
	if res := r.Run("pause", c.ID); res.Code == 0 {
		t.Errorf("pause of a paused container succeeded")
	}
	noErr(t, rc.Resume(ctx, c.ID))
	if st := r.State(c.ID); st.Status != "running" {
		t.Fatalf("after resume: %s", st.Status)
	}
	if res := r.Run("exec", c.ID, "true"); res.Code != 0 {
		t.Errorf("exec after resume: %s", res)
	}

	noErr(t, rc.Pause(ctx, c.ID))
	r.Must("delete", "--force", c.ID)
	ws := c.Wait(t, 10*time.Second)
	if !ws.Signaled() || ws.Signal() != unix.SIGKILL {
		t.Errorf("init of the paused container ended with %v, want SIGKILL", ws)
	}
	waitFor(t, 10*time.Second, "the exec'd process to die", func() bool { return !pidAlive(execPid) })
	if _, err := os.Stat(cgroupDir(c.ID)); !os.IsNotExist(err) {
		t.Errorf("cgroup of the paused container survived delete --force: %v", err)
	}
	if res := r.Run("exec", c.ID, "true"); res.Code == 0 || !strings.Contains(res.Stderr, "does not exist") {
		t.Errorf("exec into a deleted container: %s", res)
	}
}

func sortedInts(s []int) []int { s = slices.Clone(s); slices.Sort(s); return s }

// TestEventsStats: events --stats prints one JSON object in runc's shape
// (go-runc's Stats decodes it); events streams stats at --interval and
// ends when the container stops. Exec into the stopped container fails.
func TestEventsStats(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	raw := r.Must("events", "--stats", c.ID)
	var ev struct {
		Type string                     `json:"type"`
		ID   string                     `json:"id"`
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(raw), &ev); err != nil || ev.Type != "stats" || ev.ID != c.ID {
		t.Fatalf("events --stats: %q (%v)", raw, err)
	}
	for _, k := range []string{"cpu", "memory", "pids", "blkio", "hugetlb"} {
		if _, ok := ev.Data[k]; !ok {
			t.Errorf("stats lack %q: %s", k, raw)
		}
	}
	st, err := r.GoRunc().Stats(context.Background(), c.ID)
	noErr(t, err)
	if st.Pids.Current != 1 {
		t.Errorf("go-runc Stats: pids.current %d, want 1 (the init)", st.Pids.Current)
	}

	cmd := r.Command("events", "--interval", "100ms", c.ID)
	stdout, err := cmd.StdoutPipe()
	noErr(t, err)
	noErr(t, cmd.Start())
	lines := bufio.NewScanner(stdout)
	for i := 0; i < 2; i++ {
		if !lines.Scan() {
			t.Fatalf("events stream ended early: %v", lines.Err())
		}
		var e struct{ Type, ID string }
		if err := json.Unmarshal(lines.Bytes(), &e); err != nil || e.Type != "stats" || e.ID != c.ID {
			t.Fatalf("events line %q (%v)", lines.Text(), err)
		}
	}
	r.Must("kill", c.ID, "KILL")
	c.Wait(t, 10*time.Second)
	waitErr := make(chan error, 1)
	go func() {
		for lines.Scan() {
		}
		waitErr <- cmd.Wait()
	}()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Errorf("events after the container stopped: %v", err)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("events did not end when the container stopped")
	}
	if res := r.Run("exec", c.ID, "true"); res.Code == 0 || !strings.Contains(res.Stderr, "stopped") {
		t.Errorf("exec into a stopped container: %s", res)
	}
	if res := r.Run("kill", "--all", c.ID, "KILL"); res.Code != 0 {
		t.Errorf("kill --all of a stopped container: %s", res)
	}
}

// TestUpdateDevices: update (go-runc) replaces the device filter of a
// running container — a device the config does not allow becomes usable,
// then denied again — and records the rules in the container's config.
// A resource whose controller this hybrid host lacks is a clear error.
func TestUpdateDevices(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/dev/kmsg", Type: "bind", Source: "/dev/kmsg", Options: []string{"bind"}})
	})
	// Opening /dev/kmsg write-only needs no capability: only the device
	// filter stands in the way. Nothing is written.
	probe := func() Result { return r.Run("exec", c.ID, "sh", "-c", ": > /dev/kmsg") }
	if res := probe(); res.Code == 0 || !strings.Contains(res.Stderr, "Operation not permitted") {
		t.Fatalf("/dev/kmsg before update: %s, want EPERM from the filter", res)
	}
	rc, ctx := r.GoRunc(), context.Background()
	major, minor := int64(1), int64(11)
	noErr(t, rc.Update(ctx, c.ID, &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "w"}}}))
	if res := probe(); res.Code != 0 {
		t.Fatalf("/dev/kmsg after allowing it: %s", res)
	}
	if res := r.Run("exec", c.ID, "sh", "-c", ": > /dev/null"); res.Code != 0 {
		t.Fatalf("/dev/null after update: %s (the default devices must stay allowed)", res)
	}
	var spec specs.Spec
	noErr(t, json.Unmarshal([]byte(readFile(t, filepath.Join(r.Root, c.ID, "config.json"))), &spec))
	if d := spec.Linux.Resources.Devices; len(d) != 1 || d[0].Access != "w" || *d[0].Minor != 11 {
		t.Errorf("recorded device rules %+v, want the update's", d)
	}
	// An empty rule list (go-runc would omit it) goes through the CLI.
	cmd := r.Command("update", "--resources", "-", c.ID)
	cmd.Stdin = strings.NewReader(`{"devices":[]}`)
	if res := r.RunCmd(cmd); res.Code != 0 || res.Stderr != "" {
		t.Fatalf("%s", res)
	}
	if res := probe(); res.Code == 0 {
		t.Fatalf("/dev/kmsg still usable after the rule was removed: %s", res)
	}

	cmd = r.Command("update", "--resources", "-", c.ID)
	cmd.Stdin = strings.NewReader(`{"rdma":{"mlx5_0":{"hcaHandles":1}}}`)
	if res := r.RunCmd(cmd); res.Code == 0 || !strings.Contains(errorMessage(res.Stderr), `"rdma" controller`) {
		t.Errorf("update of an absent controller: %s", res)
	}
	if res := r.Run("update", "--l3-cache-schema", "L3:0=f", c.ID); res.Code == 0 {
		t.Errorf("update --l3-cache-schema succeeded: %s", res)
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
