// Command oci-rt is an OCI container runtime, a drop-in replacement for
// runc: same commands, flags, output and exit codes.

// The runtime never needs a container-aware GOMAXPROCS, and computing one
// keeps host cgroup files open for the process's whole life: the
// container's init would hold them until execve. (The Go runtime still
// reads /proc/self/cgroup, /proc/self/mountinfo and the CPU quota once at
// start whatever these say; no setting avoids that read.)
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/libcontainer"
	"github.com/oci-rt/oci-rt/nsenter"
)

// Set at build time by the Makefile.
var (
	version = "0.1.0"
	commit  = "unknown"
)

func main() {
	// Every runtime process lives for milliseconds and nobody reads its
	// heap profile; with sampling on, about one allocation in each 512 KiB
	// unwinds its stack and files it in the profile's hash table, fresh
	// memory whose first touches are page faults.
	runtime.MemProfileRate = 0
	// The container's init runs with one P (its environment says so, which
	// the runtime reads at start for free).
	if libcontainer.IsInit() {
		libcontainer.Init()
		return
	}
	// The CLI too: a command is a chain of system calls and waits with
	// little to run beside it, and a second P only brings threads that
	// spin looking for work and wake each other, and the runtime's monitor
	// thread, at every blocking call. Measured with alternating builds:
	// exec 7% and state 6% less CPU, a run 2.5%, and fifty concurrent
	// runs 6% more per second. The start-up normally gives the runtime
	// one P already (nsenter's startup.c), which leaves this nothing to
	// do; where it did not, it costs a stop of the world that nothing
	// else runs in yet. The monitor thread still wakes at every blocking
	// call, unless its timer slack lets it sleep longer.
	runtime.GOMAXPROCS(1)
	libcontainer.ResumeInOwnUserNamespace()
	app := newApp()
	if err := app.Run(os.Args); err != nil {
		fail(app, err)
	}
}

func newApp() *cli.App {
	cli.VersionPrinter = func(*cli.Context) {
		fmt.Printf("oci-rt version %s\ncommit: %s\nspec: %s\n", version, commit, specs.Version)
	}
	root, xdgRoot := defaultRoot()
	app := &cli.App{
		Name:    "oci-rt",
		Usage:   "run OCI containers, a drop-in replacement for runc",
		Version: version,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: root, Usage: "directory for container state"},
			&cli.StringFlag{Name: "log", Usage: "append the runtime's log records to this file (default: errors to stderr)"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.BoolFlag{Name: "debug", Usage: "log debug records of each step (to --log, or stderr without it)"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "enable systemd cgroup support, expects cgroupsPath to be of form \"slice:prefix:name\" for e.g. \"system.slice:runc:434234\""},
			&cli.StringFlag{Name: "rootless", Value: "auto", Usage: "rootless cgroup handling: true, false or auto"},
			&cli.StringFlag{Name: "criu", Value: "criu", Usage: "path to the criu binary used for checkpoint and restore"},
		},
		Commands: []*cli.Command{
			createCommand, startCommand, runCommand, stateCommand, listCommand,
			killCommand, deleteCommand, featuresCommand, specCommand,
			execCommand, psCommand, pauseCommand, resumeCommand, eventsCommand, updateCommand,
			checkpointCommand, restoreCommand,
		},
		Before: func(ctx *cli.Context) error {
			// Only the command about to run has its flags looked up:
			// the others are left as they are.
			if c := ctx.App.Command(ctx.Args().First()); c != nil {
				c.Flags = withCachedNames(c.Flags)
			}
			if err := setupLogging(ctx.String("log"), ctx.String("log-format"), ctx.Bool("debug")); err != nil {
				return err
			}
			cgroups.Warn = libcontainer.Warn
			if n := nsenter.StartupCPUs(); n > 0 {
				libcontainer.Log.Debugf("the Go runtime started on one CPU (one P) and its threads stay there; what it starts gets the caller's %d CPUs", n)
			}
			if xdgRoot && !ctx.IsSet("root") {
				if err := prepareXDGRoot(root); err != nil {
					return err
				}
			}
			_, err := parseRootless(ctx.String("rootless"))
			return err
		},
		// Errors are reported once, by fail, in the format clients parse.
		// An unknown command or help topic is urfave/cli's own "No help
		// topic" error with exit status 3, as in runc.
		ExitErrHandler:         func(*cli.Context, error) {},
		UseShortOptionHandling: true,
	}
	app.Flags = withCachedNames(app.Flags)
	return app
}

