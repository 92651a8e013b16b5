package libcontainer

import (
	"os"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/cgroups/systemd"
)

// resolveCgroup is where a new container's cgroup goes: linux.cgroupsPath
// as a path, or with the systemd driver as "slice:prefix:name", the
// cgroup of the transient unit it names. A malformed systemd path is
// reported before a host without systemd, as runc does.
func resolveCgroup(cgroupsPath, id, stateRoot string, useSystemd bool) (cgroups.Location, error) {
	parent := cgroups.DefaultParent(stateRoot)
	if !useSystemd {
		return cgroups.Resolve(cgroupsPath, id, parent)
	}
	u, err := systemd.ParsePath(cgroupsPath, id, os.Geteuid() != 0)
	if err != nil {
		return cgroups.Location{}, err
	}
	if !systemd.Running() {
		return cgroups.Location{}, systemd.ErrNotRunning
	}
	if w := u.ParentMismatch(); w != "" {
		Warn(w)
	}
	loc, err := cgroups.Resolve(u.CgroupPath(), id, parent)
	loc.Unit, loc.Slice = u.Name, u.Slice
	return loc, err
}

// systemdPlacement is the cgroup path the systemd unit of a container's
// cgroupsPath has, for a container recorded with the systemd driver.
func systemdPlacement(cgroupsPath, id string) (string, bool) {
	u, err := systemd.ParsePath(cgroupsPath, id, os.Geteuid() != 0)
	if err != nil {
		return "", false
	}
	return u.CgroupPath(), true
}
