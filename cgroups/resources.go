package cgroups

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Warn reports a configuration value that is accepted but has no effect
// on this host (runc logs the same values as warnings). The CLI points it
// at its log; by default it is silent, since clients read stderr.
var Warn = func(string) {}

// Deref is *p, or the zero value for nil: the spec's optional fields.
func Deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// PidsValue is the pids.max value for r, the same in v1 and v2; false
// when nothing is to be written. As runc reads it, 0 means unset (Podman
// sends it for "no limit") and a negative limit means unlimited.
func PidsValue(r *specs.LinuxResources) (string, bool) {
	if r.Pids == nil || r.Pids.Limit == nil || *r.Pids.Limit == 0 {
		return "", false
	}
	if l := *r.Pids.Limit; l > 0 {
		return strconv.FormatInt(l, 10), true
	}
	return "max", true
}

var hugepageSize = regexp.MustCompile(`^[1-9][0-9]*[KMG]B$`)

// CheckHugepageSize refuses a hugepageLimits page size that could not be
// part of a hugetlb file name.
func CheckHugepageSize(size string) error {
	if !hugepageSize.MatchString(size) {
		return fmt.Errorf("hugepageLimits: page size %q is not of the form <number>KB/MB/GB", size)
	}
	return nil
}

// RdmaLines renders rdma limits as rdma.max lines (same format in v1 and
// v2), one per device, in a stable order.
func RdmaLines(limits map[string]specs.LinuxRdma) ([]string, error) {
	var out []string
	for _, dev := range slices.Sorted(maps.Keys(limits)) {
		if dev == "" || strings.ContainsFunc(dev, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '=' }) {
			return nil, fmt.Errorf("rdma: invalid device name %q", dev)
		}
		l := limits[dev]
		v := dev
		if l.HcaHandles != nil {
			v += " hca_handle=" + strconv.FormatUint(uint64(*l.HcaHandles), 10)
		}
		if l.HcaObjects != nil {
			v += " hca_object=" + strconv.FormatUint(uint64(*l.HcaObjects), 10)
		}
		if v != dev {
			out = append(out, v)
		}
	}
	return out, nil
}
