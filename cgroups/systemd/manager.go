package systemd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/internal/idmap"
)

// jobTimeout bounds the wait for systemd to start or stop a unit, which
// normally takes milliseconds; a hung systemd must not hang the runtime.
const jobTimeout = 30 * time.Second

// Manager is a container's cgroup as a transient systemd unit. The files
// of the unit's cgroup are read and written through the fs or fs2 manager
// of the same cgroup (inner), which also does everything systemd has no
// interface for (freezing, statistics, OOM events, killing).
//
// A new scope is started when its first process enters it: systemd
// refuses a scope without processes, and the container's init only joins
// its cgroup after the runtime's setup work. Until then the cgroup exists
// as a plain directory under the slice, so that the setup steps that
// need it (marking it, setting its resources, a cgroup namespace) work as
// with the other drivers; systemd adopts the directory when it starts the
// scope.
type Manager struct {
	unit    Unit
	inner   cgroups.Manager
	unified bool
	started bool
	// props and applied are what Apply set, for the unit's start: systemd
	// writes its own view of the resources then, and the files it has no
	// property for are written again after it.
	props   []sd.Property
	applied *specs.LinuxResources
}

// New is the manager of a container's unit that does not exist yet.
// inner operates on the unit's cgroup (u.CgroupPath()); unified tells
// whether that is a cgroup v2 one.
func New(u Unit, inner cgroups.Manager, unified bool) *Manager {
	return &Manager{unit: u, inner: inner, unified: unified}
}

// Load is the manager of a container's unit that create started.
func Load(u Unit, inner cgroups.Manager, unified bool) *Manager {
	return &Manager{unit: u, inner: inner, unified: unified, started: true}
}

// Unwrap is the fs or fs2 manager of the unit's cgroup.
func (m *Manager) Unwrap() cgroups.Manager { return m.inner }

// Running is sd_booted(3): systemd creates this directory early at boot
// and nothing else does.
func Running() bool {
	fi, err := os.Lstat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

// ErrNotRunning is runc's words for a host without systemd.
var ErrNotRunning = errors.New("systemd not running on this host, cannot use systemd cgroups manager")

// connect opens a D-Bus connection to the systemd instance that manages
// our cgroups: the system one for root, the user's otherwise. Every
// operation uses its own and closes it, so no socket outlives it (or
// leaks into a container).
func connect(ctx context.Context) (*sd.Conn, error) {
	if !Running() {
		return nil, ErrNotRunning
	}
	var conn *sd.Conn
	var err error
	if UserManager() {
		conn, err = userConnection(ctx)
	} else {
		conn, err = sd.NewWithContext(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("systemd cgroup manager: connect to systemd over D-Bus: %w", err)
	}
	return conn, nil
}

// UserManager tells whether the caller's systemd is a user's manager
// (user@UID.service, reached over the session bus) rather than the
// system's: the caller is not root, or is root only in a user namespace
// and has a session bus, as the runtime under rootless Podman is (runc
// asks the session bus for its owner there). Root of a user namespace
// without a session bus is taken for a system container's root, whose
// systemd is the system one.
func UserManager() bool {
	if os.Geteuid() != 0 {
		return true
	}
	return cgroups.InUserNamespace() && hasSessionBus()
}

// hasSessionBus: a session bus address is known where the D-Bus library
// looks for one, the environment or the socket in XDG_RUNTIME_DIR.
func hasSessionBus() bool {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return true
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, "bus"))
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

// userConnection connects to the user's systemd over the session bus: the
// address in the environment, or the socket in XDG_RUNTIME_DIR that
// systemd's user manager opens (the D-Bus library would try dbus-launch).
// The bus checks the id the client claims against the peer credentials
// it sees, the host's: in a user namespace (rootless Podman's) the
// caller's euid is claimed as the host sees it.
func userConnection(ctx context.Context) (*sd.Conn, error) {
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" {
		addr = "unix:path=" + filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "bus")
	}
	uidMap, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return nil, err
	}
	uid, err := hostID(string(uidMap), os.Geteuid())
	if err != nil {
		return nil, err
	}
	return sd.NewConnection(func() (*godbus.Conn, error) {
		conn, err := godbus.Dial(addr, godbus.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		if err := conn.Auth([]godbus.Auth{godbus.AuthExternal(strconv.Itoa(uid))}); err != nil {
			conn.Close()
			return nil, err
		}
		if err := conn.Hello(); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	})
}

// hostID is id of this user namespace as the id map uidMap (the text of
// /proc/self/uid_map) maps it to the parent namespace's ids.
func hostID(uidMap string, id int) (int, error) {
	outside, mapped, err := idmap.Outside(uidMap, uint32(id))
	if err != nil {
		return 0, err
	}
	if !mapped {
		return 0, fmt.Errorf("uid %d is not mapped in this user namespace", id)
	}
	return int(outside), nil
}

