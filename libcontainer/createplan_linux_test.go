package libcontainer

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// pingGroupRangeCases are ping_group_range values and what
// parsePingGroupRange reads in them.
var pingGroupRangeCases = []struct {
	value     string
	low, high uint32
	ok        bool
}{
	{"0 1", 0, 1, true},
	{" 5\t5\n", 5, 5, true},
	{"0 2147483647", 0, 2147483647, true},
	{"0 4294967294", 0, 4294967294, true},
	{"1 0", 1, 0, true},
	// The kernel's strtoul with base 0: octal after a 0, hex after
	// 0x or 0X.
	{"010 0x10", 8, 16, true},
	{"00 0X7fffffff", 0, 2147483647, true},
	{"0 0xfffffffe", 0, 4294967294, true},
	{"0 017777777777", 0, 2147483647, true},
	{"0 00000000000000000001", 0, 1, true},
	// Beyond the kernel's bound, what it refuses (a digit its base
	// has not, a sign, a number too long for it to see its end) and
	// what is not two ids between blanks are left to the kernel.
	{"0 4294967295", 0, 0, false},
	{"0 0xffffffff", 0, 0, false},
	{"0 08", 0, 0, false},
	{"0 0x", 0, 0, false},
	{"0 0x1g", 0, 0, false},
	{"0 000000000000000000001", 0, 0, false},
	{"0 99999999999999999999", 0, 0, false},
	{"-1 5", 0, 0, false},
	{"+1 5", 0, 0, false},
	{"1\v2", 0, 0, false},
	{"1 2\r", 0, 0, false},
	{"0", 0, 0, false},
	{"0 1 2", 0, 0, false},
	{"", 0, 0, false},
}

func TestParsePingGroupRange(t *testing.T) {
	for _, tc := range pingGroupRangeCases {
		low, high, ok := parsePingGroupRange(tc.value)
		if low != tc.low || high != tc.high || ok != tc.ok {
			t.Errorf("parsePingGroupRange(%q) = %d, %d, %v; want %d, %d, %v", tc.value, low, high, ok, tc.low, tc.high, tc.ok)
		}
	}
}

// Where parsePingGroupRange reads two ids the setup thread gives them in
// decimal: the kernel must read the same two in the value as written.
// Each value is written in a network namespace of its own, by root in the
// host's user namespace, where the ids are the kernel's own.
func TestParsePingGroupRangeReadsAsTheKernel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	const script = `f=/proc/sys/net/ipv4/ping_group_range; printf '%s' "$1" >$f && cat $f`
	for _, tc := range pingGroupRangeCases {
		low, high, ok := parsePingGroupRange(tc.value)
		if !ok {
			continue
		}
		out, err := exec.Command("unshare", "--net", "sh", "-c", script, "sh", tc.value).CombinedOutput()
		if got, want := strings.Join(strings.Fields(string(out)), " "), fmt.Sprintf("%d %d", low, high); err != nil || got != want {
			t.Errorf("the kernel took ping_group_range %q as %q (%v), parsePingGroupRange as %q", tc.value, got, err, want)
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
