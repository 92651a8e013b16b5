//go:build vmtest

package integration

// checkpoint and restore with the real CRIU, which fails on this host's
// kernel: run inside the project's VM (tests/vm), where the root is the
// mount namespace's own and CRIU's socket-diag modules load on demand:
//
//	make build
//	go test -c -tags 'vmtest osusergo netgo' -o tests/vm/.cache/bin/integration.test ./tests/integration
//	CGO_ENABLED=0 go build -o tests/vm/.cache/bin/unixsk ./tests/integration/testdata/unixsk
//	tests/vm/run.sh --timeout 900 --env OCIRT_BINARY=$PWD/oci-rt \
//		--env OCIRT_TESTDATA_BIN=$PWD/tests/vm/.cache/bin -- \
//		tests/vm/.cache/bin/integration.test -test.run 'Criu|Checkpoint' -test.v
//
// (the VM cannot build the unix socket test's program: its root is
// read-only). The containers' stdio are pipes, or a terminal in the
// terminal tests: CRIU must find every file the process holds inside the
// container or recognise it as one it is handed again.

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// counterScript prints 1, 2, 3... five times a second; the count lives
// only in the shell's memory.
const counterScript = "i=0; while true; do i=$((i+1)); echo $i; sleep 0.2; done"

// pipedContainer is a container whose stdout and stderr are a pipe the
// test reads, line by line.
type pipedContainer struct {
	ID    string
	Pid   int
	lines chan string
}

// pipeLines reads r's lines into a channel closed at EOF (or, for a pty
// master, once no slave is open), without a terminal's carriage returns.
func pipeLines(r io.ReadCloser) chan string {
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- strings.TrimRight(sc.Text(), "\r")
		}
	}()
	return lines
}

// runPiped runs args (create or restore -d, with --pid-file added) with a
// fresh pipe as stdout and stderr, which the container inherits, and
// adopts the init.
func (r *Runtime) runPiped(t *testing.T, id string, args ...string) *pipedContainer {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	return r.runWithOutput(t, id, nil, pw, pr, args...)
}

// runWithOutput runs args with --pid-file added, stdin in (when not nil)
// and out as stdout and stderr, which the container inherits; once it
// returns, only the container holds out, and the container's output is
// read from reader. It adopts the init.
func (r *Runtime) runWithOutput(t *testing.T, id string, in, out *os.File, reader io.ReadCloser, args ...string) *pipedContainer {
	t.Helper()
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := r.Command(append(append(args, "--pid-file", pidFile), id)...)
	if in != nil {
		cmd.Stdin = in
	}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	out.Close()
	lines := pipeLines(reader)
	if err != nil {
		t.Fatalf("oci-rt %s: %v; output %q", strings.Join(args, " "), err, drain(lines, time.Second))
	}
	c := &pipedContainer{ID: id, Pid: readPidFile(t, pidFile), lines: lines}
	adopt(t, c.Pid)
	return c
}

// next is the container's next output line.
func (c *pipedContainer) next(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-c.lines:
		if !ok {
			t.Fatalf("container %s: output closed", c.ID)
		}
		return line
	case <-time.After(20 * time.Second):
		t.Fatalf("container %s: no output for 20s", c.ID)
		return ""
	}
}

// drain is everything left in lines until EOF or timeout.
func drain(lines chan string, timeout time.Duration) []string {
	var all []string
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return all
			}
			all = append(all, line)
		case <-deadline:
			return all
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

// startCounter creates and starts a counter container from bundle and
// waits for its first lines.
func startCounter(t *testing.T, r *Runtime, bundle string) *pipedContainer {
	t.Helper()
	c := r.runPiped(t, newID(t), "create", "--bundle", bundle)
	r.Must("start", c.ID)
	for range 3 {
		c.next(t)
	}
	return c
}

// checkpointCounter checkpoints c into images (container deleted) and
// returns the last number it printed.
func checkpointCounter(t *testing.T, r *Runtime, c *pipedContainer, images string, flags ...string) int {
	t.Helper()
	r.Must(append(append([]string{"checkpoint", "--image-path", images}, flags...), c.ID)...)
	rest := drain(c.lines, 20*time.Second)
	if len(rest) == 0 {
		t.Fatal("no output between the first lines and the checkpoint")
	}
	return atoi(t, rest[len(rest)-1])
}

// assertRestoredGone: no state, cgroup or process of id remains.
func assertRestoredGone(t *testing.T, r *Runtime, id string, pid int) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(r.Root, id)); !os.IsNotExist(err) {
		t.Errorf("state directory of %s remains: %v", id, err)
	}
	if _, err := os.Stat(cgroupDir(id)); !os.IsNotExist(err) {
		t.Errorf("cgroup of %s remains: %v", id, err)
	}
	if pid > 0 {
		waitFor(t, 10*time.Second, "the init to be gone", func() bool { return !pidAlive(pid) })
	}
}

