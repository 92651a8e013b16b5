//go:build vmtest

package integration

// More checkpoint and restore with the real CRIU in the VM (see
// checkpoint_vm_test.go): terminals, unix sockets, cgroup v1, lazy pages.

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/console"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// consoleListener is a console socket the test listens on.
func consoleListener(t *testing.T) (*net.UnixListener, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	noErr(t, err)
	t.Cleanup(func() { l.Close() })
	return l, sock
}

// waitLine waits for the line want among lines.
func waitLine(t *testing.T, lines chan string, want string) {
	t.Helper()
	var seen []string
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("terminal closed before %q; it showed %q", want, seen)
			}
			if line == want {
				return
			}
			seen = append(seen, line)
		case <-deadline:
			t.Fatalf("no %q on the terminal in 30s; it showed %q", want, seen)
		}
	}
}

// TestCriuConsoleSocket: a shell on a terminal (process.terminal, the pty
// master sent to --console-socket) is checkpointed and restored with a
// new --console-socket: the master arriving there talks to the same shell,
// which still holds the variable set before the checkpoint.
func TestCriuConsoleSocket(t *testing.T) {
	r := newRuntime(t)
	bundle := newBundle(t, withArgs("sh"), func(s *specs.Spec) { s.Process.Terminal = true })
	l, sock := consoleListener(t)
	c := r.Create(bundle, "--console-socket", sock)
	master := receiveConsole(t, l)
	lines := pipeLines(master)
	r.Must("start", c.ID)
	_, err := master.WriteString("i=41; echo set-$i\n")
	noErr(t, err)
	waitLine(t, lines, "set-41")
	images := filepath.Join(t.TempDir(), "images")
	r.Must("checkpoint", "--image-path", images, c.ID)
	assertRestoredGone(t, r, c.ID, c.Pid)

	l2, sock2 := consoleListener(t)
	id := newID(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	r.Must("restore", "-d", "--image-path", images, "--bundle", bundle, "--console-socket", sock2, "--pid-file", pidFile, id)
	pid := readPidFile(t, pidFile)
	adopt(t, pid)
	master2 := receiveConsole(t, l2)
	lines2 := pipeLines(master2)
	_, err = master2.WriteString("echo now-$((i+1))\n")
	noErr(t, err)
	waitLine(t, lines2, "now-42")
	if st := r.State(id); st.Status != "running" || st.Pid != pid {
		t.Errorf("restored container: %s pid %d, want running pid %d", st.Status, st.Pid, pid)
	}
	r.Must("delete", "--force", id)
	assertRestoredGone(t, r, id, pid)
}

// ptyPair is a new pty: the master the test reads and the slave it hands
// to the runtime as stdio.
func ptyPair(t *testing.T) (console.Console, *os.File) {
	t.Helper()
	master, slavePath, err := console.NewPty()
	noErr(t, err)
	slave, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	noErr(t, err)
	return master, slave
}

// runOnTerminal runs the runtime with args and a pty slave as stdin,
// stdout and stderr (the caller's terminal, as a shell job has it), and
// adopts the init whose pid lands in the pid file added.
func (r *Runtime) runOnTerminal(t *testing.T, id string, args ...string) *pipedContainer {
	t.Helper()
	master, slave := ptyPair(t)
	// Once the runtime returns, only the container holds the slave: the
	// master ends when it does.
	return r.runWithOutput(t, id, slave, slave, master, args...)
}

// TestCriuShellJob: a counter whose stdio is the caller's terminal (no
// process.terminal) is checkpointed with --shell-job, and restored with
// --shell-job onto another terminal, where it counts on.
func TestCriuShellJob(t *testing.T) {
	r := newRuntime(t)
	bundle := newBundle(t, shell(counterScript))
	c := r.runOnTerminal(t, newID(t), "create", "--bundle", bundle)
	r.Must("start", c.ID)
	for range 3 {
		c.next(t)
	}
	images := filepath.Join(t.TempDir(), "images")
	last := checkpointCounter(t, r, c, images, "--shell-job")
	restored := r.runOnTerminal(t, newID(t), "restore", "-d", "--shell-job", "--image-path", images, "--bundle", bundle)
	if got := atoi(t, restored.next(t)); got != last+1 {
		t.Fatalf("restored counter printed %d first on the new terminal, want %d", got, last+1)
	}
	if link, _ := os.Readlink("/proc/" + strconv.Itoa(restored.Pid) + "/fd/1"); !strings.HasPrefix(link, "/dev/pts/") {
		t.Errorf("restored counter's stdout is %q, want the new terminal", link)
	}
	r.Must("delete", "--force", restored.ID)
	assertRestoredGone(t, r, restored.ID, restored.Pid)
}

// TestCriuUnixSockets: a process holding a socket pair and a listening
// unix socket with a connected client, all inside the container, counts
// through them after the restore from where it stopped: every socket
// came back connected (unixsk exits at the first failure).
func TestCriuUnixSockets(t *testing.T) {
	r := newRuntime(t)
	bundle := newBundle(t, withArgs("/unixsk", "/tmp/unixsk.sock"), withExecTmp)
	testdataBinary(t, "unixsk", filepath.Join(bundle, "rootfs", "unixsk"))
	c := startCounter(t, r, bundle)
	images := filepath.Join(t.TempDir(), "images")
	last := checkpointCounter(t, r, c, images)
	restored := r.runPiped(t, newID(t), "restore", "-d", "--image-path", images, "--bundle", bundle)
	first := restored.next(t)
	if got, err := strconv.Atoi(first); err != nil || got != last+1 {
		t.Fatalf("restored socket user printed %q first, want %d", first, last+1)
	}
	for range 3 {
		if line := restored.next(t); strings.HasPrefix(line, "unixsk:") {
			t.Fatalf("after the restore: %s", line)
		}
	}
	r.Must("delete", "--force", restored.ID)
	assertRestoredGone(t, r, restored.ID, restored.Pid)
}

// TestCriuExtUnixSk: a datagram socket connected to one bound outside the
// container (in a bind-mounted directory) makes the checkpoint fail
// unless --ext-unix-sk allows it; with it on both sides the restored
// process sends on through the same connection. The container shares the
// host's network namespace: CRIU finds a unix socket's peer only among
// the sockets of the dumped tasks' namespace ("Unix socket ... without
// peer" otherwise). And the directory is bound at its own path: CRIU
// connects the restored socket to the name the peer was bound under,
// resolved in the container ("Can't connect ... No such file" otherwise).
func TestCriuExtUnixSk(t *testing.T) {
	r := newRuntime(t)
	dir := t.TempDir()
	host, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "ext.sock"), Net: "unixgram"})
	noErr(t, err)
	defer host.Close()
	received := make(chan string, 1024)
	go func() {
		buf := make([]byte, 64)
		for {
			n, _, err := host.ReadFrom(buf)
			if err != nil {
				return
			}
			received <- string(buf[:n])
		}
	}()
	bundle := newBundle(t, withArgs("/unixsk", "/tmp/unixsk.sock", filepath.Join(dir, "ext.sock")), withExecTmp, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: dir, Type: "bind", Source: dir, Options: []string{"rbind"}})
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(ns specs.LinuxNamespace) bool { return ns.Type == specs.NetworkNamespace })
	})
	testdataBinary(t, "unixsk", filepath.Join(bundle, "rootfs", "unixsk"))
	c := startCounter(t, r, bundle)
	refused := r.Run("checkpoint", "--leave-running", "--image-path", filepath.Join(t.TempDir(), "refused"), c.ID)
	if refused.Code == 0 || !strings.Contains(refused.Stderr, "--ext-unix-sk") {
		t.Errorf("checkpoint without --ext-unix-sk: %s, want a failure pointing at --ext-unix-sk", refused)
	}
	images := filepath.Join(t.TempDir(), "images")
	last := checkpointCounter(t, r, c, images, "--ext-unix-sk")
	restored := r.runPiped(t, newID(t), "restore", "-d", "--ext-unix-sk", "--image-path", images, "--bundle", bundle)
	first := restored.next(t)
	if got, err := strconv.Atoi(first); err != nil || got != last+1 {
		t.Fatalf("restored program printed %q first, want %d", first, last+1)
	}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case got := <-received:
			if got == first {
				r.Must("delete", "--force", restored.ID)
				assertRestoredGone(t, r, restored.ID, restored.Pid)
				return
			}
		case <-deadline:
			t.Fatalf("the socket outside never got %s from the restored process", first)
		}
	}
}

