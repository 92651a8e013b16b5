// Package manager picks the cgroup driver for a container: the v1 driver
// (cgroups/fs) for a cgroup recorded per hierarchy, the unified one
// (cgroups/fs2) otherwise. It is apart from package cgroups because both
// drivers depend on that package.
package manager

import (
	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/cgroups/fs"
	"github.com/oci-rt/oci-rt/cgroups/fs2"
)

// Load returns the manager of a recorded Location.
func Load(loc cgroups.Location) (cgroups.Manager, error) {
	if loc.Paths != nil {
		m, err := fs.Load(loc.Paths)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	m, err := fs2.New(loc.Path)
	if err != nil {
		return nil, err
	}
	return m, nil
}
