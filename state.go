package main

import "github.com/urfave/cli/v2"

var stateCommand = &cli.Command{
	Name:      "state",
	Usage:     "print a container's state as JSON",
	ArgsUsage: "<container-id>",
	Action: func(ctx *cli.Context) error {
		_, c, err := loadContainer(ctx, 1, 1)
		if err != nil {
			return err
		}
		return printJSON(containerState(c))
	},
}
