package libcontainer

import (
	"path"
	"strings"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/cgroups/systemd"
)

// resolveCgroup is where a new container's cgroup goes: linux.cgroupsPath
// as a path, or with the systemd driver as "slice:prefix:name", the
// cgroup of the transient unit it names. A malformed systemd path is
// reported before a host without systemd, as runc does.
func resolveCgroup(cgroupsPath, id, stateRoot string, useSystemd bool) (cgroups.Location, error) {
	defaultPath := cgroups.DefaultPath(stateRoot, id)
	if !useSystemd {
		return cgroups.Resolve(cgroupsPath, id, defaultPath)
	}
	rootless := systemd.UserManager()
	u, err := systemd.ParsePath(cgroupsPath, id, rootless)
	if err != nil {
		return cgroups.Location{}, err
	}
	if !systemd.Running() {
		return cgroups.Location{}, systemd.ErrNotRunning
	}
	if w := u.ParentMismatch(); w != "" {
		Warn(w)
	}
	cgroupPath := u.CgroupPath()
	if rootless {
		// The caller's own systemd, its user manager, places the unit
		// below the cgroup it was delegated.
		base, err := systemd.ManagerCgroup()
		if err != nil {
			return cgroups.Location{}, err
		}
		cgroupPath = path.Join(base, cgroupPath)
	}
	loc, err := cgroups.Resolve(cgroupPath, id, defaultPath)
	loc.Unit, loc.Slice = u.Name, u.Slice
	return loc, err
}

// systemdPlaced tells whether got, the recorded cgroup of a container
// made with the systemd driver, is the cgroup of the unit its
// cgroupsPath names. A user manager's units sit below the manager's own
// cgroup, which only the manager knows: for a rootless caller the unit's
// part must end got (it begins with "/", so it matches whole names).
func systemdPlaced(cgroupsPath, id, got string, rootless bool) bool {
	u, err := systemd.ParsePath(cgroupsPath, id, rootless)
	if err != nil {
		return false
	}
	if rootless {
		return strings.HasSuffix(got, u.CgroupPath())
	}
	return got == u.CgroupPath()
}
