package systemd

import "testing"

// The id the session bus sees: the host's for this namespace's id.
func TestHostID(t *testing.T) {
	for _, tc := range []struct {
		uidMap   string
		id, want int
		ok       bool
	}{
		{"         0          0 4294967295\n", 1000, 1000, true},
		{"         0       1001          1\n         1     100000      65536\n", 0, 1001, true},
		{"         0       1001          1\n         1     100000      65536\n", 1000, 100999, true},
		{"         0       1001          1\n", 5, 0, false},
	} {
		got, err := hostID(tc.uidMap, tc.id)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("hostID(%q, %d) = %d, %v; want %d (ok %v)", tc.uidMap, tc.id, got, err, tc.want, tc.ok)
		}
	}
}
