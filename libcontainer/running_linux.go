package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/cgroups"
)

// Operations on a running container's cgroup: ps, pause/resume, events and
// update.

// Cgroup is the manager of the container's cgroup, once it has proved to
// be the container's: ps, pause, events and update act on what it holds.
func (c *Container) Cgroup() (cgroups.Manager, error) {
	m, err := c.verifiedCgroup()
	if c.State.NoCgroup {
		return nil, fmt.Errorf("container %s has no cgroup: it was created --rootless by a user who may not create one", c.State.ID)
	}
	if errors.Is(err, errNoCgroup) {
		return nil, fmt.Errorf("container %s has no cgroup", c.State.ID)
	}
	return m, err
}

// Processes lists the host pids of every process in the container's cgroup.
func (c *Container) Processes() ([]int, error) {
	if err := c.Allow(OpPs); err != nil {
		return nil, err
	}
	m, err := c.Cgroup()
	if err != nil {
		return nil, err
	}
	return m.Pids()
}

// Pause freezes a running or created container.
func (c *Container) Pause() error {
	return c.withCgroup(OpPause, cgroups.Manager.Freeze)
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	return c.withCgroup(OpResume, cgroups.Manager.Thaw)
}

// withCgroup runs do on the container's cgroup under the container's
// lock, if op is allowed in the container's status.
func (c *Container) withCgroup(op Operation, do func(cgroups.Manager) error) error {
	lock, err := c.store.Lock(c.State.ID)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := c.Allow(op); err != nil {
		return err
	}
	m, err := c.Cgroup()
	if err != nil {
		return err
	}
	return do(m)
}

// Update applies r to the running container's cgroup and records it in the
// container's config, so that later commands see the new limits. Device
// rules, when given, replace the configured ones; the runtime's defaults
// and the config's device nodes stay allowed, as at create.
func (c *Container) Update(r *specs.LinuxResources) error {
	lock, err := c.store.Lock(c.State.ID)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := c.Allow(OpUpdate); err != nil {
		return err
	}
	spec, err := c.Spec()
	if err != nil {
		return err
	}
	m, err := c.Cgroup()
	if err != nil {
		return err
	}
	apply := *r
	if r.Devices != nil {
		apply.Devices = containerDeviceRules(r.Devices)
	}
	if err := m.Update(&apply); err != nil {
		return err
	}
	if spec.Linux.Resources == nil {
		spec.Linux.Resources = &specs.LinuxResources{}
	}
	mergeResources(spec.Linux.Resources, r)
	data, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	if err := lock.SaveSpec(data); err != nil {
		return fmt.Errorf("record updated resources (the cgroup has them already): %w", err)
	}
	return nil
}

// mergeResources sets in dst every field that src sets, the way Update
// applies them: a nil field leaves the old value.
func mergeResources(dst, src *specs.LinuxResources) {
	if src.Devices != nil {
		dst.Devices = src.Devices
	}
	if src.Memory != nil {
		if dst.Memory == nil {
			dst.Memory = &specs.LinuxMemory{}
		}
		m, s := dst.Memory, src.Memory
		setIf(&m.Limit, s.Limit)
		setIf(&m.Reservation, s.Reservation)
		setIf(&m.Swap, s.Swap)
		setIf(&m.Kernel, s.Kernel) //nolint:staticcheck // recorded as given
		setIf(&m.KernelTCP, s.KernelTCP)
		setIf(&m.Swappiness, s.Swappiness)
		setIf(&m.DisableOOMKiller, s.DisableOOMKiller)
		setIf(&m.UseHierarchy, s.UseHierarchy)
		setIf(&m.CheckBeforeUpdate, s.CheckBeforeUpdate)
	}
	if src.CPU != nil {
		if dst.CPU == nil {
			dst.CPU = &specs.LinuxCPU{}
		}
		d, s := dst.CPU, src.CPU
		setIf(&d.Shares, s.Shares)
		setIf(&d.Quota, s.Quota)
		setIf(&d.Burst, s.Burst)
		setIf(&d.Period, s.Period)
		setIf(&d.RealtimeRuntime, s.RealtimeRuntime)
		setIf(&d.RealtimePeriod, s.RealtimePeriod)
		setIf(&d.Idle, s.Idle)
		if s.Cpus != "" {
			d.Cpus = s.Cpus
		}
		if s.Mems != "" {
			d.Mems = s.Mems
		}
	}
	if src.Pids != nil {
		dst.Pids = src.Pids
	}
	if src.BlockIO != nil {
		dst.BlockIO = src.BlockIO
	}
	if src.HugepageLimits != nil {
		dst.HugepageLimits = src.HugepageLimits
	}
	if src.Network != nil {
		dst.Network = src.Network
	}
	if src.Rdma != nil {
		dst.Rdma = src.Rdma
	}
	if src.Unified != nil {
		if dst.Unified == nil {
			dst.Unified = map[string]string{}
		}
		for k, v := range src.Unified {
			dst.Unified[k] = v
		}
	}
}

func setIf[T any](dst **T, src *T) {
	if src != nil {
		*dst = src
	}
}
