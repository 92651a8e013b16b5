package fs

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/cgroups/devices"
)

// SetDevices makes the cgroup's device access what rules say (same
// semantics as the v2 filter: the last matching rule decides, unmatched
// access is denied), changing devices.allow/deny without a window (see
// devices.V1Target).
func (m *Manager) SetDevices(rules []specs.LinuxDeviceCgroup) error {
	target, err := devices.ParseV1Target(rules)
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", m.representative(), err)
	}
	if _, ok := m.dirs["devices"]; !ok {
		return fmt.Errorf("cgroup %s: the devices controller is not mounted, so device access cannot be restricted", m.representative())
	}
	list, err := m.read("devices", "devices.list")
	if err != nil {
		return err
	}
	writes, err := target.Writes(list)
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", m.label("devices"), err)
	}
	for _, w := range writes {
		if err := m.write("devices", w.File, w.Rule); err != nil {
			return err
		}
	}
	return nil
}