// TestCgroupV1RestoreKeepsCgroups (VM, --cgroup v1): the restored counter
// sits in its own cgroup in every v1 hierarchy, under the bundle's memory
// limit, and its cgroup mount shows that cgroup.
func TestCgroupV1RestoreKeepsCgroups(t *testing.T) {
	requireV1(t)
	r := newRuntime(t)
	bundle := newBundle(t, shell(counterScript), withMemoryLimit(64<<20))
	c := startCounter(t, r, bundle)
	images := filepath.Join(t.TempDir(), "images")
	last := checkpointCounter(t, r, c, images)
	restored := r.runPiped(t, newID(t), "restore", "-d", "--image-path", images, "--bundle", bundle)
	if got := atoi(t, restored.next(t)); got != last+1 {
		t.Fatalf("restored counter printed %d first, want %d", got, last+1)
	}
	pid := strconv.Itoa(restored.Pid)
	dirs := allCgroupDirs(restored.ID)
	if len(dirs) == 0 {
		t.Fatal("the restored container has no cgroup")
	}
	for _, dir := range dirs {
		if procs := readFile(t, filepath.Join(dir, "cgroup.procs")); !slices.Contains(strings.Fields(procs), pid) {
			t.Errorf("restored init %s is not in %s: %q", pid, dir, procs)
		}
	}
	if limit := readV1(t, restored.ID, "memory", "memory.limit_in_bytes"); limit != strconv.Itoa(64<<20) {
		t.Errorf("restored memory.limit_in_bytes %s, want 64 MiB", limit)
	}
	if out := r.Must("exec", restored.ID, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"); strings.TrimSpace(out) != strconv.Itoa(64<<20) {
		t.Errorf("the container's cgroup mount shows memory.limit_in_bytes %q, want its own 64 MiB", out)
	}
	r.Must("delete", "--force", restored.ID)
	assertRestoredGone(t, r, restored.ID, restored.Pid)
}

