// Package fs2 is the cgroup v2 driver: a container's cgroup in the unified
// hierarchy, its resources mapped to the v2 interface files as runc maps
// them, and device access enforced by the eBPF filter of package devices.
package fs2

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
)

// Manager operates on one cgroup of the unified hierarchy (cgroup v2). It holds no open
// resources, so separate runtime invocations can each build their own.
type Manager struct {
	root string // mountpoint of the hierarchy
	path string // canonical path within the hierarchy, starting with "/"
	// rootless: see SetRootless.
	rootless bool
}

// New returns a manager for path (as returned by ResolvePath) on the
// hierarchy found by cgroups.Mountpoint.
func New(path string) (*Manager, error) {
	root, err := cgroups.Mountpoint()
	if err != nil {
		return nil, err
	}
	return NewAt(root, path)
}

// NewAt is New with an explicit mountpoint.
func NewAt(root, path string) (*Manager, error) {
	p, err := cgroups.CleanPath(path)
	if err != nil {
		return nil, err
	}
	if p == "/" {
		return nil, errors.New("the root cgroup cannot be managed as a container cgroup")
	}
	return &Manager{root: root, path: p}, nil
}

// SetRootless marks the cgroup as a rootless container's (see
// cgroups.Location.Rootless).
func (m *Manager) SetRootless() { m.rootless = true }

// Rootless tells whether SetRootless marked the cgroup.
func (m *Manager) Rootless() bool { return m.rootless }

// Path is the cgroup's path within the hierarchy, as /proc/<pid>/cgroup shows it.
func (m *Manager) Path() string { return m.path }

// Dir is the cgroup's directory.
func (m *Manager) Dir() string { return filepath.Join(m.root, m.path) }

// Dirs is the cgroup's one directory.
func (m *Manager) Dirs() []string { return []string{m.Dir()} }

// OpenDir opens the cgroup directory, e.g. for clone3's CLONE_INTO_CGROUP
// (so that a process starts inside the cgroup instead of being moved later).
func (m *Manager) OpenDir() (*os.File, error) {
	dirFD, name := cgroups.At(m.Dir())
	fd, err := unix.Openat(dirFD, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: open: %w", m.path, err)
	}
	return os.NewFile(uintptr(fd), m.Dir()), nil
}