// TestCriuCounterContinues: a counter checkpointed and restored under a new
// ID goes on from the number it had reached; the checkpoint deletes the
// original; the restored one is running with its new pid, in its own
// cgroup with the bundle's memory limit, behind the same mounts, masked
// and read-only paths; delete leaves nothing.
func TestCriuCounterContinues(t *testing.T) {
	r := newRuntime(t)
	data := t.TempDir()
	noErr(t, os.WriteFile(filepath.Join(data, "marker"), []byte("from the bundle\n"), 0o644))
	bundle := newBundle(t, shell(counterScript), withMemoryLimit(64<<20), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: data, Options: []string{"rbind", "ro"}})
	})
	c := startCounter(t, r, bundle)
	images := filepath.Join(t.TempDir(), "images")
	last := checkpointCounter(t, r, c, images)
	assertRestoredGone(t, r, c.ID, c.Pid)

	restored := r.runPiped(t, newID(t), "restore", "-d", "--image-path", images, "--bundle", bundle)
	if got := atoi(t, restored.next(t)); got != last+1 {
		t.Fatalf("restored counter printed %d first, want %d (it stopped at %d)", got, last+1, last)
	}
	st := r.State(restored.ID)
	if st.Status != "running" || st.Pid != restored.Pid {
		t.Errorf("state of restored container: %s pid %d, want running pid %d", st.Status, st.Pid, restored.Pid)
	}
	if inCg, err := os.ReadFile(filepath.Join(cgroupDir(restored.ID), "cgroup.procs")); err != nil || !strings.Contains(string(inCg), strconv.Itoa(restored.Pid)) {
		t.Errorf("restored init %d is not in its cgroup: %q %v", restored.Pid, inCg, err)
	}
	if limit := strings.TrimSpace(readFile(t, filepath.Join(cgroupDir(restored.ID), "memory.max"))); limit != strconv.Itoa(64<<20) {
		t.Errorf("restored cgroup's memory.max %s, want 64 MiB", limit)
	}
	if out := r.Must("exec", restored.ID, "cat", "/data/marker"); out != "from the bundle\n" {
		t.Errorf("bind mount after restore shows %q", out)
	}
	// The default config masks /proc/kcore and makes /proc/sys read-only.
	if res := r.Run("exec", restored.ID, "sh", "-c", "test -s /proc/kcore || echo masked; echo x > /proc/sys/kernel/hostname 2>/dev/null || echo readonly"); res.Stdout != "masked\nreadonly\n" {
		t.Errorf("masked and read-only paths after restore: %s", res)
	}
	r.Must("delete", "--force", restored.ID)
	assertRestoredGone(t, r, restored.ID, restored.Pid)
}

// TestCheckpointPreDumpAndLeaveRunning: a pre-dump and a --leave-running
// checkpoint keep the original counting; a final dump on top of the
// pre-dump (--parent-path) restores and continues.
func TestCheckpointPreDumpAndLeaveRunning(t *testing.T) {
	r := newRuntime(t)
	bundle := newBundle(t, shell(counterScript))
	c := startCounter(t, r, bundle)
	dir := t.TempDir()
	pre, leave, final := filepath.Join(dir, "pre"), filepath.Join(dir, "leave"), filepath.Join(dir, "final")
	r.Must("checkpoint", "--pre-dump", "--image-path", pre, c.ID)
	r.Must("checkpoint", "--leave-running", "--image-path", leave, c.ID)
	if st := r.State(c.ID); st.Status != "running" || st.Pid != c.Pid {
		t.Fatalf("after pre-dump and --leave-running: %s pid %d", st.Status, st.Pid)
	}
	before := atoi(t, c.next(t))
	if after := atoi(t, c.next(t)); after != before+1 {
		t.Fatalf("the original counts %d then %d after the checkpoints", before, after)
	}
	last := checkpointCounter(t, r, c, final, "--parent-path", pre)
	if entries, _ := filepath.Glob(filepath.Join(final, "pages-*.img")); len(entries) == 0 {
		t.Errorf("final dump wrote no pages image")
	}
	restored := r.runPiped(t, newID(t), "restore", "-d", "--image-path", final, "--bundle", bundle)
	if got := atoi(t, restored.next(t)); got != last+1 {
		t.Fatalf("restored from the final dump, first %d, want %d", got, last+1)
	}
	r.Must("delete", "--force", restored.ID)
	assertRestoredGone(t, r, restored.ID, restored.Pid)
}