// freePort is a TCP port on the loopback nobody listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	noErr(t, err)
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// TestCriuLazyPages: checkpoint --lazy-pages serves the memory from a page
// server (ready once it writes a zero byte to --status-fd), CRIU's
// lazy-pages daemon fetches it, and restore --lazy-pages brings the
// counter back with its memory paged in on demand: it counts on from
// where the dumped one stopped.
func TestCriuLazyPages(t *testing.T) {
	r := newRuntime(t)
	bundle := newBundle(t, shell(counterScript))
	c := startCounter(t, r, bundle)
	images := filepath.Join(t.TempDir(), "images")
	port := freePort(t)
	statusR, statusW, err := os.Pipe()
	noErr(t, err)
	defer statusR.Close()
	var dumpOut bufString
	dump := r.Command("checkpoint", "--lazy-pages", "--page-server", "127.0.0.1:"+port, "--status-fd", "3", "--image-path", images, c.ID)
	dump.ExtraFiles = []*os.File{statusW}
	dump.Stdout, dump.Stderr = &dumpOut, &dumpOut
	noErr(t, dump.Start())
	statusW.Close()
	dumped := make(chan error, 1)
	go func() { dumped <- dump.Wait() }()
	ready := make([]byte, 1)
	if n, err := statusR.Read(ready); n != 1 || ready[0] != 0 {
		t.Fatalf("checkpoint --lazy-pages never reported its page server ready (%v; checkpoint ended %v): %s", err, <-dumped, dumpOut.String())
	}
	lazy := exec.Command("criu", "lazy-pages", "--page-server", "--address", "127.0.0.1", "--port", port, "-D", images)
	var lazyOut bufString
	lazy.Stdout, lazy.Stderr = &lazyOut, &lazyOut
	noErr(t, lazy.Start())
	t.Cleanup(func() { _ = lazy.Process.Kill(); _ = lazy.Wait() })
	restored := r.runPiped(t, newID(t), "restore", "-d", "--lazy-pages", "--image-path", images, "--bundle", bundle)
	first := atoi(t, restored.next(t))
	select {
	case err := <-dumped:
		if err != nil {
			t.Fatalf("checkpoint --lazy-pages: %v: %s", err, dumpOut.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("checkpoint --lazy-pages still serves pages a minute after the restore: %s", dumpOut.String())
	}
	rest := drain(c.lines, 20*time.Second)
	if len(rest) == 0 {
		t.Fatal("the dumped counter printed nothing before the checkpoint")
	}
	if last := atoi(t, rest[len(rest)-1]); first != last+1 {
		t.Fatalf("lazily restored counter printed %d first, want %d", first, last+1)
	}
	if second := atoi(t, restored.next(t)); second != first+1 {
		t.Errorf("lazily restored counter went on with %d after %d", second, first)
	}
	r.Must("delete", "--force", restored.ID)
	assertRestoredGone(t, r, restored.ID, restored.Pid)
}
