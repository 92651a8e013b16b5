// Command gofloor is the floor under the runtime's own peak RSS and start
// cost: a Go program linked as oci-rt is (static, musl, the same build
// tags and experiments) that imports the libraries every oci-rt process
// carries (urfave/cli/v2, runtime-spec, x/sys/unix, go-selinux and
// go-systemd's D-Bus client) and does the least a `run` must: parse its
// command line and decode the bundle's config.json. make bench measures
// it beside the runtimes: what oci-rt uses beyond it is its own.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	// Imported for their package initialisation and the code it pulls in,
	// as oci-rt's packages import them.
	_ "github.com/coreos/go-systemd/v22/dbus"
	_ "github.com/opencontainers/selinux/go-selinux"
	_ "golang.org/x/sys/unix"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
)

func main() {
	app := &cli.App{
		Name: "gofloor",
		Commands: []*cli.Command{{
			Name:  "run",
			Flags: []cli.Flag{&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: "."}},
			Action: func(ctx *cli.Context) error {
				data, err := os.ReadFile(filepath.Join(ctx.String("bundle"), "config.json"))
				if err != nil {
					return err
				}
				var spec specs.Spec
				if err := json.Unmarshal(data, &spec); err != nil {
					return fmt.Errorf("decode config.json: %w", err)
				}
				if spec.Process == nil {
					return fmt.Errorf("config.json has no process")
				}
				return nil
			},
		}},
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "gofloor:", err)
		os.Exit(1)
	}
}
