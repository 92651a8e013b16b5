package libcontainer

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/cgroups"
)

// The device controller only knows 'b' and 'c': linux.devices entries of
// type 'p' (fifo) get no rule and 'u' (unbuffered char) becomes 'c', else
// the filter refuses the rule list and create fails (conformance program
// linux_devices).
func TestContainerDeviceRulesDeviceTypes(t *testing.T) {
	spec := &specs.Spec{Linux: &specs.Linux{Devices: []specs.LinuxDevice{
		{Path: "/dev/fifo", Type: "p", Major: 0, Minor: 0},
		{Path: "/dev/uchar", Type: "u", Major: 5, Minor: 7},
		{Path: "/dev/blk", Type: "b", Major: 8, Minor: 1},
	}}}
	got := containerDeviceRules(spec, nil)
	defaults := len(cgroups.DefaultAllowedDevices())
	if len(got) != defaults+2 {
		t.Fatalf("got %d rules, want %d defaults + 2 (fifo skipped): %+v", len(got), defaults, got)
	}
	want := []struct {
		typ          string
		major, minor int64
	}{{"c", 5, 7}, {"b", 8, 1}}
	for i, w := range want {
		r := got[defaults+i]
		if !r.Allow || r.Type != w.typ || *r.Major != w.major || *r.Minor != w.minor || r.Access != "rwm" {
			t.Errorf("rule %d = {allow %v %s %d:%d %s}, want allow %s %d:%d rwm", defaults+i, r.Allow, r.Type, *r.Major, *r.Minor, r.Access, w.typ, w.major, w.minor)
		}
	}
}
