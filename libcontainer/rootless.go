package libcontainer

import (
	"errors"
	"fmt"
	"io/fs"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runWithoutCgroup decides, as runc does, that a container goes on without
// a cgroup: only under --rootless, when the cgroup could not be created for
// lack of permission (an unprivileged user with no delegated subtree), and
// when the config names no cgroupsPath (a cgroup it asked for by name is
// required). A limit the config sets then fails create, since nothing
// could enforce it; device rules are dropped, as the user namespace
// already keeps the container from creating or opening a device node the
// caller could not.
func runWithoutCgroup(err error, rootless bool, spec *specs.Spec) (bool, error) {
	if !rootless || !errors.Is(err, fs.ErrPermission) || spec.Linux.CgroupsPath != "" {
		return false, err
	}
	if name := cgroupLimit(spec.Linux.Resources); name != "" {
		return false, fmt.Errorf("cannot set %s limit: container could not join or create cgroup: %w", name, err)
	}
	return true, nil
}

// cgroupLimit names the controller of the first limit r sets other than
// device rules, or "" when it sets none.
func cgroupLimit(r *specs.LinuxResources) string {
	if r == nil {
		return ""
	}
	limits := []struct {
		name string
		set  bool
	}{
		{"memory", r.Memory != nil && (r.Memory.Limit != nil || r.Memory.Reservation != nil || r.Memory.Swap != nil ||
			r.Memory.Kernel != nil || r.Memory.KernelTCP != nil || r.Memory.Swappiness != nil ||
			r.Memory.DisableOOMKiller != nil)},
		{"cpu", r.CPU != nil && (r.CPU.Shares != nil || r.CPU.Quota != nil || r.CPU.Burst != nil || r.CPU.Period != nil ||
			r.CPU.RealtimeRuntime != nil || r.CPU.RealtimePeriod != nil || r.CPU.Idle != nil)},
		{"cpuset", r.CPU != nil && (r.CPU.Cpus != "" || r.CPU.Mems != "")},
		{"pids", r.Pids != nil && r.Pids.Limit != nil},
		{"blkio", r.BlockIO != nil && (r.BlockIO.Weight != nil || r.BlockIO.LeafWeight != nil || len(r.BlockIO.WeightDevice) > 0 ||
			len(r.BlockIO.ThrottleReadBpsDevice)+len(r.BlockIO.ThrottleWriteBpsDevice)+
				len(r.BlockIO.ThrottleReadIOPSDevice)+len(r.BlockIO.ThrottleWriteIOPSDevice) > 0)},
		{"hugetlb", len(r.HugepageLimits) > 0},
		{"net_cls", r.Network != nil && r.Network.ClassID != nil},
		{"net_prio", r.Network != nil && len(r.Network.Priorities) > 0},
		{"rdma", len(r.Rdma) > 0},
		{"unified", len(r.Unified) > 0},
	}
	for _, l := range limits {
		if l.set {
			return l.name
		}
	}
	return ""
}

// hasPidNamespace: the config puts the container in a pid namespace of its
// own, whose processes all die with its init.
func hasPidNamespace(spec *specs.Spec) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.PIDNamespace {
			return true
		}
	}
	return false
}
