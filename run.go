package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/console"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/libcontainer"
	"github.com/oci-rt/oci-rt/libcontainer/configs"
	"github.com/oci-rt/oci-rt/nsenter"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and start a container, wait for it and exit with its status",
	ArgsUsage: "<container-id>",
	Flags: append(append([]cli.Flag{}, createFlags...),
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container runs"},
		&cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
	),
	Action: runAction,
}

func runAction(ctx *cli.Context) error {
	listenFDs, _ := socketActivation()
	if err := checkCallerFDs(listenFDs + ctx.Int("preserve-fds")); err != nil {
		return err
	}
	id, bundle, err := runTarget(ctx)
	if err != nil {
		return err
	}
	// Before anything a second start of the runtime would do again.
	libcontainer.ReexecInOwnUserNamespace(bundle, ctx.Bool("systemd-cgroup"))
	detach := ctx.Bool("detach")
	// The container's orphans must come back to us to be reaped, not to
	// the host's init.
	if !detach {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("become subreaper: %w", err)
		}
	}
	var signals *signalHold
	if !detach {
		signals = holdSignals()
	}
	// Without a console socket, a foreground run with a terminal serves
	// the pty itself (create uses the pair only when the config asks for
	// a terminal).
	var ours, theirs *os.File
	if !detach && ctx.String("console-socket") == "" {
		var err error
		if ours, theirs, err = consolePair(); err != nil {
			return err
		}
		defer ours.Close()
	}
	c, err := createContainer(ctx, id, bundle, theirs)
	if theirs != nil {
		theirs.Close()
	}
	if err != nil {
		return err
	}
	var proxy *consoleProxy
	if terminal, err := c.Terminal(); err == nil && terminal && ours != nil {
		if proxy, err = serveConsole(ours); err != nil {
			_ = c.Delete(true)
			return err
		}
	}
	if signals != nil {
		signals.ready()
	}
	if err := c.Start(); err != nil {
		if proxy != nil {
			proxy.Close()
		}
		_ = c.Delete(true)
		return err
	}
	if detach {
		return nil
	}
	status := waitForward(c.State.InitPid, signals, proxy)
	if proxy != nil {
		proxy.Close()
	}
	if !ctx.Bool("keep") {
		if err := c.Delete(true); err != nil {
			return err
		}
	}
	if status != 0 {
		return &exitError{status: status}
	}
	return nil
}

// runTarget is run's container ID and bundle. Besides runc's form (the ID,
// with --bundle or the current directory), `run DIR/` runs the bundle in
// DIR under DIR's base name: an argument with a slash can never be an ID,
// so a directory holding a config.json given that way is unambiguous.
func runTarget(ctx *cli.Context) (id, bundle string, err error) {
	arg := ctx.Args().First()
	if ctx.NArg() == 1 && !ctx.IsSet("bundle") && strings.Contains(arg, "/") {
		if fi, err := os.Stat(filepath.Join(arg, "config.json")); err == nil && fi.Mode().IsRegular() {
			id = filepath.Base(filepath.Clean(arg))
			if err := configs.ValidateID(id); err != nil {
				return "", "", fmt.Errorf("bundle %s: its name cannot be a container ID: %w", arg, err)
			}
			return id, arg, nil
		}
	}
	id, err = containerID(ctx, 1, 1)
	return id, ctx.String("bundle"), err
}

// signalHold catches every signal, so that those arriving while a
// foreground process starts are passed on once it runs (waitForward).
// Most are caught by a C handler that writes them into a pipe
// (nsenter.CatchSignals): the Go runtime takes a signal only through
// os/signal, and its first subscription to each of those it does not
// handle itself starts the runtime's signal thread and makes a round
// trip to it, 2 to 4 ms of CPU per run or exec here for all of them
// (SIGPIPE and SIGWINCH alone, 4 to 7% of an exec's). The faults the runtime
// must keep handling itself go through os/signal, which for them needs
// no such thread (see signalsForRuntime), and SIGCHLD, SIGURG and
// SIGPROF, which are never passed on, are not caught. The subscription
// runs beside the container's setup; ready waits for it.
type signalHold struct {
	signals    chan os.Signal
	subscribed chan struct{}
}

