package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/oci-rt/oci-rt/libcontainer"
	"github.com/oci-rt/oci-rt/libcontainer/proc"
)

var execCommand = &cli.Command{
	Name:      "exec",
	Usage:     "run a process in a running container",
	ArgsUsage: "<container-id> [command [args...]]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "JSON file with the process (runtime-spec Process)"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the process runs"},
		&cli.StringFlag{Name: "pid-file", Usage: "file to write the process's host pid to"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket to send the pty master to"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "give the process a pseudo-terminal"},
		&cli.StringFlag{Name: "cwd", Usage: "working directory in the container"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set an environment variable (KEY=VALUE)"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "numeric uid[:gid]"},
		&cli.Int64SliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "additional group ids"},
		&cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability (never to the inheritable set)"},
		&cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs for the process"},
		&cli.StringFlag{Name: "apparmor", Usage: "AppArmor profile for the process"},
		&cli.StringFlag{Name: "process-label", Usage: "SELinux label for the process"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass this many fds from 3 up to the process"},
		&cli.StringFlag{Name: "cgroup", Usage: "sub-cgroup of the container's to run the process in"},
		&cli.BoolFlag{Name: "ignore-paused", Usage: "allow exec in a paused container"},
	},
	Action: func(ctx *cli.Context) error {
		if _, err := containerID(ctx, 1, -1); err != nil {
			return err
		}
		// Scripts and engines tell a process that never ran from one that
		// failed by its status: runc's exec exits 255 for the former.
		err := execAction(ctx)
		if err == nil || isExitStatus(err) {
			return err
		}
		return &failedWith{err: fmt.Errorf("exec failed: %w", err), status: 255}
	},
}

func isExitStatus(err error) bool {
	var exit *exitError
	return errors.As(err, &exit)
}

func execAction(ctx *cli.Context) error {
	if err := checkCallerFDs(ctx.Int("preserve-fds")); err != nil {
		return err
	}
	_, c, err := loadContainer(ctx, 1, -1)
	if err != nil {
		return err
	}
	p, err := execProcess(ctx, c)
	if err != nil {
		return err
	}
	detach := ctx.Bool("detach")
	if detach && p.Terminal && ctx.String("console-socket") == "" {
		return errors.New("cannot allocate a pseudo-terminal for a detached exec without --console-socket")
	}
	pidFile, err := pidFileFlag(ctx)
	if err != nil {
		return err
	}
	var signals *signalHold
	if !detach {
		signals = holdSignals()
	}
	// Without a console socket a foreground exec with a terminal serves
	// the pty itself. It takes the pty over before the process runs, so
	// that not even its first line is written with the pty's own modes.
	var ours, theirs *os.File
	var proxy *consoleProxy
	if !detach && p.Terminal && ctx.String("console-socket") == "" {
		if ours, theirs, err = consolePair(); err != nil {
			return err
		}
		defer ours.Close()
	}
	var beforeRelease func() error
	if !detach {
		beforeRelease = func() error {
			signals.ready()
			if ours == nil {
				return nil
			}
			proxy, err = serveConsole(ours)
			return err
		}
	}
	pid, err := c.Exec(&libcontainer.ExecOptions{
		Process:       p,
		ConsoleSocket: ctx.String("console-socket"),
		ConsoleConn:   theirs,
		PreserveFDs:   ctx.Int("preserve-fds"),
		Stdio:         [3]*os.File{os.Stdin, os.Stdout, os.Stderr},
		SubCgroup:     ctx.String("cgroup"),
		IgnorePaused:  ctx.Bool("ignore-paused"),
		PidFile:       pidFile,
		BeforeRelease: beforeRelease,
	})
	if theirs != nil {
		theirs.Close()
	}
	if err != nil {
		return err
	}
	if detach {
		return nil
	}
	status := waitForward(pid, signals, proxy)
	if proxy != nil {
		proxy.Close()
	}
	if status != 0 {
		return &exitError{status: status}
	}
	return nil
}

// execProcess is the process to exec: the --process file as given, or the
// container's own process with the positional command and the flags
// applied, as runc builds it.
func execProcess(ctx *cli.Context, c *libcontainer.Container) (*specs.Process, error) {
	if path := ctx.String("process"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read --process: %w", err)
		}
		var p specs.Process
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("parse --process %s: %w", path, err)
		}
		return &p, nil
	}
	spec, err := c.ProcessSpec()
	if err != nil {
		return nil, err
	}
	p := spec.Process
	if p == nil {
		p = &specs.Process{}
	}
	p.Args = ctx.Args().Tail()
	if len(p.Args) == 0 {
		return nil, errors.New("exec: no command given (use --process or give the command after the container id)")
	}
	p.Terminal = ctx.Bool("tty")
	if cwd := ctx.String("cwd"); cwd != "" {
		p.Cwd = cwd
	}
	p.Env = append(p.Env, ctx.StringSlice("env")...)
	if u := ctx.String("user"); u != "" {
		uid, gid, hasGID := strings.Cut(u, ":")
		n, err := strconv.ParseUint(uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--user %q: uid must be a number", u)
		}
		p.User.UID = uint32(n)
		if hasGID {
			n, err := strconv.ParseUint(gid, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("--user %q: gid must be a number", u)
			}
			p.User.GID = uint32(n)
		}
		p.User.Username = ""
	}
	for _, g := range ctx.Int64Slice("additional-gids") {
		if g < 0 || g > 1<<32-1 {
			return nil, fmt.Errorf("--additional-gids %d: not a valid gid", g)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	if caps := ctx.StringSlice("cap"); len(caps) > 0 {
		p.Capabilities = proc.WithExecCaps(p.Capabilities, caps)
	}
	if ctx.Bool("no-new-privs") {
		p.NoNewPrivileges = true
	}
	if v := ctx.String("apparmor"); v != "" {
		p.ApparmorProfile = v
	}
	if v := ctx.String("process-label"); v != "" {
		p.SelinuxLabel = v
	}
	return p, nil
}
