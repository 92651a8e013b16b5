package main

import "github.com/urfave/cli/v2"

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "start the process of a created container",
	ArgsUsage: "<container-id>",
	Action: func(ctx *cli.Context) error {
		_, c, err := loadContainer(ctx, 1, 1)
		if err != nil {
			return err
		}
		return c.Start()
	},
}