// signalsForRuntime are passed on through os/signal because the Go
// runtime must still see them: a fault it raises itself must still crash
// it (sent by kill, the faults are passed on).
var signalsForRuntime = []os.Signal{
	unix.SIGILL, unix.SIGTRAP, unix.SIGBUS, unix.SIGFPE, unix.SIGSEGV,
	unix.SIGSTKFLT, unix.SIGSYS,
}

// signalsForC are the signals signalHold catches in C: every one from 1
// to 64 but those that cannot be caught, those for the runtime, those
// never passed on, and 32 to 34, which the C library keeps for itself.
func signalsForC() []unix.Signal {
	var sigs []unix.Signal
	for sig := unix.Signal(1); sig <= 64; sig++ {
		switch {
		case sig == unix.SIGKILL || sig == unix.SIGSTOP:
		case sig == unix.SIGCHLD || sig == unix.SIGURG || sig == unix.SIGPROF:
		case sig >= 32 && sig <= 34:
		case slices.Contains(signalsForRuntime, os.Signal(sig)):
		default:
			sigs = append(sigs, sig)
		}
	}
	return sigs
}

func holdSignals() *signalHold {
	writeStdioThroughDuplicates()
	h := &signalHold{signals: make(chan os.Signal, 64), subscribed: make(chan struct{})}
	go func() {
		defer close(h.subscribed)
		if !signalCatcherDisabled() {
			inC := signalsForC()
			err := h.catchInC(inC)
			if err == nil {
				signal.Notify(h.signals, signalsForRuntime...)
				libcontainer.Log.Debugf("signals: %d caught in C, %d through os/signal", len(inC), len(signalsForRuntime))
				return
			}
			libcontainer.Log.Debugf("signals: catching them in C failed (%v)", err)
		}
		// Where the pipe cannot be made (no fd left), os/signal takes
		// them all; a signal already caught in C still arrives.
		signal.Notify(h.signals)
		libcontainer.Log.Record("debug", "signals: all caught through os/signal")
	}()
	return h
}

// keptStdio holds the files of fds 1 and 2 once os.Stdout and os.Stderr
// are duplicates: a dropped file would close its fd when collected.
var keptStdio []*os.File

// writeStdioThroughDuplicates makes os.Stdout and os.Stderr, and the log
// where it goes to stderr, duplicates of fds 1 and 2. The Go runtime
// kills a process whose write to its own fd 1 or 2 fails with EPIPE (as
// SIGPIPE kills a C program) unless it subscribed to SIGPIPE through
// os/signal, and holdSignals catches SIGPIPE in C: a foreground run or
// exec must outlive a reader of its stdout or stderr that went away, as
// runc's, subscribed to every signal, does. A write to a duplicate fails
// like any other.
func writeStdioThroughDuplicates() {
	for _, std := range []struct {
		fd   uintptr
		file **os.File
	}{{1, &os.Stdout}, {2, &os.Stderr}} {
		dup, err := unix.FcntlInt(std.fd, unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			continue // no fd left: the write that would fail is unlikely
		}
		f := os.NewFile(uintptr(dup), (*std.file).Name())
		if libcontainer.Log.Out == *std.file {
			libcontainer.Log.Out = f
		}
		keptStdio = append(keptStdio, *std.file)
		*std.file = f
	}
}

// catchInC has the C handler catch sigs into a pipe, which a goroutine
// reads into h.signals.
func (h *signalHold) catchInC(sigs []unix.Signal) error {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return err
	}
	caught := os.NewFile(uintptr(fds[0]), "caught signals")
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := caught.Read(buf)
			for _, b := range buf[:n] {
				h.signals <- unix.Signal(b)
			}
			if err != nil {
				return
			}
		}
	}()
	return nsenter.CatchSignals(fds[1], sigs)
}

// ready returns once every signal is caught.
func (h *signalHold) ready() { <-h.subscribed }

