package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/libcontainer"
)

var restoreCommand = &cli.Command{
	Name:      "restore",
	Usage:     "restore a container from a previous checkpoint",
	ArgsUsage: "<container-id>",
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "image-path", Usage: "path to criu image files for restoring"},
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "path to the root of the bundle directory"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "detach from the container's process"},
		&cli.StringFlag{Name: "pid-file", Usage: "specify the file to write the process id to"},
		&cli.StringFlag{Name: "console-socket", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "disable the use of the subreaper used to reap reparented processes"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot root to jail process inside rootfs"},
		&cli.StringFlag{Name: "lsm-profile", Usage: "Specify an LSM profile to be used during restore in the form of TYPE:NAME."},
		&cli.StringFlag{Name: "lsm-mount-context", Usage: "Specify an LSM mount context to be used during restore."},
	}, criuSharedFlags...),
	Action: restoreAction,
}

func restoreAction(ctx *cli.Context) error {
	store, err := openStore(ctx)
	if err != nil {
		return err
	}
	o, err := restoreOptions(ctx)
	if err != nil {
		return err
	}
	detach := ctx.Bool("detach")
	// As with run, the restored processes' orphans come back to us.
	if !detach && !ctx.Bool("no-subreaper") {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("become subreaper: %w", err)
		}
	}
	var signals *signalHold
	if !detach {
		signals = holdSignals()
	}
	c, err := libcontainer.Restore(store, o)
	if err != nil || detach {
		return err
	}
	signals.ready()
	status := waitForward(c.State.InitPid, signals, nil)
	if err := libcontainer.Delete(store, c.ID(), true); err != nil {
		return err
	}
	if status != 0 {
		return &exitError{status: status}
	}
	return nil
}

// restoreOptions are restore's arguments and flags.
func restoreOptions(ctx *cli.Context) (*libcontainer.RestoreOptions, error) {
	id, err := containerID(ctx, 1, 1)
	if err != nil {
		return nil, err
	}
	images, err := criuImagePath(ctx)
	if err != nil {
		return nil, err
	}
	pidFile, err := pidFileFlag(ctx)
	if err != nil {
		return nil, err
	}
	return &libcontainer.RestoreOptions{
		CreateOptions: libcontainer.CreateOptions{
			ID:            id,
			Bundle:        ctx.String("bundle"),
			ConsoleSocket: ctx.String("console-socket"),
			PidFile:       pidFile,
			NoPivot:       ctx.Bool("no-pivot"),
			Stdio:         [3]*os.File{os.Stdin, os.Stdout, os.Stderr},
		},
		CriuFlags:       criuFlags(ctx),
		ImagePath:       images,
		WorkPath:        ctx.String("work-path"),
		LsmProfile:      ctx.String("lsm-profile"),
		LsmMountContext: ctx.String("lsm-mount-context"),
	}, nil
}
