package cgroups

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Conversion is a driver's batch of file writes for one LinuxResources.
// The resources whose conversion is the same on v1 and v2 but for file
// names (pids, hugetlb, rdma) are converted here, on either driver's.
type Conversion interface {
	// Need fails unless ctrl is usable in the cgroup; what names the
	// setting that needs it.
	Need(ctrl, what string) error
	// Has tells whether the cgroup has ctrl's (optional) file.
	Has(ctrl, file string) bool
	// Add queues value for ctrl's file.
	Add(ctrl, file, value string)
}

// ConvertPids sets pids.max. As runc reads the limit, 0 means unset
// (Podman sends it for "no limit") and a negative one means unlimited.
func ConvertPids(c Conversion, r *specs.LinuxResources) error {
	if r.Pids == nil || r.Pids.Limit == nil || *r.Pids.Limit == 0 {
		return nil
	}
	if err := c.Need("pids", "linux.resources.pids"); err != nil {
		return err
	}
	v := "max"
	if l := *r.Pids.Limit; l > 0 {
		v = strconv.FormatInt(l, 10)
	}
	c.Add("pids", "pids.max", v)
	return nil
}

// The patterns are compiled on first use, not in the package init that
// every runtime process (each container init too) runs.
var hugepageSize = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[1-9][0-9]*[KMG]B$`) })

// ConvertHugetlb sets hugetlb.<size>.<limitFile> for each page size
// ("max" on v2, "limit_in_bytes" on v1). The spec asks for reservation
// limits where the kernel has them (5.7+): they also cover pages reserved
// by mmap but not yet touched, so hugetlb.<size>.rsvd.<limitFile> gets
// the same value.
func ConvertHugetlb(c Conversion, r *specs.LinuxResources, limitFile string) error {
	if len(r.HugepageLimits) == 0 {
		return nil
	}
	if err := c.Need("hugetlb", "linux.resources.hugepageLimits"); err != nil {
		return err
	}
	for _, h := range r.HugepageLimits {
		if !hugepageSize().MatchString(h.Pagesize) {
			return fmt.Errorf("hugepageLimits: page size %q is not of the form <number>KB/MB/GB", h.Pagesize)
		}
		limit := "hugetlb." + h.Pagesize + "." + limitFile
		if !c.Has("hugetlb", limit) {
			return fmt.Errorf("hugepageLimits: page size %s is not supported by this kernel (no %s)", h.Pagesize, limit)
		}
		v := strconv.FormatUint(h.Limit, 10)
		c.Add("hugetlb", limit, v)
		if rsvd := "hugetlb." + h.Pagesize + ".rsvd." + limitFile; c.Has("hugetlb", rsvd) {
			c.Add("hugetlb", rsvd, v)
		}
	}
	return nil
}

// ConvertRdma sets rdma.max, one line per device, in a stable order.
func ConvertRdma(c Conversion, r *specs.LinuxResources) error {
	if len(r.Rdma) == 0 {
		return nil
	}
	if err := c.Need("rdma", "linux.resources.rdma"); err != nil {
		return err
	}
	for _, dev := range slices.Sorted(maps.Keys(r.Rdma)) {
		if dev == "" || strings.ContainsFunc(dev, func(ch rune) bool { return ch <= ' ' || ch == 0x7f || ch == '=' }) {
			return fmt.Errorf("rdma: invalid device name %q", dev)
		}
		l := r.Rdma[dev]
		v := dev
		if l.HcaHandles != nil {
			v += " hca_handle=" + strconv.FormatUint(uint64(*l.HcaHandles), 10)
		}
		if l.HcaObjects != nil {
			v += " hca_object=" + strconv.FormatUint(uint64(*l.HcaObjects), 10)
		}
		if v != dev {
			c.Add("rdma", "rdma.max", v)
		}
	}
	return nil
}
