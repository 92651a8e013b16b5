package libcontainer

import (
	"errors"
	"maps"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParsePingGroupRange(t *testing.T) {
	for _, tc := range []struct {
		value     string
		low, high uint32
		ok        bool
	}{
		{"0 1", 0, 1, true},
		{" 5\t5\n", 5, 5, true},
		{"0 2147483647", 0, 2147483647, true},
		{"1 0", 1, 0, true},
		// The kernel's bound, its octal and hex, and what is not two ids
		// are left to the kernel.
		{"0 2147483648", 0, 0, false},
		{"0 010", 0, 0, false},
		{"0 0x10", 0, 0, false},
		{"-1 5", 0, 0, false},
		{"0", 0, 0, false},
		{"0 1 2", 0, 0, false},
		{"", 0, 0, false},
	} {
		low, high, ok := parsePingGroupRange(tc.value)
		if low != tc.low || high != tc.high || ok != tc.ok {
			t.Errorf("parsePingGroupRange(%q) = %d, %d, %v; want %d, %d, %v", tc.value, low, high, ok, tc.low, tc.high, tc.ok)
		}
	}
}

func TestSysctlsFromOutside(t *testing.T) {
	const shifted = "0 100000 65536\n"
	// Groups 0 and 1 the other way round outside.
	const swapped = "0 100001 1\n1 100000 1\n2 100002 65534\n"
	for _, tc := range []struct {
		value, gidMap, want string
	}{
		{"0 1", shifted, "100000 100001"},
		{"7 7", shifted, "100007 100007"},
		// Off in the container stays off: the high end below the low.
		{"1 0", shifted, "100001 100000"},
		{"1 0", swapped, "100001 100000"},
		{"0 1", swapped, "100001 100000"},
	} {
		in := map[string]string{"kernel.msgmax": "4242", pingGroupRange: tc.value}
		got, err := sysctlsFromOutside(in, tc.gidMap)
		if err != nil || got[pingGroupRange] != tc.want || got["kernel.msgmax"] != "4242" {
			t.Errorf("sysctlsFromOutside(%q, %q) = %v, %v; want %s", tc.value, tc.gidMap, got, err, tc.want)
		}
		if in[pingGroupRange] != tc.value {
			t.Errorf("sysctlsFromOutside changed the spec's value to %q", in[pingGroupRange])
		}
	}
	if _, err := sysctlsFromOutside(map[string]string{pingGroupRange: "0 70000"}, shifted); !errors.Is(err, unix.EINVAL) {
		t.Errorf("an unmapped group gave %v, want EINVAL as the kernel's", err)
	}
	plain := map[string]string{"kernel.msgmax": "4242"}
	if got, err := sysctlsFromOutside(plain, shifted); err != nil || !maps.Equal(got, plain) {
		t.Errorf("sysctls without ping_group_range became %v, %v", got, err)
	}
}
