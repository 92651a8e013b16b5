package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	if st := c.Status(); st == libcontainer.StatusStopped || st == libcontainer.StatusCreating {
		return fmt.Errorf("container %s is not running", c.ID())
	}
	m, err := c.Cgroup()
	if err != nil {
		return err
	}
	// One object a line: clients decode the stream line by line.
	enc := json.NewEncoder(os.Stdout)
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
	pidfd, err := unix.PidfdOpen(c.State.InitPid, 0)
	if err != nil || c.Pid() == 0 {
		return fmt.Errorf("container %s is not running", c.ID())
	}
	defer unix.Close(pidfd)
	oom, err := watchOOM(m)
	if err != nil {
		return err
	}
	defer oom.close()
	emitOOM := func() error {
		if rose, err := oom.rose(); err != nil || !rose {
			return err
		}
		return enc.Encode(event{Type: "oom", ID: c.ID()})
	}
	next := time.Now().Add(interval)
	for {
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}, {Fd: int32(oom.fd), Events: unix.POLLIN}}
		_, err := unix.Poll(fds, int(max(time.Until(next), 0).Milliseconds()))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("events: poll: %w", err)
		}
		if fds[1].Revents != 0 {
			oom.drain()
			if err := emitOOM(); err != nil {
				return err
			}
		}
		if fds[0].Revents != 0 {
			// The kernel counts an OOM kill before the victim is gone:
			// one that stopped the container is reported before we end.
			return emitOOM()
		}
		if !time.Now().Before(next) {
			if err := emitStats(); err != nil {
				return err
			}
			next = next.Add(interval)
		}
	}
}

// oomWatch follows memory.events with inotify (cgroup files signal
// IN_MODIFY when their values change) and tells when oom_kill rises.
type oomWatch struct {
	m    *cgroups.Manager
	fd   int // inotify fd, or -1 without the memory controller
	last uint64
}

func watchOOM(m *cgroups.Manager) (*oomWatch, error) {
	w := &oomWatch{m: m, fd: -1}
	n, err := m.OOMKillCount()
	if errors.Is(err, fs.ErrNotExist) {
		// No memory controller here (a hybrid host): nothing can be
		// OOM-killed by this cgroup's limit, so there is nothing to watch.
		return w, nil
	}
	if err != nil {
		return nil, err
	}
	w.last = n
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("events: inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, filepath.Join(m.Dir(), "memory.events"), unix.IN_MODIFY); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("events: watch memory.events: %w", err)
	}
	w.fd = fd
	return w, nil
}

func (w *oomWatch) drain() {
	buf := make([]byte, 4096)
	for {
		if n, err := unix.Read(w.fd, buf); n <= 0 || err != nil {
			return
		}
	}
}

// rose reports whether oom_kill grew since the last call.
func (w *oomWatch) rose() (bool, error) {
	if w.fd < 0 {
		return false, nil
	}
	n, err := w.m.OOMKillCount()
	if err != nil {
		return false, err
	}
	rose := n > w.last
	w.last = n
	return rose, nil
}

func (w *oomWatch) close() {
	if w.fd >= 0 {
		unix.Close(w.fd)
	}
}
