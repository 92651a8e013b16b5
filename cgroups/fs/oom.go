package fs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
)

// eventWatch is a cgroups.OOMWatcher over a memory.oom_control eventfd: each
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
func (m *Manager) WatchOOM() (cgroups.OOMWatcher, error) {
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
	if err := cgroups.WriteFile(dir, "cgroup.event_control", strconv.Itoa(efd)+" "+strconv.Itoa(ofd), m.label("memory")); err != nil {
		unix.Close(efd)
		return nil, err
	}
	return &eventWatch{fd: efd, dir: dir}, nil
}

// OOMKillCount reads memory.oom_control's oom_kill (kernels since 4.13); on
// older kernels under_oom stands in for it.
func (m *Manager) OOMKillCount() (uint64, error) {
	s, err := m.read("memory", "memory.oom_control")
	if err != nil {
		return 0, err
	}
	kv := cgroups.FlatUints(s)
	if n, ok := kv["oom_kill"]; ok {
		return n, nil
	}
	return kv["under_oom"], nil
}
