package fs2

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
)

// countWatch is a cgroups.OOMWatcher over a pollable fd and a counter that rises
// with each OOM kill.
type countWatch struct {
	fd    int // -1: nothing to watch
	last  uint64
	count func() (uint64, error)
}

func (w *countWatch) Fd() int { return w.fd }

func (w *countWatch) Rose() (bool, error) {
	if w.fd < 0 {
		return false, nil
	}
	drain(w.fd)
	n, err := w.count()
	if err != nil {
		return false, err
	}
	rose := n > w.last
	w.last = n
	return rose, nil
}

func (w *countWatch) Close() {
	if w.fd >= 0 {
		unix.Close(w.fd)
		w.fd = -1
	}
}

func drain(fd int) {
	buf := make([]byte, 4096)
	for {
		if n, err := unix.Read(fd, buf); n <= 0 || err != nil {
			return
		}
	}
}

// WatchOOM follows memory.events with inotify (cgroup files signal
// IN_MODIFY when their values change).
func (m *Manager) WatchOOM() (cgroups.OOMWatcher, error) {
	w := &countWatch{fd: -1, count: m.OOMKillCount}
	n, err := m.OOMKillCount()
	if errors.Is(err, fs.ErrNotExist) {
		// No memory controller here: nothing can be OOM-killed by this
		// cgroup's limit, so there is nothing to watch.
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
