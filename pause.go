package main

import (
	"github.com/urfave/cli/v2"
)

var pauseCommand = &cli.Command{
	Name:      "pause",
	Usage:     "freeze every process of a running container",
	ArgsUsage: "<container-id>",
	Action: func(ctx *cli.Context) error {
		_, c, err := loadContainer(ctx, 1, 1)
		if err != nil {
			return err
		}
		return c.Pause()
	},
}

var resumeCommand = &cli.Command{
	Name:      "resume",
	Usage:     "thaw a paused container",
	ArgsUsage: "<container-id>",
	Action: func(ctx *cli.Context) error {
		_, c, err := loadContainer(ctx, 1, 1)
		if err != nil {
			return err
		}
		return c.Resume()
	},
}
