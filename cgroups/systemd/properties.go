package systemd

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/cgroups/devices"
	"github.com/oci-rt/oci-rt/cgroups/fs2"
)

// infinity is systemd's "no limit" for every uint64 limit property (and
// what -1, the spec's "unlimited", becomes as a uint64).
const infinity = uint64(math.MaxUint64)

// defaultCPUPeriod is the kernel's CFS period, which a quota without a
// period is relative to.
const defaultCPUPeriod = 100000

func prop(name string, value any) sd.Property {
	return sd.Property{Name: name, Value: godbus.MakeVariant(value)}
}

// Properties converts the resources systemd has a unit property for, as
// runc's systemd driver does, so that systemd applies the same values the
// fs/fs2 driver writes and re-applies them, not its defaults, whenever it
// realizes the cgroup again (daemon-reload, a property change). unified
// selects the cgroup v2 names. Device properties are only made when
// r.Devices is not nil (an update without device rules keeps them). warn
// receives what systemd cannot express.
func Properties(r *specs.LinuxResources, unified bool, warn func(string)) ([]sd.Property, error) {
	if r == nil {
		return nil, nil
	}
	var props []sd.Property
	add := func(p ...sd.Property) { props = append(props, p...) }
	if m := r.Memory; m != nil {
		limit := cgroups.Deref(m.Limit)
		if limit != 0 {
			add(prop(map[bool]string{true: "MemoryMax", false: "MemoryLimit"}[unified], uint64(limit)))
		}
		if unified {
			if low := cgroups.Deref(m.Reservation); low != 0 {
				add(prop("MemoryLow", uint64(low)))
			}
			swap, err := fs2.SwapMax(cgroups.Deref(m.Swap), limit)
			if err != nil {
				return nil, err
			}
			if swap != 0 {
				add(prop("MemorySwapMax", uint64(swap)))
			}
		}
	}
	if c := r.CPU; c != nil {
		if shares := cgroups.Deref(c.Shares); shares != 0 {
			if unified {
				add(prop("CPUWeight", fs2.CPUWeight(shares)))
			} else {
				add(prop("CPUShares", shares))
			}
		}
		add(cpuQuota(cgroups.Deref(c.Quota), cgroups.Deref(c.Period))...)
		cpuset, err := cpusetProps(c.Cpus, c.Mems)
		if err != nil {
			return nil, err
		}
		add(cpuset...)
	}
	if p := r.Pids; p != nil {
		if l := cgroups.Deref(p.Limit); l > 0 || l == -1 {
			add(prop("TasksMax", uint64(l)))
		}
	}
	if b := r.BlockIO; b != nil && cgroups.Deref(b.Weight) != 0 {
		if unified {
			w, err := fs2.IOWeight(*b.Weight)
			if err != nil {
				return nil, err
			}
			add(prop("IOWeight", w))
		} else {
			add(prop("BlockIOWeight", uint64(*b.Weight)))
		}
	}
	if unified {
		// After the fields: fs2 writes the unified map last, so its values
		// win in the files, and systemd takes the last of two settings.
		u, err := unifiedProps(r.Unified)
		if err != nil {
			return nil, err
		}
		add(u...)
	}
	if r.Devices != nil {
		d, err := deviceProps(r.Devices, warn)
		if err != nil {
			return nil, err
		}
		add(d...)
	}
	return props, nil
}

// cpuQuota converts a CFS quota and period. systemd keeps the quota as
// CPU time per second and persists transient units' settings (which a
// daemon-reload reads back) as a percentage, so, as runc does, a quota
// that is not a whole percent of a CPU is rounded up to the next one: the
// container can then still set the exact quota in a sub-cgroup. A
// non-positive quota is no limit.
func cpuQuota(quota int64, period uint64) []sd.Property {
	if quota == 0 && period == 0 {
		return nil
	}
	var props []sd.Property
	if period != 0 {
		props = append(props, prop("CPUQuotaPeriodUSec", period))
	}
	perSec := infinity
	if quota > 0 {
		if period == 0 {
			period = defaultCPUPeriod
		}
		const percent = 10000 // µs of CPU time per second
		perSec = uint64(quota) * 1000000 / period
		if perSec%percent != 0 {
			perSec = (perSec/percent + 1) * percent
		}
	}
	return append(props, prop("CPUQuotaPerSecUSec", perSec))
}

