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

// ResourceDriver is a driver's part in setting resources; Apply and Update
// take the same steps in the same order on every driver.
type ResourceDriver interface {
	// PlanResources validates and converts every field of r except the
	// device rules, changing nothing, and returns what writes the result.
	PlanResources(r *specs.LinuxResources) (write func() error, err error)
	// CheckMemoryUsage refuses a memory (or memory+swap) limit at or
	// below the cgroup's current usage.
	CheckMemoryUsage(limit, swap int64) error
	// SetDevices replaces the cgroup's device rules without a moment in
	// which it is less restricted than both the old and the new rules.
	SetDevices(rules []specs.LinuxDeviceCgroup) error
}

// ApplyResources sets a container's resources at creation, before its
// process runs. Everything is validated first, so an invalid configuration
// changes nothing. Device rules are always set: nil or empty r.Devices
// denies every device, so callers append devices.DefaultAllowedDevices
// (and rules for the configured device nodes) to the spec's rules.
func ApplyResources(d ResourceDriver, r *specs.LinuxResources) error {
	write, err := d.PlanResources(r)
	if err != nil {
		return err
	}
	var devs []specs.LinuxDeviceCgroup
	if r != nil {
		devs = r.Devices
	}
	if err := d.SetDevices(devs); err != nil {
		return err
	}
	return write()
}

// UpdateResources changes the resources of a running container. Only the
// fields set in r change; device rules are replaced only if r.Devices is
// non-nil. With memory.checkBeforeUpdate, a memory (or memory+swap) limit
// at or below the current usage is refused instead of making the kernel
// reclaim or OOM-kill.
func UpdateResources(d ResourceDriver, r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	write, err := d.PlanResources(r)
	if err != nil {
		return err
	}
	if mem := r.Memory; mem != nil && Deref(mem.CheckBeforeUpdate) {
		if err := d.CheckMemoryUsage(Deref(mem.Limit), Deref(mem.Swap)); err != nil {
			return err
		}
	}
	if r.Devices != nil {
		if err := d.SetDevices(r.Devices); err != nil {
			return err
		}
	}
	return write()
}
