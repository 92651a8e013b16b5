package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// forwardedSignals are the signals a foreground run or exec passes on to
// its process: all from 1 to 64 but those nobody can catch (SIGKILL,
// SIGSTOP), those it never passes on (SIGCHLD, SIGURG, SIGPROF), and 32
// to 34, which the C library keeps for itself. SIGTERM comes last: it
// ends sigrecord.
func forwardedSignals() []unix.Signal {
	var sigs []unix.Signal
	for sig := unix.Signal(1); sig <= 64; sig++ {
		switch sig {
		case unix.SIGKILL, unix.SIGSTOP, unix.SIGCHLD, unix.SIGURG, unix.SIGPROF, unix.SIGTERM, 32, 33, 34:
		default:
			sigs = append(sigs, sig)
		}
	}
	return append(sigs, unix.SIGTERM)
}

// TestForegroundForwardsEverySignal: each signal a caller may send to a
// foreground run or exec reaches its process exactly once, whether the
// runtime catches it in C (nsenter.CatchSignals, the default) or, through
// the test hook, all of them through os/signal: the two paths pass on the
// same signals, and each run shows in its --debug log the path it took.
func TestForegroundForwardsEverySignal(t *testing.T) {
	r := newRuntime(t)
	want := forwardedSignals()
	for _, command := range []string{"run", "exec"} {
		for _, goPath := range []bool{false, true} {
			name := command + "/C"
			if goPath {
				name = command + "/os-signal"
			}
			t.Run(name, func(t *testing.T) {
				got := sendEverySignal(t, r, command, goPath, want)
				if !slices.Equal(got, want) {
					t.Errorf("the process received %v\nwant %v", got, want)
				}
			})
		}
	}
}

// sendEverySignal starts /sigrecord through a foreground `run` or `exec`,
// sends it sigs one after the other, each once the one before arrived,
// and returns the signals it printed.
func sendEverySignal(t *testing.T, r *Runtime, command string, goPath bool, sigs []unix.Signal) []unix.Signal {
	t.Helper()
	logFile := filepath.Join(t.TempDir(), "log")
	args := []string{"--debug", "--log", logFile}
	if command == "run" {
		bundle := newBundle(t, withArgs("/sigrecord"))
		withStaticProgram(t, bundle, "sigrecord")
		args = append(args, "run", "--bundle", bundle, newID(t))
	} else {
		bundle := newBundle(t, withArgs("sleep", "1000"))
		withStaticProgram(t, bundle, "sigrecord")
		c := r.Create(bundle)
		r.Must("start", c.ID)
		args = append(args, "exec", c.ID, "/sigrecord")
	}
	out := tempFile(t)
	cmd := r.Command(args...)
	cmd.Stdout, cmd.Stderr = out, out
	if goPath {
		cmd.Env = append(os.Environ(), "OCIRT_TEST_SIGNALS_GO_PATH=1")
	}
	noErr(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := func() []string { return strings.Fields(readFile(t, out.Name())) }
	waitFor(t, 10*time.Second, "sigrecord to be ready", func() bool { return slices.Contains(lines(), "ready") })
	for i, sig := range sigs {
		noErr(t, cmd.Process.Signal(sig))
		waitFor(t, 5*time.Second, fmt.Sprintf("%s (%d) to reach the process", unix.SignalName(sig), sig),
			func() bool { return len(lines()) > i+1 })
	}
	if code := exitCode(t, cmd, cmd.Wait()); code != 0 {
		t.Fatalf("%s exited %d after SIGTERM; output %q", command, code, lines())
	}
	var got []unix.Signal
	for _, field := range lines()[1:] {
		n, err := strconv.Atoi(field)
		if err != nil {
			t.Fatalf("sigrecord printed %q; output %q", field, lines())
		}
		got = append(got, unix.Signal(n))
	}
	log := readFile(t, logFile)
	took := "signals: 49 caught in C, 7 through os/signal"
	if goPath {
		took = "signals: all caught through os/signal"
	}
	if !strings.Contains(log, took) {
		t.Errorf("the --debug log lacks %q:\n%s", took, log)
	}
	return got
}

// A foreground run or exec catches SIGPIPE to pass it on, and the Go
// runtime kills a process at a failed write to its own stdout or stderr
// unless it subscribed to SIGPIPE through os/signal: with both on a pipe
// nobody reads, the runtime still reports its failure with its own exit
// status, as with a file there and as runc does, instead of dying of
// SIGPIPE at the first line of its error.
func TestForegroundOutlivesItsReaders(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	bundle := newBundle(t, withArgs("no-such-command"))
	for _, args := range [][]string{
		{"exec", c.ID, "no-such-command"},
		{"run", "--bundle", bundle, newID(t)},
	} {
		t.Run(args[0], func(t *testing.T) {
			run := func(out *os.File) syscall.WaitStatus {
				cmd := r.Command(args...)
				cmd.Stdout, cmd.Stderr = out, out
				_ = cmd.Run()
				return cmd.ProcessState.Sys().(syscall.WaitStatus)
			}
			want := run(tempFile(t))
			if want.Signaled() || want.ExitStatus() == 0 {
				t.Fatalf("%s with its output in a file ended %v, want a failure", args[0], want)
			}
			var p [2]int
			noErr(t, unix.Pipe2(p[:], unix.O_CLOEXEC))
			noErr(t, unix.Close(p[0]))
			pipe := os.NewFile(uintptr(p[1]), "pipe nobody reads")
			defer pipe.Close()
			got := run(pipe)
			if got.Signaled() {
				t.Fatalf("%s with its output on a pipe nobody reads died of %v", args[0], got.Signal())
			}
			if got.ExitStatus() != want.ExitStatus() {
				t.Errorf("%s with its output on a pipe nobody reads exited %d, want %d as with a file", args[0], got.ExitStatus(), want.ExitStatus())
			}
		})
	}
}
