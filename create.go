package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/oci-rt/oci-rt/libcontainer"
)

// createFlags are shared by create and run.
var createFlags = []cli.Flag{
	&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "path to the OCI bundle"},
	&cli.StringFlag{Name: "console-socket", Usage: "unix socket to send the pty master to"},
	&cli.StringFlag{Name: "pid-file", Usage: "file to write the init's host pid to"},
	&cli.BoolFlag{Name: "no-pivot", Usage: "switch root with MS_MOVE and chroot instead of pivot_root"},
	&cli.BoolFlag{Name: "no-new-keyring", Usage: "keep the caller's session keyring"},
	&cli.IntFlag{Name: "preserve-fds", Usage: "pass this many fds from 3 up to the process"},
}

var createCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a container, its init waiting for start",
	ArgsUsage: "<container-id>",
	Flags:     createFlags,
	Action: func(ctx *cli.Context) error {
		listenFDs, _ := socketActivation()
		if err := checkCallerFDs(listenFDs + ctx.Int("preserve-fds")); err != nil {
			return err
		}
		id, err := containerID(ctx, 1, 1)
		if err != nil {
			return err
		}
		libcontainer.ReexecInOwnUserNamespace(ctx.String("bundle"), ctx.Bool("systemd-cgroup"))
		_, err = createContainer(ctx, id, ctx.String("bundle"), nil)
		return err
	},
}

// createContainer runs create with the flags of create or run.
func createContainer(ctx *cli.Context, id, bundle string, consoleConn *os.File) (*libcontainer.Container, error) {
	rootless, err := rootlessCgroups(ctx)
	if err != nil {
		return nil, err
	}
	if n := ctx.Int("preserve-fds"); n < 0 {
		return nil, fmt.Errorf("--preserve-fds must not be negative")
	}
	store, err := openStore(ctx)
	if err != nil {
		return nil, err
	}
	listenFDs, listenEnv := socketActivation()
	pidFile, err := pidFileFlag(ctx)
	if err != nil {
		return nil, err
	}
	return libcontainer.Create(store, &libcontainer.CreateOptions{
		ID:            id,
		Bundle:        bundle,
		ConsoleSocket: ctx.String("console-socket"),
		ConsoleConn:   consoleConn,
		PidFile:       pidFile,
		NoPivot:       ctx.Bool("no-pivot"),
		NoNewKeyring:  ctx.Bool("no-new-keyring"),
		Rootless:      rootless,
		SystemdCgroup: ctx.Bool("systemd-cgroup"),
		PreserveFDs:   listenFDs + ctx.Int("preserve-fds"),
		ExtraEnv:      listenEnv,
		Stdio:         [3]*os.File{os.Stdin, os.Stdout, os.Stderr},
		Pause:         testPausePoint(),
	})
}

// socketActivation passes on the sockets systemd handed us (LISTEN_FDS for
// our pid), as runc does: they become the container's first fds from 3, and
// its LISTEN_FDS and LISTEN_PID (1, its init) say so.
func socketActivation() (int, []string) {
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 || os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return 0, nil
	}
	return n, []string{"LISTEN_FDS=" + strconv.Itoa(n), "LISTEN_PID=1"}
}
