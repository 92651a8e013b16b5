package cgroups

import (
	"errors"
	"fmt"
	"io/fs"

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
	// Rootless tells that the cgroup belongs to a rootless container
	// (see Location.Rootless).
	Rootless() bool
}

// setDevices sets the device rules, except where a rootless container's
// caller is not permitted to: loading a device program (v2) or writing
// devices.deny (v1) needs privileges an unprivileged user lacks. runc
// ignores that failure for rootless containers too; the container's
// processes, the caller's own, can create or open no device node the
// caller could not.
func setDevices(d ResourceDriver, rules []specs.LinuxDeviceCgroup) error {
	err := d.SetDevices(rules)
	if err != nil && d.Rootless() && errors.Is(err, fs.ErrPermission) {
		Warn(fmt.Sprintf("rootless container: device rules not applied: %v", err))
		return nil
	}
	return err
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
	if err := setDevices(d, devs); err != nil {
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
		if err := setDevices(d, r.Devices); err != nil {
			return err
		}
	}
	return write()
}