// TestCriuJoinedNetnsAndSeccomp: a container joining a network namespace
// by path, with a seccomp filter, comes back in that namespace and under
// a filter; an open file and a unix socket pair inside survive.
func TestCriuJoinedNetnsAndSeccomp(t *testing.T) {
	r := newRuntime(t)
	holder := exec.Command("unshare", "--net", "sleep", "1000")
	noErr(t, holder.Start())
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	netns := "/proc/" + strconv.Itoa(holder.Process.Pid) + "/ns/net"
	waitFor(t, 5*time.Second, "the namespace holder", func() bool {
		a, _ := os.Readlink(netns)
		b, _ := os.Readlink("/proc/self/ns/net")
		return a != "" && a != b
	})
	// fd 3 is a file kept open, fd 4 a fifo the shell holds open for
	// reading and writing: a pipe with both ends inside the container.
	script := "exec 3>/tmp/open; mkfifo /tmp/p; exec 4<>/tmp/p; " + counterScript
	bundle := newBundle(t, shell(script), withExecTmp, withMkdirDenied, func(s *specs.Spec) {
		for i, ns := range s.Linux.Namespaces {
			if ns.Type == specs.NetworkNamespace {
				s.Linux.Namespaces[i].Path = netns
			}
		}
	})
	c := startCounter(t, r, bundle)
	images := filepath.Join(t.TempDir(), "images")
	last := checkpointCounter(t, r, c, images)
	restored := r.runPiped(t, newID(t), "restore", "-d", "--image-path", images, "--bundle", bundle)
	if got := atoi(t, restored.next(t)); got != last+1 {
		t.Fatalf("restored counter printed %d first, want %d", got, last+1)
	}
	want, _ := os.Readlink(netns)
	if got, _ := os.Readlink("/proc/" + strconv.Itoa(restored.Pid) + "/ns/net"); got != want {
		t.Errorf("restored init's network namespace %s, want the joined %s", got, want)
	}
	if mode, err := procStatusField(restored.Pid, "Seccomp"); err != nil || mode != "2" {
		t.Errorf("restored init's seccomp mode %q (%v), want 2 (filter)", mode, err)
	}
	fds := r.Must("exec", restored.ID, "sh", "-c", "ls -l /proc/1/fd/3 /proc/1/fd/4 | sed 's/.*-> //'")
	if !strings.Contains(fds, "/tmp/open") || !strings.Contains(fds, "/tmp/p") {
		t.Errorf("restored init's open files: %q", fds)
	}
	r.Must("delete", "--force", restored.ID)
	assertRestoredGone(t, r, restored.ID, restored.Pid)
}

// TestCriuDifferentialRunc: runc checkpoints and restores the same bundle
// the same way: its counter continues too (the comparison for oci-rt's
// TestCriuCounterContinues).
func TestCriuDifferentialRunc(t *testing.T) {
	const runcPath = "/usr/sbin/runc"
	if _, err := os.Stat(runcPath); err != nil {
		t.Skipf("no runc at %s", runcPath)
	}
	bundle := newBundle(t, shell(counterScript))
	for _, bin := range []string{runcPath, rtBinary} {
		r := newRuntime(t)
		r.Bin = bin
		c := startCounter(t, r, bundle)
		images := filepath.Join(t.TempDir(), "images")
		last := checkpointCounter(t, r, c, images)
		restored := r.runPiped(t, newID(t), "restore", "-d", "--image-path", images, "--bundle", bundle)
		if got := atoi(t, restored.next(t)); got != last+1 {
			t.Errorf("%s: restored counter printed %d first, want %d", bin, got, last+1)
		}
		if st := r.State(restored.ID); st.Status != "running" || st.Pid != restored.Pid {
			t.Errorf("%s: restored container %s pid %d, want running pid %d", bin, st.Status, st.Pid, restored.Pid)
		}
		r.Must("delete", "--force", restored.ID)
		if pid := restored.Pid; pid > 0 {
			waitFor(t, 10*time.Second, "the restored init to be gone", func() bool { return !pidAlive(pid) })
		}
	}
}

// TestCriuForegroundRestore: restore without --detach waits for the
// restored process, exits with its status (137 for SIGKILL) and deletes
// the container, as run does.
func TestCriuForegroundRestore(t *testing.T) {
	r := newRuntime(t)
	bundle := newBundle(t, shell(counterScript))
	c := startCounter(t, r, bundle)
	images := filepath.Join(t.TempDir(), "images")
	last := checkpointCounter(t, r, c, images)
	pr, pw, err := os.Pipe()
	noErr(t, err)
	id := newID(t)
	cmd := r.Command("restore", "--image-path", images, "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = pw, pw
	noErr(t, cmd.Start())
	pw.Close()
	restored := &pipedContainer{ID: id, lines: pipeLines(pr)}
	if got := atoi(t, restored.next(t)); got != last+1 {
		t.Fatalf("restored counter printed %d first, want %d", got, last+1)
	}
	st := r.State(id)
	if st.Status != "running" {
		t.Fatalf("restored container is %s", st.Status)
	}
	r.Must("kill", id, "KILL")
	if code := exitCode(t, cmd, cmd.Wait()); code != 137 {
		t.Errorf("foreground restore exited %d, want 137 (the process's SIGKILL)", code)
	}
	assertRestoredGone(t, r, id, st.Pid)
}
