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

func TestFirstUnmapped(t *testing.T) {
	const rootless = "         0       1001          1\n         1     100000      65536\n"
	for _, tc := range []struct {
		idMap        string
		start, count uint32
		want         uint32
		unmapped     bool
	}{
		// The host's map has every id.
		{"         0          0 4294967295\n", 0, 4294967295, 0, false},
		{"         0          0 4294967295\n", 4294967294, 1, 0, false},
		// A map of one id: that one alone.
		{"0 1001 1\n", 0, 1, 0, false},
		{"0 1001 1\n", 1001, 1, 1001, true},
		{"0 1001 1\n", 0, 2, 1, true},
		// A range over two lines that meet is covered; one that runs past
		// the last is not, at the first id past it.
		{rootless, 0, 65537, 0, false},
		{rootless, 60000, 5537, 0, false},
		{rootless, 60000, 6000, 65537, true},
		// Lines out of order, with a gap between them.
		{"10 500 10\n0 100 5\n", 0, 5, 0, false},
		{"10 500 10\n0 100 5\n", 3, 10, 5, true},
		{"10 500 10\n0 100 5\n", 12, 8, 0, false},
		{"", 7, 1, 7, true},
	} {
		got, unmapped, err := FirstUnmapped(tc.idMap, tc.start, tc.count)
		if err != nil || got != tc.want || unmapped != tc.unmapped {
			t.Errorf("FirstUnmapped(%q, %d, %d) = %d, %v, %v; want %d, %v", tc.idMap, tc.start, tc.count, got, unmapped, err, tc.want, tc.unmapped)
		}
	}
	if _, _, err := FirstUnmapped("0 1\n", 0, 1); err == nil {
		t.Error("FirstUnmapped took a line that is no map's")
	}
}
