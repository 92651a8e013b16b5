// Package manager picks the cgroup driver for a container: the v1 driver
// (cgroups/fs) for a cgroup recorded per hierarchy, the unified one
// (cgroups/fs2) otherwise, wrapped in the systemd driver (cgroups/systemd)
// when a systemd unit holds the cgroup. It is apart from package cgroups
// because the drivers depend on that package.
package manager

import (
	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/cgroups/fs"
	"github.com/oci-rt/oci-rt/cgroups/fs2"
	"github.com/oci-rt/oci-rt/cgroups/systemd"
)

// Load returns the manager of a recorded Location whose cgroup create
// made (or was making).
func Load(loc cgroups.Location) (cgroups.Manager, error) {
	files, err := loadFiles(loc)
	if err != nil || loc.Unit == "" {
		return files, err
	}
	return systemd.Load(systemd.Unit{Slice: loc.Slice, Name: loc.Unit}, files, loc.Paths == nil), nil
}

// New returns the manager of a Location whose cgroup is about to be
// created.
func New(loc cgroups.Location) (cgroups.Manager, error) {
	files, err := loadFiles(loc)
	if err != nil || loc.Unit == "" {
		return files, err
	}
	return systemd.New(systemd.Unit{Slice: loc.Slice, Name: loc.Unit}, files, loc.Paths == nil), nil
}

func loadFiles(loc cgroups.Location) (cgroups.Manager, error) {
	if loc.Paths != nil {
		m, err := fs.Load(loc.Paths)
		if err != nil {
			return nil, err
		}
		if loc.Rootless {
			m.SetRootless()
		}
		return m, nil
	}
	m, err := fs2.New(loc.Path)
	if err != nil {
		return nil, err
	}
	if loc.Rootless {
		m.SetRootless()
	}
	return m, nil
}
