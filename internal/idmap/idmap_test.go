package idmap

import "testing"

func TestOutside(t *testing.T) {
	for _, tc := range []struct {
		idMap  string
		id     uint32
		want   uint32
		mapped bool
	}{
		{"         0     100000      65536\n", 0, 100000, true},
		// 0 on a later line, after one that does not map it.
		{"1000 1000 1\n0 200000 1000\n", 0, 200000, true},
		// A map that leaves 0 out, as rootless maps may.
		{"1 100001 65535\n", 0, 0, false},
		{"", 0, 0, false},
		// A line of no ids at all maps nothing.
		{"0 300000 0\n", 0, 0, false},
		// The host's own map, and an id inside a range.
		{"         0          0 4294967295\n", 1000, 1000, true},
		{"         0       1001          1\n         1     100000      65536\n", 1000, 100999, true},
	} {
		got, mapped, err := Outside(tc.idMap, tc.id)
		if err != nil || got != tc.want || mapped != tc.mapped {
			t.Errorf("Outside(%q, %d) = %d, %v, %v; want %d, %v", tc.idMap, tc.id, got, mapped, err, tc.want, tc.mapped)
		}
	}
	for _, bad := range []string{"0 100000\n", "0 x 1\n", "0 -1 5\n"} {
		if _, _, err := Outside(bad, 0); err == nil {
			t.Errorf("Outside(%q) took a line that is no map's", bad)
		}
	}
}
