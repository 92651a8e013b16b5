package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/oci-rt/oci-rt/libcontainer"
	"github.com/oci-rt/oci-rt/libcontainer/configs"
)

// openStore opens the state directory named by --root.
func openStore(ctx *cli.Context) (*libcontainer.Store, error) {
	return libcontainer.OpenStore(ctx.String("root"))
}

// containerID returns the command's ID argument, checked before anything
// touches the disk.
func containerID(ctx *cli.Context, minArgs, maxArgs int) (string, error) {
	if err := checkArgCount(ctx, minArgs, maxArgs); err != nil {
		return "", err
	}
	id := ctx.Args().First()
	if err := configs.ValidateID(id); err != nil {
		return "", err
	}
	return id, nil
}

// checkArgCount refuses a wrong number of arguments the way runc does:
// "Incorrect Usage." and the command's help on stdout, the error in
// runc's words.
func checkArgCount(ctx *cli.Context, minArgs, maxArgs int) error {
	n, name := ctx.NArg(), ctx.Command.Name
	var err error
	switch {
	case minArgs == maxArgs && n != minArgs:
		err = fmt.Errorf("oci-rt: %q requires exactly %d argument(s)", name, minArgs)
	case n < minArgs:
		err = fmt.Errorf("oci-rt: %q requires a minimum of %d argument(s)", name, minArgs)
	case maxArgs >= 0 && n > maxArgs:
		err = fmt.Errorf("oci-rt: %q requires a maximum of %d argument(s)", name, maxArgs)
	default:
		return nil
	}
	fmt.Print("Incorrect Usage.\n\n")
	cli.HelpPrinter(ctx.App.Writer, cli.CommandHelpTemplate, ctx.Command)
	return err
}

// pidFileFlag is --pid-file made absolute, as runc makes it, so that the
// path in errors and in the written file's location is unambiguous.
func pidFileFlag(ctx *cli.Context) (string, error) {
	path := ctx.String("pid-file")
	if path == "" {
		return "", nil
	}
	return filepath.Abs(path)
}

// loadContainer opens the store and the container named by the first
// argument.
func loadContainer(ctx *cli.Context, minArgs, maxArgs int) (*libcontainer.Store, *libcontainer.Container, error) {
	id, err := containerID(ctx, minArgs, maxArgs)
	if err != nil {
		return nil, nil, err
	}
	store, err := openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := libcontainer.Load(store, id)
	if err != nil {
		return nil, nil, err
	}
	return store, c, nil
}

// stateJSON is what `state` and `list --format json` print for a
// container, in runc's field names.
type stateJSON struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func containerState(c *libcontainer.Container) stateJSON {
	st := c.SpecState()
	return stateJSON{
		OCIVersion:  st.Version,
		ID:          st.ID,
		Pid:         st.Pid,
		Status:      string(st.Status),
		Bundle:      st.Bundle,
		Rootfs:      c.State.Rootfs,
		Created:     c.State.Created,
		Owner:       c.State.Owner,
		Annotations: st.Annotations,
	}
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