// ManagerCgroup is the cgroup of the systemd instance connect reaches. A
// user manager (user@UID.service) runs in a cgroup the system manager
// delegated to it, and its slices and units live below that cgroup: a
// unit's CgroupPath is relative to it.
func ManagerCgroup() (string, error) {
	var cgroup string
	err := withConn(func(_ context.Context, conn *sd.Conn) error {
		v, err := conn.GetManagerProperty("ControlGroup")
		if err != nil {
			return fmt.Errorf("systemd manager's cgroup: %w", err)
		}
		// The property comes as a D-Bus variant's text, a quoted string.
		if cgroup, err = strconv.Unquote(v); err != nil || !strings.HasPrefix(cgroup, "/") {
			return fmt.Errorf("systemd manager's cgroup: unexpected value %s", v)
		}
		return nil
	})
	return cgroup, err
}

func withConn(f func(ctx context.Context, conn *sd.Conn) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	conn, err := connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return f(ctx, conn)
}

// Create checks that the unit does not exist yet (a failed one left by
// a crash is reset), makes the unit's cgroup and, for a slice, starts the
// unit (slices hold no processes of their own to wait for).
func (m *Manager) Create() error {
	return withConn(func(ctx context.Context, conn *sd.Conn) error {
		if err := m.checkNew(ctx, conn); err != nil {
			return err
		}
		if m.unit.IsSlice() {
			if err := m.start(ctx, conn, 0); err != nil {
				return err
			}
		}
		return m.inner.Create()
	})
}

// checkNew refuses a unit that systemd already has, except a failed or
// inactive leftover, which it forgets first.
func (m *Manager) checkNew(ctx context.Context, conn *sd.Conn) error {
	p, err := conn.GetUnitPropertyContext(ctx, m.unit.Name, "ActiveState")
	if err != nil {
		return fmt.Errorf("systemd unit %s: %w", m.unit.Name, err)
	}
	state, _ := p.Value.Value().(string)
	switch state {
	case "inactive":
		return nil
	case "failed":
		return resetFailed(ctx, conn, m.unit.Name)
	}
	return fmt.Errorf("systemd unit %s already exists (%s): choose another cgroupsPath or delete what runs there", m.unit.Name, state)
}

// start starts the transient unit, with pid as its first process for a
// scope, and waits for systemd to finish the job.
func (m *Manager) start(ctx context.Context, conn *sd.Conn, pid int) error {
	props := m.baseProperties(pid)
	props = append(props, m.props...)
	done := make(chan string, 1)
	if _, err := conn.StartTransientUnitContext(ctx, m.unit.Name, "replace", props, done); err != nil {
		if isDBusError(err, "org.freedesktop.systemd1.UnitExists") {
			return fmt.Errorf("systemd unit %s already exists: choose another cgroupsPath or delete what runs there", m.unit.Name)
		}
		return fmt.Errorf("start systemd unit %s: %w", m.unit.Name, err)
	}
	if err := waitJob(ctx, done, "start", m.unit.Name); err != nil {
		_ = resetFailed(ctx, conn, m.unit.Name)
		return err
	}
	m.started = true
	return nil
}

// baseProperties are what every unit of a container gets: systemd
// accounts each controller (so that it enables them all), and the unit
// has no implicit dependencies, which would order it after basic.target
// or stop it at shutdown before the container's manager does. A scope is
// delegated (the container may manage its sub-cgroups); systemd before
// 254 refuses delegation for slices, and runc asks for none there either.
func (m *Manager) baseProperties(pid int) []sd.Property {
	io := "IOAccounting"
	if !m.unified {
		io = "BlockIOAccounting"
	}
	props := []sd.Property{
		sd.PropDescription("oci-rt container " + m.unit.Name),
		prop("DefaultDependencies", false),
		prop("MemoryAccounting", true),
		prop("CPUAccounting", true),
		prop(io, true),
		prop("TasksAccounting", true),
	}
	if m.unit.IsSlice() {
		// A slice's place comes from its name; its parent is wanted so
		// that systemd starts it if needed.
		return append(props, sd.PropWants(m.unit.Slice))
	}
	return append(props, prop("Delegate", true), sd.PropSlice(m.unit.Slice), sd.PropPids(uint32(pid)))
}