func (m *Manager) read(name string) (string, error) {
	b, err := cgroups.ReadFile(filepath.Join(m.Dir(), name))
	if err != nil {
		return "", fmt.Errorf("cgroup %s: read %s: %w", m.path, name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (m *Manager) write(name, value string) error {
	return cgroups.WriteFile(m.Dir(), name, value, m.path)
}

func (m *Manager) exists(name string) bool {
	return cgroups.Exists(filepath.Join(m.Dir(), name))
}

// Create makes the cgroup and its missing ancestors. Every available
// controller is enabled in each ancestor's cgroup.subtree_control so that the
// container sees them all. An existing cgroup is reused only if it is empty
// and not frozen: anything else means another container or a stale, paused
// workload owns it, and sharing it would let this container's limits,
// freezing and kill-all reach processes that are not its own.
func (m *Manager) Create() error {
	if err := m.checkReusable(); err != nil {
		return err
	}
	dir := m.root
	for _, c := range strings.Split(strings.TrimPrefix(m.path, "/"), "/") {
		enableControllers(dir, dir == m.root)
		dir = filepath.Join(dir, c)
		dirFD, name := cgroups.At(dir)
		if err := unix.Mkdirat(dirFD, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("cgroup %s: mkdir %s: %w", m.path, dir, err)
		}
	}
	return nil
}

func (m *Manager) checkReusable() error {
	events, err := m.read("cgroup.events")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	kv := cgroups.KeyValues(events)
	if kv["populated"] == "1" {
		return fmt.Errorf("cgroup %s already exists and has processes", m.path)
	}
	freeze, err := m.read("cgroup.freeze")
	if err != nil {
		return err
	}
	if kv["frozen"] == "1" || freeze == "1" {
		return fmt.Errorf("cgroup %s already exists and is frozen", m.path)
	}
	return nil
}

// enableControllers is best effort: a controller that could not be enabled
// is reported by Apply, for the resource that needs it, which is the error
// a user can act on. A non-root cgroup that holds processes itself is left
// alone: it cannot delegate domain controllers (the no-internal-process
// rule), and enabling only the threaded ones (cpu, cpuset, pids) would turn
// it into a thread root, under which a container's cgroup cannot hold
// processes at all (EOPNOTSUPP).
func enableControllers(dir string, isRoot bool) {
	if !isRoot {
		procs, err := cgroups.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil || len(bytes.TrimSpace(procs)) > 0 {
			return
		}
	}
	b, err := cgroups.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return
	}
	for _, c := range strings.Fields(string(b)) {
		_ = cgroups.WriteFile(dir, "cgroup.subtree_control", "+"+c, dir)
	}
}

// Controllers lists the controllers usable in this cgroup.
func (m *Manager) Controllers() ([]string, error) {
	s, err := m.read("cgroup.controllers")
	if err != nil {
		return nil, err
	}
	return strings.Fields(s), nil
}

// OpenProcs opens the cgroup's cgroup.procs for writing, for a process that
// is to move itself in later (it writes "0").
func (m *Manager) OpenProcs() (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(m.Dir(), "cgroup.procs"), os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: open cgroup.procs: %w", m.path, err)
	}
	return f, nil
}

// Enter moves a process (all its threads) into the cgroup.
func (m *Manager) Enter(pid int) error {
	return m.write("cgroup.procs", strconv.Itoa(pid))
}

// Pids lists the processes in the cgroup and all its descendants.
func (m *Manager) Pids() ([]int, error) { return cgroups.PidsBelow(m.Dir(), m.path) }

// Freeze stops every process in the cgroup and waits until the kernel
// reports the cgroup frozen. If that does not happen in time the cgroup is
// thawed again, so that a failed pause does not leave a half-frozen container.
func (m *Manager) Freeze() error {
	if err := m.write("cgroup.freeze", "1"); err != nil {
		return err
	}
	if err := m.waitFrozen(true); err != nil {
		_ = m.write("cgroup.freeze", "0")
		return err
	}
	return nil
}

// Thaw resumes the cgroup and waits until it is no longer frozen. (It stays
// frozen while an ancestor is frozen; that is reported as a timeout.)
func (m *Manager) Thaw() error {
	if err := m.write("cgroup.freeze", "0"); err != nil {
		return err
	}
	return m.waitFrozen(false)
}

// Frozen reports whether the cgroup is effectively frozen (by itself or an
// ancestor).
func (m *Manager) Frozen() (bool, error) {
	s, err := m.read("cgroup.events")
	if err != nil {
		return false, err
	}
	return cgroups.KeyValues(s)["frozen"] == "1", nil
}

func (m *Manager) waitFrozen(want bool) error {
	deadline := time.Now().Add(cgroups.FreezeTimeout)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		frozen, err := m.Frozen()
		if err != nil {
			return err
		}
		if frozen == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s: still frozen=%t after %v", m.path, frozen, cgroups.FreezeTimeout)
		}
		time.Sleep(delay)
	}
}

// Kill sends SIGKILL to every process in the cgroup and its descendants. It
// does not wait for them to exit; Destroy does.
func (m *Manager) Kill() error {
	err := m.write("cgroup.kill", "1")
	if errors.Is(err, fs.ErrNotExist) && m.exists("cgroup.procs") {
		// Kernels before 5.14 have no cgroup.kill.
		return m.killEach()
	}
	return err
}

// killEach kills process by process. Freezing first keeps processes from
// forking new ones past the listing (fatal signals still reach frozen tasks).
func (m *Manager) killEach() error {
	freezeErr := m.Freeze()
	pids, err := m.Pids()
	if err == nil {
		for _, pid := range pids {
			if e := unix.Kill(pid, unix.SIGKILL); e != nil && !errors.Is(e, unix.ESRCH) {
				err = fmt.Errorf("cgroup %s: kill %d: %w", m.path, pid, e)
			}
		}
	}
	if freezeErr == nil {
		if e := m.Thaw(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// Destroy removes the cgroup and all its descendants, deepest first. A
// missing cgroup is not an error. rmdir is retried while it fails with EBUSY,
// which it does for a short while after the last process was killed.
func (m *Manager) Destroy() error {
	if err := cgroups.RemoveTree(m.Dir(), time.Now().Add(cgroups.DestroyTimeout)); err != nil {
		return fmt.Errorf("cgroup %s: destroy: %w", m.path, err)
	}
	return nil
}

// Sub is the manager of an existing cgroup below this one, for exec
// --cgroup. runc's "controller:path" form is accepted; on cgroup v2 the
// controller part can only be empty.
func (m *Manager) Sub(sub string) (cgroups.Manager, error) {
	ctrls, rel, err := cgroups.ParseSubCgroup(sub)
	if err != nil {
		return nil, err
	}
	if len(ctrls) > 0 {
		return nil, fmt.Errorf("--cgroup %q: only the unified hierarchy exists on cgroup v2; give a path without a controller", sub)
	}
	s, err := NewAt(m.root, m.path+"/"+rel)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(s.Dir()); err != nil {
		return nil, fmt.Errorf("exec cgroup: %w", err)
	}
	return s, nil
}
