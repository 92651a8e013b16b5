package fs2

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/cgroups"
)

// write is one value for one interface file. Cgroup files take one value per
// write(2) (io.max takes one device per write), so a resource can need
// several writes to the same file.
type write struct {
	file, value string
	// retryLast marks a write whose validity depends on another one in the
	// same batch (cpu.max.burst must not exceed the quota in cpu.max, old or
	// new): if it fails it is tried again after all other writes.
	retryLast bool
}

// cgroupEnv is what the conversion needs to know about the target cgroup.
type cgroupEnv struct {
	controllers map[string]bool
	has         func(file string) bool // optional interface files
}

// conversion accumulates the writes for one LinuxResources.
type conversion struct {
	env    cgroupEnv
	writes []write
}

func (c *conversion) add(file, value string) {
	c.writes = append(c.writes, write{file: file, value: value})
}

// Add is add for the conversions shared with v1: in the one unified
// hierarchy a file's name is enough.
func (c *conversion) Add(_, file, value string) { c.add(file, value) }

// Has tells whether the cgroup has an optional interface file.
func (c *conversion) Has(_, file string) bool { return c.env.has(file) }

// Need fails unless controller is usable in the cgroup. On a hybrid host the
// unified hierarchy usually has none, and a limit that silently does not
// apply is worse than a container that does not start.
func (c *conversion) Need(controller, what string) error {
	if c.env.controllers[controller] {
		return nil
	}
	return fmt.Errorf("%s needs the cgroup v2 %q controller, which is not available in this cgroup (enabled: %s)",
		what, controller, strings.Join(slices.Sorted(maps.Keys(c.env.controllers)), " "))
}

// convertResources maps every linux.resources field except devices (the
// BPF filter, see SetDevices) to interface-file writes, validating all of it
// before anything is written. Unset fields produce no write.
func convertResources(r *specs.LinuxResources, env cgroupEnv) ([]write, error) {
	c := &conversion{env: env}
	if r == nil {
		return nil, nil
	}
	for _, step := range []func(*specs.LinuxResources) error{
		c.memory, c.cpu, c.pids, c.blockIO, c.hugetlb, c.rdma, c.network, c.unified,
	} {
		if err := step(r); err != nil {
			return nil, err
		}
	}
	return c.writes, nil
}

// The conversions that are the same on v1 (see cgroups.Conversion).
func (c *conversion) pids(r *specs.LinuxResources) error { return cgroups.ConvertPids(c, r) }
func (c *conversion) hugetlb(r *specs.LinuxResources) error {
	return cgroups.ConvertHugetlb(c, r, "max")
}
func (c *conversion) rdma(r *specs.LinuxResources) error { return cgroups.ConvertRdma(c, r) }

// limitString renders a spec limit: -1 is "max", 0 means unset ("" and no
// write), other negatives are invalid.
func limitString(what string, v int64) (string, error) {
	switch {
	case v == -1:
		return "max", nil
	case v < 0:
		return "", fmt.Errorf("%s: invalid value %d", what, v)
	case v == 0:
		return "", nil
	}
	return strconv.FormatInt(v, 10), nil
}

// SwapMax converts the spec's memory+swap total into the swap-only value of
// memory.swap.max, as runc does: unlimited memory without a swap setting
// means unlimited swap; -1 stays "max"; 0 stays unset.
func SwapMax(swap, limit int64) (int64, error) {
	switch {
	case limit == -1 && swap == 0:
		return -1, nil
	case swap == -1 || swap == 0:
		return swap, nil
	case limit == 0 || limit == -1:
		return 0, errors.New("memory.swap: a swap limit needs a memory limit")
	case limit < 0:
		return 0, fmt.Errorf("memory.limit: invalid value %d", limit)
	case swap < limit:
		return 0, fmt.Errorf("memory.swap (%d) is memory+swap and must be at least memory.limit (%d)", swap, limit)
	}
	return swap - limit, nil
}

