// Command oci-rt is an OCI container runtime, a drop-in replacement for
// runc: same commands, flags, output and exit codes.

// The runtime never needs a container-aware GOMAXPROCS, and computing one
// keeps host cgroup files open for the process's whole life: the
// container's init would hold them until execve.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/libcontainer"
	_ "github.com/oci-rt/oci-rt/nsenter" // namespace setup before the Go runtime, for init
)

// Set at build time by the Makefile.
var (
	version = "0.1.0"
	commit  = "unknown"
)

func main() {
	if libcontainer.IsInit() {
		libcontainer.Init()
		return
	}
	app := newApp()
	if err := app.Run(os.Args); err != nil {
		fail(app, err)
	}
}

func newApp() *cli.App {
	cli.VersionPrinter = func(*cli.Context) {
		fmt.Printf("oci-rt version %s\ncommit: %s\nspec: %s\n", version, commit, specs.Version)
	}
	app := &cli.App{
		Name:    "oci-rt",
		Usage:   "run OCI containers, a drop-in replacement for runc",
		Version: version,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: defaultRoot(), Usage: "directory for container state"},
			&cli.StringFlag{Name: "log", Usage: "append errors to this file"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.BoolFlag{Name: "debug", Usage: "accepted for runc compatibility"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "accepted for runc compatibility; cgroupfs is used"},
			&cli.StringFlag{Name: "rootless", Value: "auto", Usage: "accepted for runc compatibility: true, false or auto"},
			&cli.StringFlag{Name: "criu", Usage: "accepted for runc compatibility; checkpoint is not supported"},
		},
		Commands: []*cli.Command{
			createCommand, startCommand, runCommand, stateCommand, listCommand,
			killCommand, deleteCommand, featuresCommand, specCommand,
			execCommand, psCommand, pauseCommand, resumeCommand, eventsCommand, updateCommand,
		},
		Before: func(ctx *cli.Context) error {
			logPath, logFormat = ctx.String("log"), ctx.String("log-format")
			switch logFormat {
			case "text", "json":
			default:
				return fmt.Errorf("unknown log format %q: use text or json", ctx.String("log-format"))
			}
			if logPath != "" {
				libcontainer.Warn = func(msg string) { writeLog("warning", msg) }
				cgroups.Warn = libcontainer.Warn
			}
			switch ctx.String("rootless") {
			case "true", "false", "auto":
			default:
				return fmt.Errorf("invalid --rootless value %q: use true, false or auto", ctx.String("rootless"))
			}
			return nil
		},
		CommandNotFound: func(ctx *cli.Context, name string) {
			fail(ctx.App, fmt.Errorf("unknown command %q", name))
		},
		// Errors are reported once, by fail, in the format clients parse.
		ExitErrHandler:         func(*cli.Context, error) {},
		HideHelpCommand:        true,
		UseShortOptionHandling: true,
	}
	return app
}

func defaultRoot() string {
	if os.Geteuid() != 0 {
		if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
			return filepath.Join(dir, "oci-rt")
		}
	}
	return "/run/oci-rt"
}

// exitError carries an exit status other than 1 (the container's, for run
// and exec) with no message of its own.
type exitError struct{ status int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.status) }

// fail reports err on stderr and, with --log, in the log, then exits.
func fail(app *cli.App, err error) {
	var exit *exitError
	if errors.As(err, &exit) {
		os.Exit(exit.status)
	}
	msg := strings.Join(strings.Fields(err.Error()), " ")
	fmt.Fprintln(os.Stderr, msg)
	writeLog("error", msg)
	os.Exit(1)
}

// The --log target, known once the global flags are parsed.
var logPath, logFormat string

// writeLog appends msg at level (error, warning) to the --log file in the
// chosen format; clients (containerd) report the last error line of a JSON
// log to the user.
func writeLog(level, msg string) {
	if logPath == "" {
		return
	}
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if logFormat == "json" {
		line, _ := json.Marshal(map[string]string{"level": level, "msg": msg, "time": now})
		fmt.Fprintf(f, "%s\n", line)
		return
	}
	fmt.Fprintf(f, "time=%q level=%s msg=%q\n", now, level, msg)
}
