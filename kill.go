package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal to a container's init (or, with --all, to all its processes)",
	ArgsUsage: "<container-id> [signal]",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "signal every process in the container"},
	},
	Action: func(ctx *cli.Context) error {
		_, c, err := loadContainer(ctx, 1, 2)
		if err != nil {
			return err
		}
		sig := unix.SIGTERM
		if ctx.NArg() == 2 {
			if sig, err = parseSignal(ctx.Args().Get(1)); err != nil {
				return err
			}
		}
		return c.Signal(sig, ctx.Bool("all"))
	},
}

// parseSignal accepts 9, KILL and SIGKILL alike, and 0, which only checks
// that the container's init is alive (a liveness probe).
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}
