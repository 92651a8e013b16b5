package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/libcontainer"
)

var eventsCommand = &cli.Command{
	Name:      "events",
	Usage:     "print a container's resource statistics and OOM events",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "stats", Usage: "print the statistics once and exit"},
		&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between statistics"},
	},
	Action: eventsAction,
}

// event is one line of `events` output, in runc's shape.
type event struct {
	Type string         `json:"type"`
	ID   string         `json:"id"`
	Data *cgroups.Stats `json:"data,omitempty"`
}

func eventsAction(ctx *cli.Context) error {
	_, c, err := loadContainer(ctx, 1, 1)
	if err != nil {
		return err
	}
	if err := c.Allow(libcontainer.OpEvents); err != nil {
		return err
	}
	// One object a line: clients decode the stream line by line.
	enc := json.NewEncoder(os.Stdout)
	m, err := c.Cgroup()
	if err != nil && c.State.NoCgroup && ctx.Bool("stats") {
		// A rootless container without a cgroup has nothing to measure;
		// runc reports every counter as zero rather than failing, and
		// clients polling stats expect an answer. The stream of events
		// still fails, as runc's does: there is no OOM to watch.
		return enc.Encode(event{Type: "stats", ID: c.ID(), Data: &cgroups.Stats{Hugetlb: map[string]cgroups.Hugetlb{}}})
	}
	if err != nil {
		return err
	}
	emitStats := func() error {
		s, err := m.Stats()
		if err != nil {
			return err
		}
		return enc.Encode(event{Type: "stats", ID: c.ID(), Data: s})
	}
	if ctx.Bool("stats") {
		return emitStats()
	}
	interval := ctx.Duration("interval")
	if interval <= 0 {
		return fmt.Errorf("--interval %v: must be positive", interval)
	}
	notRunning := fmt.Errorf("container %s is not running", c.ID())
	pidfd, err := unix.PidfdOpen(c.State.InitPid, 0)
	if err != nil {
		return notRunning
	}
	defer unix.Close(pidfd)
	// The pidfd is checked against the recorded identity only after it is
	// open, so that a recycled pid cannot slip in between.
	if c.Pid() == 0 {
		return notRunning
	}
	return cgroups.WatchEvents(m, pidfd, interval, emitStats, func() error {
		return enc.Encode(event{Type: "oom", ID: c.ID()})
	})
}
