package libcontainer

import "testing"

func TestHostIDOfZero(t *testing.T) {
	for _, tc := range []struct {
		idMap string
		want  int
	}{
		{"         0     100000      65536\n", 100000},
		// 0 on a later line, after one that does not map it.
		{"1000 1000 1\n0 200000 1000\n", 200000},
		// A map that leaves 0 out, as rootless maps may.
		{"1 100001 65535\n", -1},
		{"", -1},
		// A line of no ids at all maps nothing.
		{"0 300000 0\n", -1},
	} {
		got, err := hostIDOfZero(tc.idMap)
		if err != nil || got != tc.want {
			t.Errorf("hostIDOfZero(%q) = %d, %v; want %d", tc.idMap, got, err, tc.want)
		}
	}
	for _, bad := range []string{"0 100000\n", "0 x 1\n", "0 -1 5\n"} {
		if _, err := hostIDOfZero(bad); err == nil {
			t.Errorf("hostIDOfZero(%q) took a line that is no map's", bad)
		}
	}
}
