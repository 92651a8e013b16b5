package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/oci-rt/oci-rt/libcontainer"
	"github.com/oci-rt/oci-rt/libcontainer/configs"
)

var specCommand = &cli.Command{
	Name:  "spec",
	Usage: "write a default config.json for a bundle",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "bundle directory to write config.json in"},
		&cli.BoolFlag{Name: "rootless", Usage: "a config for a container started by an unprivileged user"},
	},
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() != 0 {
			return fmt.Errorf("spec takes no arguments")
		}
		path := filepath.Join(ctx.String("bundle"), "config.json")
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("file %s exists: remove it first", path)
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		data, err := json.MarshalIndent(configs.DefaultSpec(ctx.Bool("rootless")), "", "\t")
		if err != nil {
			return err
		}
		return libcontainer.WriteFileAtomic(path, append(data, '\n'), 0o644)
	},
}
