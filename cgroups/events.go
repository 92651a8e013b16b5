package cgroups

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// OOMSource is what WatchEvents needs of a Manager.
type OOMSource interface {
	WatchOOM() (OOMWatcher, error)
}

// WatchEvents is the loop of `events`: it calls onOOM for each OOM event of
// the cgroup and onStats every interval, until ended (a pidfd of the
// container's init) becomes readable or a callback fails. The cgroup's OOM
// count rises before the killed process is gone, so an OOM kill that ended
// the container is reported before WatchEvents returns.
func WatchEvents(src OOMSource, ended int, interval time.Duration, onStats, onOOM func() error) error {
	oom, err := src.WatchOOM()
	if err != nil {
		return err
	}
	defer oom.Close()
	reportOOM := func() error {
		if rose, err := oom.Rose(); err != nil || !rose {
			return err
		}
		return onOOM()
	}
	next := time.Now().Add(interval)
	for {
		// A negative fd (nothing to watch) is skipped by poll.
		fds := []unix.PollFd{{Fd: int32(ended), Events: unix.POLLIN}, {Fd: int32(oom.Fd()), Events: unix.POLLIN}}
		_, err := unix.Poll(fds, int(max(time.Until(next), 0).Milliseconds()))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("events: poll: %w", err)
		}
		if fds[1].Revents != 0 {
			if err := reportOOM(); err != nil {
				return err
			}
		}
		if fds[0].Revents != 0 {
			return reportOOM()
		}
		if !time.Now().Before(next) {
			if err := onStats(); err != nil {
				return err
			}
			next = next.Add(interval)
		}
	}
}
