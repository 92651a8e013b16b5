package fs

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/cgroups"
)

// v1Write is one value for one file of one controller's cgroup.
type v1Write struct {
	ctrl, file, value string
	// retryLast: the write may fail until another write of the batch is
	// done (cfs period vs quota, burst vs quota); it is tried again last.
	retryLast bool
	// ignoredIfRefused, when set, is the warning for a write the kernel
	// refuses: the value is then ignored, as runc ignores it.
	ignoredIfRefused string
}

// v1Env is what the conversion needs to know about the target cgroup.
type v1Env struct {
	mounted func(ctrl string) bool
	has     func(ctrl, file string) bool
	// current reads a file's value, for writes whose order depends on it.
	current func(ctrl, file string) (string, error)
}

type v1Conversion struct {
	env    v1Env
	writes []v1Write
}

func (c *v1Conversion) Add(ctrl, file, value string) {
	c.writes = append(c.writes, v1Write{ctrl: ctrl, file: file, value: value})
}

// Has tells whether ctrl's cgroup has an optional file.
func (c *v1Conversion) Has(ctrl, file string) bool { return c.env.has(ctrl, file) }

// Need fails unless ctrl's hierarchy is mounted: a limit that silently
// does not apply is worse than a container that does not start (runc
// fails the same way, on the write).
func (c *v1Conversion) Need(ctrl, what string) error {
	if c.env.mounted(ctrl) {
		return nil
	}
	return fmt.Errorf("%s needs the cgroup v1 %q controller, which is not mounted", what, ctrl)
}

// convertV1 maps every linux.resources field except devices to v1 file
// writes, with runc's file names and semantics, validating everything
// before anything is written.
func convertV1(r *specs.LinuxResources, env v1Env) ([]v1Write, error) {
	if r == nil {
		return nil, nil
	}
	c := &v1Conversion{env: env}
	for _, step := range []func(*specs.LinuxResources) error{
		c.cpuset, c.memory, c.cpu, c.pids, c.blockIO, c.hugetlb, c.network, c.rdma, c.unified,
	} {
		if err := step(r); err != nil {
			return nil, err
		}
	}
	return c.writes, nil
}

// The conversions that are the same on v2 (see cgroups.Conversion).
func (c *v1Conversion) pids(r *specs.LinuxResources) error { return cgroups.ConvertPids(c, r) }
func (c *v1Conversion) hugetlb(r *specs.LinuxResources) error {
	return cgroups.ConvertHugetlb(c, r, "limit_in_bytes")
}
func (c *v1Conversion) rdma(r *specs.LinuxResources) error { return cgroups.ConvertRdma(c, r) }

func (c *v1Conversion) cpuset(r *specs.LinuxResources) error {
	if r.CPU == nil || (r.CPU.Cpus == "" && r.CPU.Mems == "") {
		return nil
	}
	if err := c.Need("cpuset", "linux.resources.cpu.cpus/mems"); err != nil {
		return err
	}
	if r.CPU.Cpus != "" {
		c.Add("cpuset", "cpuset.cpus", r.CPU.Cpus)
	}
	if r.CPU.Mems != "" {
		c.Add("cpuset", "cpuset.mems", r.CPU.Mems)
	}
	return nil
}

