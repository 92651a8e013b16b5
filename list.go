package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/oci-rt/oci-rt/libcontainer"
)

var listCommand = &cli.Command{
	Name:  "list",
	Usage: "list containers",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only IDs"},
	},
	Action: func(ctx *cli.Context) error {
		format := ctx.String("format")
		if format != "table" && format != "json" {
			return fmt.Errorf("invalid format %q: use table or json", format)
		}
		store, err := openStore(ctx)
		if err != nil {
			return err
		}
		ids, err := store.List()
		if err != nil {
			return err
		}
		var states []stateJSON
		for _, id := range ids {
			// A container deleted since the directory was read is skipped.
			if c, err := libcontainer.Load(store, id); err == nil {
				states = append(states, containerState(c))
			}
		}
		switch {
		case ctx.Bool("quiet"):
			for _, s := range states {
				fmt.Println(s.ID)
			}
			return nil
		case format == "json":
			// One line, and null for no containers, as runc prints it.
			return json.NewEncoder(os.Stdout).Encode(states)
		}
		w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
		fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
		for _, s := range states {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
		}
		return w.Flush()
	},
}
