package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/oci-rt/oci-rt/nsenter"
)

var psCommand = &cli.Command{
	Name:      "ps",
	Usage:     "list the processes of a container",
	ArgsUsage: "<container-id> [ps options]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
	},
	Action: func(ctx *cli.Context) error {
		format := ctx.String("format")
		if format != "table" && format != "json" {
			return fmt.Errorf("invalid format %q: use table or json", format)
		}
		_, c, err := loadContainer(ctx, 1, -1)
		if err != nil {
			return err
		}
		pids, err := c.Processes()
		if err != nil {
			return err
		}
		if format == "json" {
			if pids == nil {
				pids = []int{}
			}
			return printJSON(pids)
		}
		// go-runc's Top passes its options as one argument, empty by
		// default.
		var psArgs []string
		for _, a := range ctx.Args().Tail() {
			if a != "" {
				psArgs = append(psArgs, a)
			}
		}
		if len(psArgs) == 0 {
			psArgs = []string{"-ef"}
		}
		var out, stderr bytes.Buffer
		cmd := exec.Command("ps", psArgs...)
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := nsenter.RunChild(cmd); err != nil {
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return fmt.Errorf("ps %s: %w: %s", strings.Join(psArgs, " "), err, bytes.TrimSpace(stderr.Bytes()))
			}
			return fmt.Errorf("ps: %w", err)
		}
		rows, err := containerRows(out.Bytes(), pids)
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(rows)
		return err
	},
}

// containerRows keeps the header of the host ps output and the rows whose
// PID column holds one of pids.
func containerRows(out []byte, pids []int) ([]byte, error) {
	lines := bytes.Split(bytes.TrimRight(out, "\n"), []byte("\n"))
	col := -1
	for i, name := range strings.Fields(string(lines[0])) {
		if name == "PID" {
			col = i
			break
		}
	}
	if col < 0 {
		return nil, errors.New("ps: the output has no PID column (give ps options that print it)")
	}
	in := make(map[int]bool, len(pids))
	for _, p := range pids {
		in[p] = true
	}
	var b bytes.Buffer
	b.Write(lines[0])
	b.WriteByte('\n')
	for _, line := range lines[1:] {
		fields := strings.Fields(string(line))
		if len(fields) <= col {
			continue
		}
		if pid, err := strconv.Atoi(fields[col]); err == nil && in[pid] {
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	return b.Bytes(), nil
}