// memory follows runc: -1 is unlimited (the kernel takes "-1"); memory
// unlimited without a swap setting makes swap unlimited too; when both
// limits change, the order of the two writes keeps memory <= memory+swap
// at every step, which the kernel enforces.
func (c *v1Conversion) memory(r *specs.LinuxResources) error {
	m := r.Memory
	if m == nil {
		return nil
	}
	limit, swap := cgroups.Deref(m.Limit), cgroups.Deref(m.Swap)
	for _, v := range []struct {
		name string
		v    int64
	}{{"memory.limit", limit}, {"memory.swap", swap}, {"memory.reservation", cgroups.Deref(m.Reservation)}} {
		if v.v < -1 {
			return fmt.Errorf("%s: invalid value %d", v.name, v.v)
		}
	}
	if sw := m.Swappiness; sw != nil && *sw > 100 && int64(*sw) != -1 {
		return fmt.Errorf("memory.swappiness: invalid value %d (valid range is 0-100)", *sw)
	}
	used := limit != 0 || swap != 0 || cgroups.Deref(m.Reservation) != 0 || m.Kernel != nil || m.KernelTCP != nil ||
		m.Swappiness != nil || cgroups.Deref(m.DisableOOMKiller) || m.UseHierarchy != nil
	if !used {
		return nil
	}
	if err := c.Need("memory", "linux.resources.memory"); err != nil {
		return err
	}
	const limitFile, swapFile = "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"
	if limit == -1 && swap == 0 && c.Has("memory", swapFile) {
		swap = -1
	}
	if swap != 0 && !c.Has("memory", swapFile) {
		if swap != -1 {
			return errors.New("memory.swap: this kernel has no swap accounting (memory.memsw.limit_in_bytes)")
		}
		swap = 0 // unlimited swap is what the kernel does without accounting
	}
	swapFirst := false
	if limit != 0 && swap != 0 {
		cur, err := c.env.current("memory", limitFile)
		if err != nil {
			return err
		}
		curLimit, _ := strconv.ParseUint(cur, 10, 64)
		swapFirst = swap == -1 || curLimit < uint64(swap)
	}
	if swapFirst {
		c.Add("memory", swapFile, strconv.FormatInt(swap, 10))
	}
	if limit != 0 {
		c.Add("memory", limitFile, strconv.FormatInt(limit, 10))
	}
	if swap != 0 && !swapFirst {
		c.Add("memory", swapFile, strconv.FormatInt(swap, 10))
	}
	if v := cgroups.Deref(m.Reservation); v != 0 {
		c.Add("memory", "memory.soft_limit_in_bytes", strconv.FormatInt(v, 10))
	}
	c.kernelLimit("memory.kernel", m.Kernel, "memory.kmem.limit_in_bytes") //nolint:staticcheck // runc still accepts it
	c.kernelLimit("memory.kernelTCP", m.KernelTCP, "memory.kmem.tcp.limit_in_bytes")
	if cgroups.Deref(m.DisableOOMKiller) {
		c.Add("memory", "memory.oom_control", "1")
	}
	if sw := m.Swappiness; sw != nil && int64(*sw) != -1 {
		c.Add("memory", "memory.swappiness", strconv.FormatUint(*sw, 10))
	}
	if uh := m.UseHierarchy; uh != nil {
		want := "0"
		if *uh {
			want = "1"
		}
		// Recent kernels fix use_hierarchy at 1 and refuse writes: a
		// value that is already there needs no write.
		if cur, err := c.env.current("memory", "memory.use_hierarchy"); err != nil || cur != want {
			c.Add("memory", "memory.use_hierarchy", want)
		}
	}
	return nil
}

// kernelLimit writes a kernel memory limit where the kernel still has the
// file. Recent kernels lack it or refuse writes (kmem accounting can no
// longer be limited on its own); runc then only warns, and so do we.
func (c *v1Conversion) kernelLimit(what string, v *int64, file string) {
	if v == nil || *v == 0 {
		return
	}
	ignored := fmt.Sprintf("linux.resources.%s is ignored: this kernel does not support kernel memory limits", what)
	if !c.Has("memory", file) {
		cgroups.Warn(ignored)
		return
	}
	c.writes = append(c.writes, v1Write{ctrl: "memory", file: file, value: strconv.FormatInt(*v, 10), ignoredIfRefused: ignored})
}

