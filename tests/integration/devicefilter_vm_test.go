//go:build vmtest

package integration

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// attachedDeviceFilters asks the kernel for the device programs attached
// to the container's cgroup.
func attachedDeviceFilters(t *testing.T, id string) []ebpf.ProgramID {
	t.Helper()
	fd, err := unix.Open(cgroupDir(id), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	noErr(t, err)
	defer unix.Close(fd)
	res, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	noErr(t, err)
	var ids []ebpf.ProgramID
	for _, p := range res.Programs {
		ids = append(ids, p.ID)
	}
	return ids
}

// TestVMDeviceFilterShared: containers with the same device rules get one
// verified program (the same program attached to each cgroup), a container
// with other rules its own, and an update that keeps the rules keeps the
// program; each filter still decides as its rules say.
func TestVMDeviceFilterShared(t *testing.T) {
	r := newRuntime(t)
	major, minor := int64(1), int64(11)
	kmsgRule := specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "w"}
	withKmsg := func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/dev/kmsg", Type: "bind", Source: "/dev/kmsg", Options: []string{"bind"}})
	}
	// The bundle's rules are the default spec's: deny everything.
	denyAll := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	kmsgRules := append(slices.Clone(denyAll), kmsgRule)
	allowKmsg := func(s *specs.Spec) { s.Linux.Resources.Devices = kmsgRules }
	c1 := runningContainer(t, r, withKmsg)
	c2 := runningContainer(t, r, withKmsg)
	c3 := runningContainer(t, r, withKmsg, allowKmsg)
	f1, f2, f3 := attachedDeviceFilters(t, c1.ID), attachedDeviceFilters(t, c2.ID), attachedDeviceFilters(t, c3.ID)
	if len(f1) != 1 || !slices.Equal(f1, f2) {
		t.Errorf("same rules: programs %v and %v, want one shared", f1, f2)
	}
	if len(f3) != 1 || slices.Equal(f3, f1) {
		t.Errorf("other rules: program %v, want one of its own (not %v)", f3, f1)
	}
	// Writing /dev/kmsg needs no capability: only the filter decides.
	kmsg := func(c *Container) Result { return r.Run("exec", c.ID, "sh", "-c", ": > /dev/kmsg && : > /dev/null") }
	for _, c := range []*Container{c1, c2} {
		if res := kmsg(c); res.Code == 0 || !strings.Contains(res.Stderr, "Operation not permitted") {
			t.Errorf("%s: /dev/kmsg under the shared default filter: %s, want EPERM", c.ID, res)
		}
	}
	if res := kmsg(c3); res.Code != 0 {
		t.Errorf("%s: /dev/kmsg allowed by its rules: %s", c3.ID, res)
	}

	// c3's rules again: the kernel would refuse to attach its program a
	// second time, so the update must keep it instead.
	noErr(t, r.GoRunc().Update(context.Background(), c3.ID, &specs.LinuxResources{Devices: kmsgRules}))
	if got := attachedDeviceFilters(t, c3.ID); !slices.Equal(got, f3) {
		t.Errorf("update with unchanged rules: programs %v, want %v kept", got, f3)
	}
	if res := kmsg(c3); res.Code != 0 {
		t.Errorf("%s: /dev/kmsg after an update keeping the rules: %s", c3.ID, res)
	}
	// c1 takes c3's rules: it gets c3's program, and the access.
	noErr(t, r.GoRunc().Update(context.Background(), c1.ID, &specs.LinuxResources{Devices: kmsgRules}))
	if got := attachedDeviceFilters(t, c1.ID); !slices.Equal(got, f3) {
		t.Errorf("update to another container's rules: programs %v, want its %v", got, f3)
	}
	if res := kmsg(c1); res.Code != 0 {
		t.Errorf("%s: /dev/kmsg after the update allowing it: %s", c1.ID, res)
	}
	if res := kmsg(c2); res.Code == 0 {
		t.Errorf("%s: /dev/kmsg usable after another container's update: %s", c2.ID, res)
	}
}