func (c *conversion) memory(r *specs.LinuxResources) error {
	m := r.Memory
	if m == nil {
		return nil
	}
	//nolint:staticcheck // runc still accepts the deprecated field, and so do we
	if m.Kernel != nil {
		cgroups.Warn("linux.resources.memory.kernel is ignored: kernel memory limits do not exist in cgroup v2")
	}
	if m.KernelTCP != nil {
		cgroups.Warn("linux.resources.memory.kernelTCP is ignored: kernel TCP memory limits do not exist in cgroup v2")
	}
	switch {
	case m.Swappiness != nil:
		return errors.New("memory.swappiness: cgroup v2 has no per-cgroup swappiness")
	case cgroups.Deref(m.DisableOOMKiller):
		return errors.New("memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer")
	case m.UseHierarchy != nil && !*m.UseHierarchy:
		return errors.New("memory.useHierarchy=false: cgroup v2 accounting is always hierarchical")
	}
	limit, swap := cgroups.Deref(m.Limit), cgroups.Deref(m.Swap)
	limitStr, err := limitString("memory.limit", limit)
	if err != nil {
		return err
	}
	resStr, err := limitString("memory.reservation", cgroups.Deref(m.Reservation))
	if err != nil {
		return err
	}
	sw, err := SwapMax(swap, limit)
	if err != nil {
		return err
	}
	swapStr, err := limitString("memory.swap", sw)
	if err != nil {
		return err
	}
	if swap > 0 && sw == 0 {
		// memory+swap equal to memory: no swap at all, not "unset".
		swapStr = "0"
	}
	if limitStr == "" && resStr == "" && swapStr == "" {
		return nil
	}
	if err := c.Need("memory", "linux.resources.memory"); err != nil {
		return err
	}
	if swapStr != "" {
		switch {
		case c.env.has("memory.swap.max"):
			c.add("memory.swap.max", swapStr)
		case swapStr != "max":
			// Without swap accounting (no swap configured) an unlimited
			// swap is what the kernel does anyway; a finite one cannot be
			// enforced.
			return errors.New("memory.swap: this kernel has no swap accounting (memory.swap.max)")
		}
	}
	if limitStr != "" {
		c.add("memory.max", limitStr)
	}
	if resStr != "" {
		c.add("memory.low", resStr)
	}
	return nil
}

// CPUWeight converts cgroup v1 cpu shares [2, 262144] to cpu.weight
// [1, 10000] with runc's current formula (runc PR #4785, also crun's): a
// curve through 2→1, 1024→100 (the two defaults) and 262144→10000, instead
// of the older linear mapping that gave the default 1024 shares a weight of
// 39. 7/34 is written as 126/612 so that 1024 lands exactly on 100.
func CPUWeight(shares uint64) uint64 {
	switch {
	case shares == 0:
		return 0
	case shares <= 2:
		return 1
	case shares >= 262144:
		return 10000
	}
	l := math.Log2(float64(shares))
	return uint64(math.Ceil(math.Pow(10, (l*l+125*l-126)/612)))
}

func (c *conversion) cpu(r *specs.LinuxResources) error {
	p := r.CPU
	if p == nil {
		return nil
	}
	if cgroups.Deref(p.RealtimeRuntime) != 0 || cgroups.Deref(p.RealtimePeriod) != 0 {
		return errors.New("cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no realtime CPU bandwidth")
	}
	shares, quota, period := cgroups.Deref(p.Shares), cgroups.Deref(p.Quota), cgroups.Deref(p.Period)
	if p.Idle != nil || shares != 0 || quota != 0 || period != 0 || p.Burst != nil {
		if err := c.Need("cpu", "linux.resources.cpu"); err != nil {
			return err
		}
	}
	if p.Idle != nil {
		if *p.Idle != 0 && *p.Idle != 1 {
			return fmt.Errorf("cpu.idle: %d is neither 0 nor 1", *p.Idle)
		}
		if *p.Idle == 1 && shares != 0 {
			return errors.New("cpu.idle=1 and cpu.shares conflict: an idle cgroup has no weight")
		}
		c.add("cpu.idle", strconv.FormatInt(*p.Idle, 10))
	}
	if shares != 0 {
		c.add("cpu.weight", strconv.FormatUint(CPUWeight(shares), 10))
	}
	if p.Burst != nil {
		c.writes = append(c.writes, write{file: "cpu.max.burst", value: strconv.FormatUint(*p.Burst, 10), retryLast: true})
	}
	// runc's rendering: a non-positive quota is "max"; without a period the
	// kernel keeps the current one.
	if quota != 0 || period != 0 {
		v := "max"
		if quota > 0 {
			v = strconv.FormatInt(quota, 10)
		}
		if period != 0 {
			v += " " + strconv.FormatUint(period, 10)
		}
		c.add("cpu.max", v)
	}
	if p.Cpus != "" || p.Mems != "" {
		if err := c.Need("cpuset", "linux.resources.cpu.cpus/mems"); err != nil {
			return err
		}
	}
	if p.Mems != "" {
		c.add("cpuset.mems", p.Mems)
	}
	if p.Cpus != "" {
		c.add("cpuset.cpus", p.Cpus)
	}
	return nil
}