func waitJob(ctx context.Context, done <-chan string, what, unit string) error {
	select {
	case result := <-done:
		if result != "done" {
			return fmt.Errorf("%s systemd unit %s: job %s", what, unit, result)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s systemd unit %s: no answer from systemd: %w", what, unit, ctx.Err())
	}
}

func isDBusError(err error, name string) bool {
	var e godbus.Error
	return errors.As(err, &e) && e.Name == name
}

func resetFailed(ctx context.Context, conn *sd.Conn, unit string) error {
	err := conn.ResetFailedUnitContext(ctx, unit)
	if err == nil || isDBusError(err, "org.freedesktop.systemd1.NoSuchUnit") || isDBusError(err, "org.freedesktop.systemd1.UnitNotFailed") {
		return nil
	}
	return fmt.Errorf("reset failed systemd unit %s: %w", unit, err)
}

// Apply sets the resources at creation: in the cgroup's files at once,
// and as the unit's properties when the unit starts (for a slice, which
// started already, right away).
func (m *Manager) Apply(r *specs.LinuxResources) error {
	props, err := Properties(r, m.unified, cgroups.Warn)
	if err != nil {
		return err
	}
	if err := m.inner.Apply(r); err != nil {
		return err
	}
	m.props, m.applied = props, r
	if m.started {
		return m.setProperties(props)
	}
	return nil
}

// Update changes the files and then the unit's properties (for the
// runtime only, as systemctl set-property --runtime: they last until the
// unit stops, across daemon-reloads).
func (m *Manager) Update(r *specs.LinuxResources) error {
	props, err := Properties(r, m.unified, cgroups.Warn)
	if err != nil {
		return err
	}
	if err := m.inner.Update(r); err != nil {
		return err
	}
	return m.setProperties(props)
}

// setProperties hands systemd new property values. On cgroup v1 systemd
// sets device rules by denying everything and then allowing the list,
// which a running container would see as devices vanishing for a moment:
// as runc does, a container not already frozen is frozen meanwhile.
func (m *Manager) setProperties(props []sd.Property) error {
	if len(props) == 0 {
		return nil
	}
	if !m.unified && hasDeviceProps(props) {
		if frozen, err := m.inner.Frozen(); err == nil && !frozen {
			if err := m.inner.Freeze(); err == nil {
				defer func() { _ = m.inner.Thaw() }()
			}
		}
	}
	return withConn(func(ctx context.Context, conn *sd.Conn) error {
		if err := conn.SetUnitPropertiesContext(ctx, m.unit.Name, true, props...); err != nil {
			return fmt.Errorf("set properties of systemd unit %s: %w", m.unit.Name, err)
		}
		return nil
	})
}

func hasDeviceProps(props []sd.Property) bool {
	for _, p := range props {
		if p.Name == "DevicePolicy" {
			return true
		}
	}
	return false
}

// Enter moves a process into the unit's cgroup. The first process of a
// new scope starts it; systemd realizes its properties then, so the files
// are written again after it, and the process is also moved into the
// hierarchies systemd does not manage (v1 cpuset, freezer and the like).
func (m *Manager) Enter(pid int) error {
	if !m.started {
		err := withConn(func(ctx context.Context, conn *sd.Conn) error { return m.start(ctx, conn, pid) })
		if err != nil {
			return err
		}
		if m.applied != nil {
			if err := m.inner.Apply(m.applied); err != nil {
				return err
			}
		}
	}
	return m.inner.Enter(pid)
}

// Destroy stops the unit, which kills what is left in it and removes its
// cgroup, forgets it if it failed, and removes whatever of the cgroup is
// left (a crash before the unit started leaves only the directory).
// Without systemd there is no unit to stop.
func (m *Manager) Destroy() error {
	if !Running() {
		return m.inner.Destroy()
	}
	err := withConn(func(ctx context.Context, conn *sd.Conn) error {
		done := make(chan string, 1)
		_, err := conn.StopUnitContext(ctx, m.unit.Name, "replace", done)
		switch {
		case isDBusError(err, "org.freedesktop.systemd1.NoSuchUnit"):
		case err != nil:
			return fmt.Errorf("stop systemd unit %s: %w", m.unit.Name, err)
		default:
			if err := waitJob(ctx, done, "stop", m.unit.Name); err != nil {
				return err
			}
		}
		return resetFailed(ctx, conn, m.unit.Name)
	})
	return errors.Join(err, m.inner.Destroy())
}

// Pids lists the processes in the unit's cgroup.
func (m *Manager) Pids() ([]int, error) { return m.inner.Pids() }

// Freeze freezes the unit's cgroup through its freezer (systemd's
// FreezeUnit would need systemd 246 and does the same to the cgroup).
func (m *Manager) Freeze() error { return m.inner.Freeze() }

// Thaw thaws the unit's cgroup.
func (m *Manager) Thaw() error { return m.inner.Thaw() }

// Frozen tells whether the unit's cgroup is frozen.
func (m *Manager) Frozen() (bool, error) { return m.inner.Frozen() }

// Kill kills every process in the unit's cgroup.
func (m *Manager) Kill() error { return m.inner.Kill() }

// Stats reads the unit's cgroup statistics.
func (m *Manager) Stats() (*cgroups.Stats, error) { return m.inner.Stats() }

// OOMKillCount is the unit's cgroup's OOM kill count.
func (m *Manager) OOMKillCount() (uint64, error) { return m.inner.OOMKillCount() }

// WatchOOM watches the unit's cgroup for OOM kills.
func (m *Manager) WatchOOM() (cgroups.OOMWatcher, error) { return m.inner.WatchOOM() }

// Sub is a cgroup the container made below its unit's (delegated) one.
func (m *Manager) Sub(sub string) (cgroups.Manager, error) { return m.inner.Sub(sub) }

// Dirs are the unit's cgroup directories.
func (m *Manager) Dirs() []string { return m.inner.Dirs() }
