package libcontainer

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/cgroups/devices"
)

// The filter is the configured rules followed by the default allow list,
// and nothing else: a node listed in linux.devices is created in the
// container but gets no rule, so a deny-all config keeps it unusable.
func TestContainerDeviceRulesAreConfigPlusDefaults(t *testing.T) {
	major, minor := int64(1), int64(11)
	configured := []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "w"},
	}
	got := containerDeviceRules(configured)
	defaults := devices.DefaultAllowedDevices()
	if len(got) != len(configured)+len(defaults) {
		t.Fatalf("got %d rules, want the %d configured + %d defaults: %+v", len(got), len(configured), len(defaults), got)
	}
	for i, want := range append(append([]specs.LinuxDeviceCgroup{}, configured...), defaults...) {
		r := got[i]
		if r.Allow != want.Allow || r.Type != want.Type || r.Access != want.Access || !sameNumber(r.Major, want.Major) || !sameNumber(r.Minor, want.Minor) {
			t.Errorf("rule %d = %+v, want %+v", i, r, want)
		}
	}
	if got := containerDeviceRules(nil); len(got) != len(defaults) {
		t.Errorf("no configured rules: got %d rules, want the %d defaults", len(got), len(defaults))
	}
}

func sameNumber(a, b *int64) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}