// IOWeight converts a blkio weight [10, 1000] to io.weight [1, 10000]
// linearly, as runc does.
func IOWeight(w uint16) (uint64, error) {
	if w < 10 || w > 1000 {
		return 0, fmt.Errorf("blockIO weight %d is outside [10, 1000]", w)
	}
	return 1 + (uint64(w)-10)*9999/990, nil
}

func (c *conversion) blockIO(r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	if b.LeafWeight != nil {
		cgroups.Warn("linux.resources.blockIO.leafWeight is ignored: leaf weights (CFQ) do not exist in cgroup v2")
	}
	throttles := []struct {
		key  string
		devs []specs.LinuxThrottleDevice
	}{
		{"rbps", b.ThrottleReadBpsDevice}, {"wbps", b.ThrottleWriteBpsDevice},
		{"riops", b.ThrottleReadIOPSDevice}, {"wiops", b.ThrottleWriteIOPSDevice},
	}
	// A weight of 0 is unset: Docker sends it on every container.
	used := cgroups.Deref(b.Weight) != 0
	for _, d := range b.WeightDevice {
		used = used || cgroups.Deref(d.Weight) != 0
	}
	for _, t := range throttles {
		used = used || len(t.devs) > 0
	}
	if !used {
		return nil
	}
	if err := c.Need("io", "linux.resources.blockIO"); err != nil {
		return err
	}
	// BFQ takes blkio-style weights as they are, io.weight on its own scale.
	// dev is "MAJ:MIN", or "" for the cgroup's default weight.
	bfq := c.env.has("io.bfq.weight")
	weight := func(dev string, w uint16) error {
		v, err := IOWeight(w)
		if err != nil {
			return err
		}
		if bfq {
			c.add("io.bfq.weight", strings.TrimPrefix(dev+" "+strconv.FormatUint(uint64(w), 10), " "))
			return nil
		}
		if dev == "" {
			dev = "default"
		}
		c.add("io.weight", dev+" "+strconv.FormatUint(v, 10))
		return nil
	}
	if b.Weight != nil && *b.Weight != 0 {
		if err := weight("", *b.Weight); err != nil {
			return err
		}
	}
	for _, d := range b.WeightDevice {
		if d.LeafWeight != nil {
			cgroups.Warn(fmt.Sprintf("linux.resources.blockIO.weightDevice %d:%d leafWeight is ignored: leaf weights (CFQ) do not exist in cgroup v2", d.Major, d.Minor))
		}
		if d.Weight == nil {
			continue
		}
		if err := weight(fmt.Sprintf("%d:%d", d.Major, d.Minor), *d.Weight); err != nil {
			return err
		}
	}
	for _, t := range throttles {
		for _, d := range t.devs {
			// As in v1 (and for Docker), a zero rate means no limit.
			rate := "max"
			if d.Rate != 0 {
				rate = strconv.FormatUint(d.Rate, 10)
			}
			c.add("io.max", fmt.Sprintf("%d:%d %s=%s", d.Major, d.Minor, t.key, rate))
		}
	}
	return nil
}