// defaultRoot is runc's default state directory with oci-rt's name:
// $XDG_RUNTIME_DIR/oci-rt for a caller who is not the host's root, else
// /run/oci-rt (also when XDG_RUNTIME_DIR is unset, where an unprivileged
// caller then fails to create it, as with runc). The second result says
// whether XDG_RUNTIME_DIR was used.
func defaultRoot() (string, bool) {
	dir, set := os.LookupEnv("XDG_RUNTIME_DIR")
	if set && dir != "" && honorXDGRuntimeDir(libcontainer.CallerUID(), cgroups.InUserNamespace(), os.LookupEnv) {
		return filepath.Join(dir, "oci-rt"), true
	}
	return "/run/oci-rt", false
}

// honorXDGRuntimeDir tells whether the caller's XDG_RUNTIME_DIR is where
// its state goes: always for a non-root euid; for euid 0 only inside a
// user namespace whose USER is not root, which is rootless Podman (root in
// its own namespace, on behalf of an ordinary user). The host's root, and
// root in a container run by root, keep /run.
func honorXDGRuntimeDir(euid int, inUserNS bool, lookupEnv func(string) (string, bool)) bool {
	if euid != 0 {
		return true
	}
	if !inUserNS {
		return false
	}
	user, set := lookupEnv("USER")
	return !set || user != "root"
}

// prepareXDGRoot makes the default state directory under XDG_RUNTIME_DIR
// with the sticky bit, which the XDG base directory specification
// requires of files there that must survive its periodic clean-up.
func prepareXDGRoot(root string) error {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("state directory %s: %w (the directory in $XDG_RUNTIME_DIR must be writable by the user)", root, err)
	}
	if err := os.Chmod(root, 0o700|os.ModeSticky); err != nil {
		return fmt.Errorf("state directory %s: %w (check the permissions of the directory in $XDG_RUNTIME_DIR)", root, err)
	}
	return nil
}

// exitError carries an exit status other than 1 (the container's, for run
// and exec) with no message of its own.
type exitError struct{ status int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.status) }

// failedWith reports err with an exit status other than 1 (an exec that
// failed before its process ran: 255, as runc's).
type failedWith struct {
	err    error
	status int
}

func (e *failedWith) Error() string { return e.err.Error() }
func (e *failedWith) Unwrap() error { return e.err }

// fail reports err and exits. With --log, the message goes plain to
// stderr and as a record to the log; without, stderr gets the record, in
// the --log-format, as runc writes it.
func fail(_ *cli.App, err error) {
	restoreTerminal()
	var exit *exitError
	if errors.As(err, &exit) {
		os.Exit(exit.status)
	}
	status := 1
	var failed *failedWith
	var coder cli.ExitCoder
	switch {
	case errors.As(err, &failed):
		status = failed.status
	case errors.As(err, &coder):
		status = coder.ExitCode()
	}
	msg := strings.Join(strings.Fields(err.Error()), " ")
	libcontainer.Log.Record("error", msg)
	if libcontainer.Log.Out != os.Stderr {
		fmt.Fprintln(os.Stderr, msg)
	}
	os.Exit(status)
}

// setupLogging points the runtime's records where runc's go: the --log
// file, else stderr, debug records only with --debug. Nothing but a
// failure or a warning the spec demands (a failed poststop hook) writes
// one without --debug, so stderr stays empty on success for the clients
// that parse it.
func setupLogging(path, format string, debug bool) error {
	if format != "text" && format != "json" {
		return fmt.Errorf("invalid log-format: %s", format)
	}
	log := &libcontainer.Logger{Out: os.Stderr, JSON: format == "json", Debug: debug}
	if path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return fmt.Errorf("open log file: %w", err)
		}
		log.Out = f
	} else {
		log.Color = !log.JSON && isTerminal(os.Stderr)
	}
	libcontainer.Log = log
	return nil
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
