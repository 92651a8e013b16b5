package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// countWatch is an OOMWatcher over a pollable fd and a counter that rises
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
func (m *Unified) WatchOOM() (OOMWatcher, error) {
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

// eventWatch is an OOMWatcher over a memory.oom_control eventfd: each
// notification is an OOM event, as runc reports it. (The notification
// comes when the cgroup runs out of memory, before the OOM killer has
// chosen its victim, so a counter read at that moment may not have risen
// yet.) The kernel also signals the eventfd when the cgroup is removed.
type eventWatch struct {
	fd  int
	dir string
}

func (w *eventWatch) Fd() int { return w.fd }

func (w *eventWatch) Rose() (bool, error) {
	if w.fd < 0 {
		return false, nil
	}
	var buf [8]byte
	n, err := unix.Read(w.fd, buf[:])
	if errors.Is(err, unix.EAGAIN) || n != 8 {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("events: read oom eventfd: %w", err)
	}
	if _, err := os.Stat(filepath.Join(w.dir, "cgroup.event_control")); err != nil {
		return false, nil // the cgroup is gone
	}
	return true, nil
}

func (w *eventWatch) Close() {
	if w.fd >= 0 {
		unix.Close(w.fd)
		w.fd = -1
	}
}

// WatchOOM registers an eventfd for memory.oom_control through
// cgroup.event_control.
func (m *V1) WatchOOM() (OOMWatcher, error) {
	dir, ok := m.dirs["memory"]
	if !ok {
		return &eventWatch{fd: -1}, nil
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("events: eventfd: %w", err)
	}
	ofd, err := unix.Open(filepath.Join(dir, "memory.oom_control"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(efd)
		return nil, fmt.Errorf("events: open memory.oom_control: %w", err)
	}
	// The registration holds its own reference to the control file.
	defer unix.Close(ofd)
	if err := writeFile(dir, "cgroup.event_control", strconv.Itoa(efd)+" "+strconv.Itoa(ofd), m.label("memory")); err != nil {
		unix.Close(efd)
		return nil, err
	}
	return &eventWatch{fd: efd, dir: dir}, nil
}

// OOMKillCount reads memory.oom_control's oom_kill (kernels since 4.13); on
// older kernels under_oom stands in for it.
func (m *V1) OOMKillCount() (uint64, error) {
	s, err := m.read("memory", "memory.oom_control")
	if err != nil {
		return 0, err
	}
	kv := flatUints(s)
	if n, ok := kv["oom_kill"]; ok {
		return n, nil
	}
	return kv["under_oom"], nil
}
