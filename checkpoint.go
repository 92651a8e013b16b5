package main

import (
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/oci-rt/oci-rt/libcontainer"
)

// criuSharedFlags are the CRIU switches of checkpoint and restore alike.
var criuSharedFlags = []cli.Flag{
	&cli.StringFlag{Name: "work-path", Usage: "path for saving work files and logs"},
	&cli.BoolFlag{Name: "tcp-established", Usage: "allow open tcp connections"},
	&cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"},
	&cli.BoolFlag{Name: "shell-job", Usage: "allow shell jobs"},
	&cli.BoolFlag{Name: "file-locks", Usage: "handle file locks, for safety"},
	&cli.BoolFlag{Name: "lazy-pages", Usage: "use userfaultfd to lazily restore memory pages"},
	&cli.StringFlag{Name: "manage-cgroups-mode", Usage: "cgroups mode: 'soft' (default), 'full' and 'strict'"},
	&cli.StringSliceFlag{Name: "empty-ns", Usage: "create a namespace, but don't restore its properties"},
	&cli.BoolFlag{Name: "auto-dedup", Usage: "enable auto deduplication of memory images"},
}

var checkpointCommand = &cli.Command{
	Name:      "checkpoint",
	Usage:     "checkpoint a running container",
	ArgsUsage: "<container-id>",
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "image-path", Usage: "path for saving criu image files"},
		&cli.StringFlag{Name: "parent-path", Usage: "path for previous criu image files in pre-dump"},
		&cli.BoolFlag{Name: "leave-running", Usage: "leave the process running after checkpointing"},
		&cli.IntFlag{Name: "status-fd", Value: -1, Usage: "criu writes \\0 to this FD once lazy-pages is ready"},
		&cli.StringFlag{Name: "page-server", Usage: "ADDRESS:PORT of the page server"},
		&cli.BoolFlag{Name: "pre-dump", Usage: "dump container's memory information only, leave the container running after this"},
	}, criuSharedFlags...),
	Action: func(ctx *cli.Context) error {
		_, c, err := loadContainer(ctx, 1, 1)
		if err != nil {
			return err
		}
		o, err := checkpointOptions(ctx)
		if err != nil {
			return err
		}
		return c.Checkpoint(o)
	},
}

// checkpointOptions are checkpoint's flags.
func checkpointOptions(ctx *cli.Context) (*libcontainer.CheckpointOptions, error) {
	images, err := criuImagePath(ctx)
	if err != nil {
		return nil, err
	}
	return &libcontainer.CheckpointOptions{
		CriuFlags:    criuFlags(ctx),
		ImagePath:    images,
		WorkPath:     ctx.String("work-path"),
		ParentPath:   ctx.String("parent-path"),
		LeaveRunning: ctx.Bool("leave-running"),
		PreDump:      ctx.Bool("pre-dump"),
		PageServer:   ctx.String("page-server"),
		StatusFD:     ctx.Int("status-fd"),
	}, nil
}

// criuImagePath is --image-path, by default ./checkpoint as runc has it.
func criuImagePath(ctx *cli.Context) (string, error) {
	if path := ctx.String("image-path"); path != "" {
		return path, nil
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return filepath.Join(cwd, "checkpoint"), nil
}

func criuFlags(ctx *cli.Context) libcontainer.CriuFlags {
	return libcontainer.CriuFlags{
		CriuPath:          ctx.String("criu"),
		TCPEstablished:    ctx.Bool("tcp-established"),
		ExtUnixSk:         ctx.Bool("ext-unix-sk"),
		ShellJob:          ctx.Bool("shell-job"),
		FileLocks:         ctx.Bool("file-locks"),
		AutoDedup:         ctx.Bool("auto-dedup"),
		LazyPages:         ctx.Bool("lazy-pages"),
		ManageCgroupsMode: ctx.String("manage-cgroups-mode"),
		EmptyNs:           ctx.StringSlice("empty-ns"),
	}
}
