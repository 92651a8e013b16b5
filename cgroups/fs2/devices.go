package fs2

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/cgroups/devices"
)

// SetDevices installs a device filter built from rules on the cgroup in
// place of the programs attached before, never leaving it unfiltered (see
// devices.Attach).
func (m *Manager) SetDevices(rules []specs.LinuxDeviceCgroup) error {
	prog, err := devices.LoadFilter(rules)
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", m.path, err)
	}
	defer prog.Close()
	dir, err := m.OpenDir()
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := devices.Attach(int(dir.Fd()), prog); err != nil {
		return fmt.Errorf("cgroup %s: %w", m.path, err)
	}
	return nil
}

// DeviceFilterIDs lists the device programs attached to the cgroup itself.
func (m *Manager) DeviceFilterIDs() ([]uint32, error) {
	dir, err := m.OpenDir()
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	ids, err := devices.Attached(int(dir.Fd()))
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", m.path, err)
	}
	return ids, nil
}
