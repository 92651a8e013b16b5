package fs

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

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
	return m.writeRules(writes)
}

// writeRules writes each rule in its own write(2), as the kernel takes
// them, but opens each file once, not once per rule (and through the
// open directory where the manager has it, see at): an open by path
// walks the cgroup's whole path in cgroupfs, under the lock that the
// cgroup mkdirs and rmdirs of concurrent creates and deletes hold for
// writing.
func (m *Manager) writeRules(writes []devices.V1Write) error {
	files := map[string]int{}
	defer func() {
		for _, fd := range files {
			unix.Close(fd)
		}
	}()
	for _, w := range writes {
		fd, ok := files[w.File]
		var err error
		if !ok {
			dirFD, target := m.at(m.dirs["devices"], w.File)
			if fd, err = unix.Openat(dirFD, target, unix.O_WRONLY|unix.O_CLOEXEC, 0); err == nil {
				files[w.File] = fd
			}
		}
		if err == nil {
			_, err = unix.Write(fd, []byte(w.Rule))
		}
		if err != nil {
			return fmt.Errorf("cgroup %s: write %q to %s: %w", m.label("devices"), w.Rule, w.File, err)
		}
	}
	return nil
}