// cpu: rt first (the kernel refuses an rt task in a group without rt
// runtime), then shares, then the CFS bandwidth, whose period and quota
// can each be refused until the other is set.
func (c *v1Conversion) cpu(r *specs.LinuxResources) error {
	p := r.CPU
	if p == nil {
		return nil
	}
	shares, quota, period := cgroups.Deref(p.Shares), cgroups.Deref(p.Quota), cgroups.Deref(p.Period)
	rtRuntime, rtPeriod := cgroups.Deref(p.RealtimeRuntime), cgroups.Deref(p.RealtimePeriod)
	if shares == 0 && quota == 0 && period == 0 && rtRuntime == 0 && rtPeriod == 0 && p.Burst == nil && p.Idle == nil {
		return nil
	}
	if err := c.Need("cpu", "linux.resources.cpu"); err != nil {
		return err
	}
	if rtPeriod != 0 {
		c.Add("cpu", "cpu.rt_period_us", strconv.FormatUint(rtPeriod, 10))
	}
	if rtRuntime != 0 {
		c.Add("cpu", "cpu.rt_runtime_us", strconv.FormatInt(rtRuntime, 10))
	}
	if shares != 0 {
		c.Add("cpu", "cpu.shares", strconv.FormatUint(shares, 10))
	}
	if period != 0 {
		c.writes = append(c.writes, v1Write{ctrl: "cpu", file: "cpu.cfs_period_us", value: strconv.FormatUint(period, 10), retryLast: quota != 0})
	}
	if quota != 0 {
		// runc writes any negative quota as it is: the kernel takes -1.
		q := quota
		if q < 0 {
			q = -1
		}
		c.Add("cpu", "cpu.cfs_quota_us", strconv.FormatInt(q, 10))
	}
	if p.Burst != nil {
		if !c.Has("cpu", "cpu.cfs_burst_us") {
			return errors.New("cpu.burst: this kernel has no CFS burst (cpu.cfs_burst_us)")
		}
		c.writes = append(c.writes, v1Write{ctrl: "cpu", file: "cpu.cfs_burst_us", value: strconv.FormatUint(*p.Burst, 10), retryLast: true})
	}
	if p.Idle != nil {
		c.Add("cpu", "cpu.idle", strconv.FormatInt(*p.Idle, 10))
	}
	return nil
}

// blockIO: weights go to BFQ's files where CFQ's are gone (kernels since
// 5.0); a weight of 0 is unset (Docker sends it on every container). Leaf
// weights exist only with CFQ; elsewhere they are ignored with a warning.
func (c *v1Conversion) blockIO(r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	type throttle struct {
		file string
		devs []specs.LinuxThrottleDevice
	}
	throttles := []throttle{
		{"blkio.throttle.read_bps_device", b.ThrottleReadBpsDevice},
		{"blkio.throttle.write_bps_device", b.ThrottleWriteBpsDevice},
		{"blkio.throttle.read_iops_device", b.ThrottleReadIOPSDevice},
		{"blkio.throttle.write_iops_device", b.ThrottleWriteIOPSDevice},
	}
	used := cgroups.Deref(b.Weight) != 0 || cgroups.Deref(b.LeafWeight) != 0 || len(b.WeightDevice) > 0
	for _, t := range throttles {
		used = used || len(t.devs) > 0
	}
	if !used {
		return nil
	}
	if err := c.Need("blkio", "linux.resources.blockIO"); err != nil {
		return err
	}
	weightFile, deviceFile := "blkio.weight", "blkio.weight_device"
	if c.Has("blkio", "blkio.bfq.weight") {
		weightFile, deviceFile = "blkio.bfq.weight", "blkio.bfq.weight_device"
	}
	hasWeights := c.Has("blkio", weightFile)
	noWeights := func(what string) error {
		return fmt.Errorf("linux.resources.blockIO %s: no I/O scheduler here keeps proportional weights (neither blkio.weight nor blkio.bfq.weight exists)", what)
	}
	if w := cgroups.Deref(b.Weight); w != 0 {
		if !hasWeights {
			return noWeights("weight")
		}
		c.Add("blkio", weightFile, strconv.FormatUint(uint64(w), 10))
	}
	leaf := func(v uint16, dev string) {
		if !c.Has("blkio", "blkio.leaf_weight") {
			cgroups.Warn("linux.resources.blockIO leafWeight is ignored: the I/O scheduler has no leaf weights")
			return
		}
		file := "blkio.leaf_weight"
		if dev != "" {
			file = "blkio.leaf_weight_device"
		}
		c.Add("blkio", file, strings.TrimPrefix(dev+" "+strconv.FormatUint(uint64(v), 10), " "))
	}
	if w := cgroups.Deref(b.LeafWeight); w != 0 {
		leaf(w, "")
	}
	for _, d := range b.WeightDevice {
		dev := fmt.Sprintf("%d:%d", d.Major, d.Minor)
		if w := cgroups.Deref(d.Weight); w != 0 {
			if !hasWeights {
				return noWeights("weightDevice " + dev)
			}
			c.Add("blkio", deviceFile, dev+" "+strconv.FormatUint(uint64(w), 10))
		}
		if w := cgroups.Deref(d.LeafWeight); w != 0 {
			leaf(w, dev)
		}
	}
	for _, t := range throttles {
		for _, d := range t.devs {
			c.Add("blkio", t.file, fmt.Sprintf("%d:%d %d", d.Major, d.Minor, d.Rate))
		}
	}
	return nil
}