// consolePair is a socket pair standing in for --console-socket when we
// serve the process's pty ourselves: init sends the pty master to theirs
// and serveConsole reads it from ours.
func consolePair() (ours, theirs *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("console socket pair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "console"), os.NewFile(uintptr(fds[1]), "console"), nil
}

// consoleProxy copies between our stdio and a process's pty master.
type consoleProxy struct {
	pty console.Console
	// user is the caller's terminal, whose size the pty follows; nil
	// without one.
	user console.Console
	// outDone is closed when the pty's output is drained (EOF or EIO once
	// no process holds the pty any more).
	outDone chan struct{}
}

// restoreTerminal gives the caller's terminal back its own modes; fail
// calls it too, so that no exit path leaves the terminal raw.
var restoreTerminal = func() {}

// serveConsole receives the pty master and copies between it and our own
// stdio, resizing it with our terminal.
func serveConsole(sock *os.File) (*consoleProxy, error) {
	master, err := libcontainer.ReceiveConsole(sock)
	if err != nil {
		return nil, err
	}
	pty, err := console.ConsoleFromFile(master)
	if err != nil {
		return nil, err
	}
	// Our own terminal turns each newline into CR LF already; the
	// container's pty doing it as well would end every line in \r\r\n.
	if err := console.ClearONLCR(pty.Fd()); err != nil {
		pty.Close()
		return nil, fmt.Errorf("clear ONLCR on the container's pty: %w", err)
	}
	p := &consoleProxy{pty: pty, outDone: make(chan struct{})}
	if user := callerTerminal(); user != nil {
		if err := user.SetRaw(); err != nil {
			pty.Close()
			return nil, fmt.Errorf("set the terminal raw: %w", err)
		}
		restoreTerminal = func() { _ = user.Reset() }
		p.user = user
		p.resize()
	}
	// Reading a terminal that belongs to the foreground job would stop us
	// (or, with SIGTTIN caught, retry forever).
	if !isBackgroundTerminal(os.Stdin) {
		go func() { _, _ = io.Copy(pty, os.Stdin) }()
	}
	go func() {
		_, _ = io.Copy(os.Stdout, pty)
		close(p.outDone)
	}()
	return p, nil
}

// callerTerminal is the terminal the user sees, found as runc finds it:
// stderr, stdout or stdin, else the controlling terminal. It is nil when
// there is none, and when we run in the background: changing the modes of
// the foreground job's terminal would raise SIGTTOU, which we catch to
// forward, and the kernel would retry the change forever.
func callerTerminal() console.Console {
	for _, f := range []*os.File{os.Stderr, os.Stdout, os.Stdin} {
		if c, err := console.ConsoleFromFile(f); err == nil {
			if isBackgroundTerminal(f) {
				return nil
			}
			return c
		}
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	c, err := console.ConsoleFromFile(tty)
	if err != nil || isBackgroundTerminal(tty) {
		tty.Close()
		return nil
	}
	return c
}

// isBackgroundTerminal reports whether f is our controlling terminal and
// another process group has its foreground.
func isBackgroundTerminal(f *os.File) bool {
	fg, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP)
	return err == nil && fg != unix.Getpgrp()
}

// Close passes on what the process wrote before it exited, waiting only
// briefly (a process it left behind may hold the pty open), and gives the
// user's terminal back its own modes.
func (p *consoleProxy) Close() {
	select {
	case <-p.outDone:
	case <-time.After(time.Second):
	}
	restoreTerminal()
}

// resize gives the pty the size of the caller's terminal (the kernel
// tells the pty's foreground process); waitForward calls it at each
// SIGWINCH.
func (p *consoleProxy) resize() {
	if p.user == nil {
		return
	}
	if size, err := p.user.Size(); err == nil {
		_ = p.pty.Resize(size)
	}
}

// waitForward passes signals on to pid until it exits, reaps everything
// that comes back to us meanwhile, and returns the exit status in shell
// terms (128+signal for a killed process). Signals stay caught afterwards:
// what is left to do is the container's cleanup, which a Ctrl-C must not
// cut short, and undoing the subscription would cost as much as making it.
func waitForward(pid int, signals *signalHold, proxy *consoleProxy) int {
	done := make(chan int, 1)
	go func() {
		for {
			var ws unix.WaitStatus
			wpid, err := unix.Wait4(-1, &ws, 0, nil)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				done <- 255
				return
			}
			if wpid == pid {
				if ws.Signaled() {
					done <- 128 + int(ws.Signal())
				} else {
					done <- ws.ExitStatus()
				}
				return
			}
		}
	}()
	for {
		select {
		case status := <-done:
			return status
		case sig := <-signals.signals:
			s := sig.(unix.Signal)
			switch {
			case s == unix.SIGCHLD || s == unix.SIGURG:
			case s == unix.SIGWINCH && proxy != nil:
				proxy.resize()
			default:
				_ = unix.Kill(pid, s)
			}
		}
	}
}