func cpusetProps(cpus, mems string) ([]sd.Property, error) {
	var props []sd.Property
	for _, s := range []struct {
		name, list, what string
		parse            func(string, int) (cgroups.Bitmap, error)
		limit            int
	}{
		{"AllowedCPUs", cpus, "cpu.cpus", cgroups.ParseCPUList, cgroups.MaxCPUs},
		{"AllowedMemoryNodes", mems, "cpu.mems", cgroups.ParseNodeList, cgroups.MaxNodes},
	} {
		if s.list == "" {
			continue
		}
		set, err := s.parse(s.list, s.limit)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", s.what, s.list, err)
		}
		props = append(props, prop(s.name, set.Bytes()))
	}
	return props, nil
}

// unifiedProps converts the linux.resources.unified entries systemd
// manages itself (and would otherwise reset to its defaults); the rest are
// files only the fs2 driver writes.
func unifiedProps(unified map[string]string) ([]sd.Property, error) {
	var props []sd.Property
	for _, key := range []string{"cpu.weight", "cpu.max", "cpuset.cpus", "cpuset.mems", "memory.min", "memory.low", "memory.high", "memory.max", "memory.swap.max", "pids.max"} {
		v, ok := unified[key]
		if !ok {
			continue
		}
		p, err := unifiedProp(key, strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("unified %s=%q: %w", key, v, err)
		}
		props = append(props, p...)
	}
	return props, nil
}

func unifiedProp(key, v string) ([]sd.Property, error) {
	switch key {
	case "cpu.weight":
		w, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, err
		}
		return []sd.Property{prop("CPUWeight", w)}, nil
	case "cpu.max":
		return unifiedCPUMax(v)
	case "cpuset.cpus", "cpuset.mems":
		if key == "cpuset.cpus" {
			return cpusetProps(v, "")
		}
		return cpusetProps("", v)
	}
	limit := infinity
	if v != "max" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, err
		}
		limit = n
	}
	name := map[string]string{
		"memory.min": "MemoryMin", "memory.low": "MemoryLow", "memory.high": "MemoryHigh",
		"memory.max": "MemoryMax", "memory.swap.max": "MemorySwapMax", "pids.max": "TasksMax",
	}[key]
	return []sd.Property{prop(name, limit)}, nil
}

// unifiedCPUMax reads cpu.max's "quota [period]" ("max" for no quota).
func unifiedCPUMax(v string) ([]sd.Property, error) {
	fields := strings.Fields(v)
	if len(fields) == 0 || len(fields) > 2 {
		return nil, fmt.Errorf("expected \"quota [period]\"")
	}
	quota := int64(-1)
	if fields[0] != "max" {
		q, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || q <= 0 {
			return nil, fmt.Errorf("bad quota %q", fields[0])
		}
		quota = q
	}
	var period uint64
	if len(fields) == 2 {
		p, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil || p == 0 {
			return nil, fmt.Errorf("bad period %q", fields[1])
		}
		period = p
	}
	return cpuQuota(quota, period), nil
}

// deviceAllow is one DeviceAllow entry on the wire, a D-Bus (ss).
type deviceAllow struct {
	Path  string
	Perms string
}

// deviceProps sets the policy and replaces the allow list: an empty
// DeviceAllow first clears what the unit had (an update replaces rules).
func deviceProps(rules []specs.LinuxDeviceCgroup, warn func(string)) ([]sd.Property, error) {
	pol, err := devices.ToSystemd(rules)
	if err != nil {
		return nil, err
	}
	for _, s := range pol.Skipped {
		warn("systemd device rules: not expressed: " + s)
	}
	allow := make([]deviceAllow, 0, len(pol.Allow))
	for _, a := range pol.Allow {
		allow = append(allow, deviceAllow(a))
	}
	props := []sd.Property{prop("DevicePolicy", pol.Policy), prop("DeviceAllow", []deviceAllow{})}
	if len(allow) > 0 {
		props = append(props, prop("DeviceAllow", allow))
	}
	return props, nil
}
