package integration

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// withKmsgNode lists /dev/kmsg (char 1:11) in linux.devices, so that the
// container gets the node; whether it may open it is up to the rules.
func withKmsgNode(s *specs.Spec) {
	s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11})
}

// TestListedDeviceGetsNoAccess: a node listed in linux.devices is created,
// nothing more; with `oci-rt spec`'s deny-all resources.devices, opening
// it fails with EPERM from the device filter, as with runc. /dev/kmsg is
// opened write-only: that needs no capability (a read would need
// CAP_SYSLOG), so only the filter can refuse it, which the control run
// with an explicit allow rule proves. The default devices stay usable.
func TestListedDeviceGetsNoAccess(t *testing.T) {
	r := newRuntime(t)
	defaults := `for d in null zero full random urandom ptmx; do (exec 3<>/dev/$d) || echo "no access to /dev/$d"; done; `
	b := newBundle(t, withKmsgNode, shell(defaults+`test -c /dev/kmsg || echo "no node"; : > /dev/kmsg`))
	res := runContainer(t, r, b)
	if res.Code == 0 || !strings.Contains(res.Stderr, "Operation not permitted") {
		t.Fatalf("%s: want opening /dev/kmsg to fail with EPERM", res)
	}
	if strings.Contains(res.Stdout, "no ") || strings.Contains(res.Stderr, "no ") {
		t.Fatalf("%s: the node and the default devices must be there and usable", res)
	}

	major, minor := int64(1), int64(11)
	editBundle(t, b, func(s *specs.Spec) {
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "w"})
	})
	if res := runContainer(t, r, b); res.Code != 0 || res.Stdout != "" {
		t.Fatalf("with an allow rule for 1:11: %s", res)
	}
}
