package libcontainer

import "testing"

// A root container's unit is where its cgroupsPath says; a rootless one's
// sits below its user manager's cgroup, which only the unit's part, ending
// the path at a name boundary, tells.
func TestSystemdPlaced(t *testing.T) {
	const user = "/user.slice/user-1000.slice/user@1000.service"
	for _, tc := range []struct {
		cgroupsPath, got string
		rootless, want   bool
	}{
		{"system.slice:oci-rt:c1", "/system.slice/oci-rt-c1.scope", false, true},
		{"system.slice:oci-rt:c1", "/other/system.slice/oci-rt-c1.scope", false, false},
		{"user.slice:oci-rt:c1", user + "/user.slice/oci-rt-c1.scope", true, true},
		{"user.slice:oci-rt:c1", user + "/user.slice/oci-rt-c1.scope", false, false},
		{"user.slice:oci-rt:c1", user + "/user.slice/xoci-rt-c1.scope", true, false},
		{"user.slice:oci-rt:c1", user + "/app.slice/oci-rt-c1.scope", true, false},
		{"", user + "/oci-rt-c1.scope", true, true},
		{"bad", user + "/oci-rt-c1.scope", true, false},
	} {
		if got := systemdPlaced(tc.cgroupsPath, "c1", tc.got, tc.rootless); got != tc.want {
			t.Errorf("systemdPlaced(%q, %q, rootless %v) = %v, want %v", tc.cgroupsPath, tc.got, tc.rootless, got, tc.want)
		}
	}
}