func (c *conversion) network(r *specs.LinuxResources) error {
	if n := r.Network; n != nil && (n.ClassID != nil || len(n.Priorities) > 0) {
		cgroups.Warn("linux.resources.network is ignored: net_cls and net_prio do not exist in cgroup v2")
	}
	return nil
}

// Files a unified key may not name: they move or kill processes or change
// the cgroup's own state, which the runtime manages itself.
var unifiedForbidden = map[string]bool{
	"cgroup.procs": true, "cgroup.threads": true, "cgroup.kill": true,
	"cgroup.freeze": true, "cgroup.subtree_control": true, "cgroup.type": true,
}

func (c *conversion) unified(r *specs.LinuxResources) error {
	for _, k := range slices.Sorted(maps.Keys(r.Unified)) {
		if err := cgroups.CheckName(k); err != nil {
			return fmt.Errorf("unified key %q: %w", k, err)
		}
		ctrl, _, ok := strings.Cut(k, ".")
		if !ok || ctrl == "" {
			return fmt.Errorf("unified key %q is not of the form <controller>.<file>", k)
		}
		if unifiedForbidden[k] {
			return fmt.Errorf("unified key %q is managed by the runtime", k)
		}
		if ctrl != "cgroup" {
			if err := c.Need(ctrl, "unified key "+strconv.Quote(k)); err != nil {
				return err
			}
		}
		c.add(k, r.Unified[k])
	}
	return nil
}

func (m *Manager) env() (cgroupEnv, error) {
	ctrls, err := m.Controllers()
	if err != nil {
		return cgroupEnv{}, err
	}
	env := cgroupEnv{controllers: map[string]bool{}, has: m.exists}
	for _, c := range ctrls {
		env.controllers[c] = true
	}
	return env, nil
}

func (m *Manager) applyWrites(ws []write) error {
	var retry []write
	for _, w := range ws {
		if err := m.write(w.file, w.value); err != nil {
			if !w.retryLast {
				return err
			}
			retry = append(retry, w)
		}
	}
	for _, w := range retry {
		if err := m.write(w.file, w.value); err != nil {
			return err
		}
	}
	return nil
}

// Apply sets the container's resources at creation (see
// cgroups.ApplyResources); the device rules become an eBPF filter.
func (m *Manager) Apply(r *specs.LinuxResources) error { return cgroups.ApplyResources(m, r) }

// Update changes the set fields of r on a running container (see
// cgroups.UpdateResources).
func (m *Manager) Update(r *specs.LinuxResources) error { return cgroups.UpdateResources(m, r) }

// PlanResources converts r into the file writes that set it on this
// cgroup, validating everything first.
func (m *Manager) PlanResources(r *specs.LinuxResources) (func() error, error) {
	env, err := m.env()
	if err != nil {
		return nil, err
	}
	ws, err := convertResources(r, env)
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", m.path, err)
	}
	return func() error { return m.applyWrites(ws) }, nil
}

func (m *Manager) readUint(name string) (uint64, error) {
	s, err := m.read(name)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cgroup %s: %s: %w", m.path, name, err)
	}
	return v, nil
}

// CheckMemoryUsage refuses a memory (memory+swap) limit at or below
// memory.current (plus memory.swap.current).
func (m *Manager) CheckMemoryUsage(limit, swap int64) error {
	if limit <= 0 && swap <= 0 {
		return nil
	}
	usage, err := m.readUint("memory.current")
	if err != nil {
		return err
	}
	if limit > 0 && usage >= uint64(limit) {
		return fmt.Errorf("cgroup %s: memory limit %d refused: usage is already %d (checkBeforeUpdate)", m.path, limit, usage)
	}
	if swap > 0 && m.exists("memory.swap.current") {
		swapUsage, err := m.readUint("memory.swap.current")
		if err != nil {
			return err
		}
		if usage+swapUsage >= uint64(swap) {
			return fmt.Errorf("cgroup %s: memory+swap limit %d refused: usage is already %d (checkBeforeUpdate)", m.path, swap, usage+swapUsage)
		}
	}
	return nil
}