func (c *v1Conversion) network(r *specs.LinuxResources) error {
	n := r.Network
	if n == nil {
		return nil
	}
	if n.ClassID != nil {
		if err := c.Need("net_cls", "linux.resources.network.classID"); err != nil {
			return err
		}
		c.Add("net_cls", "net_cls.classid", strconv.FormatUint(uint64(*n.ClassID), 10))
	}
	if len(n.Priorities) > 0 {
		if err := c.Need("net_prio", "linux.resources.network.priorities"); err != nil {
			return err
		}
		for _, p := range n.Priorities {
			if p.Name == "" || strings.ContainsAny(p.Name, " \n/") {
				return fmt.Errorf("linux.resources.network.priorities: invalid interface name %q", p.Name)
			}
			c.Add("net_prio", "net_prio.ifpriomap", p.Name+" "+strconv.FormatUint(uint64(p.Priority), 10))
		}
	}
	return nil
}

// unified keys are cgroup v2 files; runc refuses them on a v1 host.
func (c *v1Conversion) unified(r *specs.LinuxResources) error {
	if len(r.Unified) > 0 {
		return fmt.Errorf("linux.resources.unified (%s) needs cgroup v2; this host uses cgroup v1", strings.Join(slices.Sorted(maps.Keys(r.Unified)), ", "))
	}
	return nil
}

func (m *Manager) env() v1Env {
	return v1Env{
		mounted: func(ctrl string) bool { _, ok := m.dirs[ctrl]; return ok },
		has:     m.has,
		current: m.read,
	}
}

func (m *Manager) applyWrites(ws []v1Write) error {
	var retry []v1Write
	for _, w := range ws {
		if err := m.write(w.ctrl, w.file, w.value); err != nil {
			if w.ignoredIfRefused != "" {
				cgroups.Warn(w.ignoredIfRefused + ": " + err.Error())
				continue
			}
			if !w.retryLast {
				return m.explainWrite(w, err)
			}
			retry = append(retry, w)
		}
	}
	for _, w := range retry {
		if err := m.write(w.ctrl, w.file, w.value); err != nil {
			return m.explainWrite(w, err)
		}
	}
	return nil
}

// explainWrite adds what the kernel's bare EBUSY/EINVAL mean for the
// writes where a user can act on it.
func (m *Manager) explainWrite(w v1Write, err error) error {
	if w.file == "memory.limit_in_bytes" || w.file == "memory.memsw.limit_in_bytes" {
		usage, _ := m.read("memory", "memory.usage_in_bytes")
		return fmt.Errorf("%w (current memory usage %s bytes; memory+swap must be at least memory)", err, usage)
	}
	return err
}

// PlanResources converts r into the writes that set it on this cgroup,
// validating everything first.
func (m *Manager) PlanResources(r *specs.LinuxResources) (func() error, error) {
	ws, err := convertV1(r, m.env())
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", m.representative(), err)
	}
	return func() error { return m.applyWrites(ws) }, nil
}

// Apply sets the container's resources before its process runs (see
// cgroups.ApplyResources); the device rules go to devices.allow/deny.
func (m *Manager) Apply(r *specs.LinuxResources) error { return cgroups.ApplyResources(m, r) }

// Update changes the set fields of r on a running container (see
// cgroups.UpdateResources).
func (m *Manager) Update(r *specs.LinuxResources) error { return cgroups.UpdateResources(m, r) }

// CheckMemoryUsage refuses a memory (memory+swap) limit at or below
// memory.usage_in_bytes (memory.memsw.usage_in_bytes).
func (m *Manager) CheckMemoryUsage(limit, swap int64) error {
	check := func(file string, l int64, what string) error {
		if l <= 0 || !m.has("memory", file) {
			return nil
		}
		s, err := m.read("memory", file)
		if err != nil {
			return err
		}
		usage, _ := strconv.ParseUint(s, 10, 64)
		if usage >= uint64(l) {
			return fmt.Errorf("cgroup %s: %s limit %d refused: usage is already %d (checkBeforeUpdate)", m.representative(), what, l, usage)
		}
		return nil
	}
	if err := check("memory.usage_in_bytes", limit, "memory"); err != nil {
		return err
	}
	return check("memory.memsw.usage_in_bytes", swap, "memory+swap")
}
