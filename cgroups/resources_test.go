package cgroups

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// stepDriver records the steps ApplyResources and UpdateResources take.
type stepDriver struct {
	steps      []string
	planErr    error
	devicesErr error
	rootless   bool
}

func (d *stepDriver) Rootless() bool { return d.rootless }

func (d *stepDriver) PlanResources(*specs.LinuxResources) (func() error, error) {
	d.steps = append(d.steps, "plan")
	if d.planErr != nil {
		return nil, d.planErr
	}
	return func() error { d.steps = append(d.steps, "write"); return nil }, nil
}

func (d *stepDriver) CheckMemoryUsage(limit, swap int64) error {
	d.steps = append(d.steps, fmt.Sprintf("check %d %d", limit, swap))
	return nil
}

func (d *stepDriver) SetDevices(rules []specs.LinuxDeviceCgroup) error {
	d.steps = append(d.steps, fmt.Sprintf("devices %d", len(rules)))
	return d.devicesErr
}

func TestApplyAndUpdateSteps(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	yes := true
	oneRule := []specs.LinuxDeviceCgroup{{Allow: true}}
	checked := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64), Swap: i64(128), CheckBeforeUpdate: &yes}}
	for _, tc := range []struct {
		name   string
		update bool
		r      *specs.LinuxResources
		want   []string
	}{
		// Devices are always set at creation: no rules deny everything.
		{"apply nil", false, nil, []string{"plan", "devices 0", "write"}},
		{"apply rules", false, &specs.LinuxResources{Devices: oneRule}, []string{"plan", "devices 1", "write"}},
		{"apply never checks usage", false, checked, []string{"plan", "devices 0", "write"}},
		{"update nil", true, nil, nil},
		{"update keeps devices", true, &specs.LinuxResources{}, []string{"plan", "write"}},
		{"update devices", true, &specs.LinuxResources{Devices: oneRule}, []string{"plan", "devices 1", "write"}},
		{"update checks usage first", true, checked, []string{"plan", "check 64 128", "write"}},
	} {
		d := &stepDriver{}
		var err error
		if tc.update {
			err = UpdateResources(d, tc.r)
		} else {
			err = ApplyResources(d, tc.r)
		}
		if err != nil || !slices.Equal(d.steps, tc.want) {
			t.Errorf("%s: steps %q, %v; want %q", tc.name, d.steps, err, tc.want)
		}
	}
	// An invalid configuration changes nothing.
	bad := errors.New("invalid")
	for _, set := range []func(ResourceDriver, *specs.LinuxResources) error{ApplyResources, UpdateResources} {
		d := &stepDriver{planErr: bad}
		if err := set(d, &specs.LinuxResources{Devices: oneRule}); !errors.Is(err, bad) || !slices.Equal(d.steps, []string{"plan"}) {
			t.Errorf("plan error: steps %q, %v", d.steps, err)
		}
	}
}

// A rootless container goes on without device rules its caller may not
// set, and only then: another failure, or any failure of a container
// that is not rootless, fails.
func TestDeviceRulesDeniedRootless(t *testing.T) {
	rules := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true}}}
	for _, tc := range []struct {
		name     string
		rootless bool
		err      error
		fails    bool
	}{
		{"rootless, denied", true, fmt.Errorf("load device filter: %w", unix.EPERM), false},
		{"rootless, other failure", true, fmt.Errorf("load device filter: %w", unix.EINVAL), true},
		{"not rootless, denied", false, fmt.Errorf("load device filter: %w", unix.EPERM), true},
	} {
		for name, set := range map[string]func(ResourceDriver, *specs.LinuxResources) error{"apply": ApplyResources, "update": UpdateResources} {
			d := &stepDriver{rootless: tc.rootless, devicesErr: tc.err}
			err := set(d, rules)
			if (err != nil) != tc.fails || !slices.Equal(d.steps, []string{"plan", "devices 1", "write"}) != tc.fails {
				t.Errorf("%s, %s: steps %q, error %v; want failure %v", tc.name, name, d.steps, err, tc.fails)
			}
		}
	}
}
