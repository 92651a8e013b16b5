package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/oci-rt/oci-rt/libcontainer"
)

var deleteCommand = &cli.Command{
	Name:      "delete",
	Usage:     "delete a stopped or created container (with --force, any)",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container first if it runs"},
	},
	Action: func(ctx *cli.Context) error {
		id, err := containerID(ctx, 1, 1)
		if err != nil {
			return err
		}
		store, err := openStore(ctx)
		if err != nil {
			return err
		}
		err = libcontainer.Delete(store, id, ctx.Bool("force"))
		if errors.Is(err, libcontainer.ErrNotExist) && ctx.Bool("force") {
			return nil
		}
		return err
	},
}
