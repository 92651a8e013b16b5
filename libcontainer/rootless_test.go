package libcontainer

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A container goes on without a cgroup only as runc lets it: --rootless,
// permission denied, no cgroupsPath, and no limit that needs a cgroup.
func TestRunWithoutCgroup(t *testing.T) {
	denied := fmt.Errorf("mkdir /sys/fs/cgroup/memory/oci-rt: %w", fs.ErrPermission)
	limit := int64(1 << 20)
	plain := func() *specs.Spec { return &specs.Spec{Linux: &specs.Linux{}} }
	withPath := plain()
	withPath.Linux.CgroupsPath = "/mine"
	withDevices := plain()
	withDevices.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}
	withMemory := plain()
	withMemory.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
	busy := errors.New("cgroup busy")
	for _, c := range []struct {
		name     string
		err      error
		rootless bool
		spec     *specs.Spec
		skip     bool
		wantErr  string
	}{
		{"rootless, denied", denied, true, plain(), true, ""},
		{"rootless, denied, device rules only", denied, true, withDevices, true, ""},
		{"not rootless", denied, false, plain(), false, "permission denied"},
		{"other error", busy, true, plain(), false, "cgroup busy"},
		{"named cgroupsPath", denied, true, withPath, false, "permission denied"},
		{"memory limit", denied, true, withMemory, false, "cannot set memory limit: container could not join or create cgroup"},
	} {
		skip, err := runWithoutCgroup(c.err, c.rootless, c.spec)
		if skip != c.skip {
			t.Errorf("%s: skip = %v, want %v", c.name, skip, c.skip)
		}
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
		}
	}
}

// Every controller's limit is named, an empty section sets none.
func TestCgroupLimit(t *testing.T) {
	n, u := int64(5), uint64(5)
	for _, c := range []struct {
		r    *specs.LinuxResources
		want string
	}{
		{nil, ""},
		{&specs.LinuxResources{Memory: &specs.LinuxMemory{}, CPU: &specs.LinuxCPU{}, Pids: &specs.LinuxPids{}, BlockIO: &specs.LinuxBlockIO{}}, ""},
		{&specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: &n}}, "memory"},
		{&specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: &u}}, "cpu"},
		{&specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}}, "cpuset"},
		{&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &n}}, "pids"},
		{&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{Rate: 1}}}}, "blkio"},
		{&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1}}}, "hugetlb"},
		{&specs.LinuxResources{Unified: map[string]string{"memory.max": "1M"}}, "unified"},
	} {
		if got := cgroupLimit(c.r); got != c.want {
			t.Errorf("cgroupLimit(%+v) = %q, want %q", c.r, got, c.want)
		}
	}
}

// Only a map of the caller's id alone is written directly without
// privileges; anything more needs newuidmap/newgidmap.
func TestMapsOnly(t *testing.T) {
	for _, c := range []struct {
		m    []specs.LinuxIDMapping
		want bool
	}{
		{[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}, true},
		{[]specs.LinuxIDMapping{{ContainerID: 5, HostID: 1000, Size: 1}}, true},
		{[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 2}}, false},
		{[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1001, Size: 1}}, false},
		{[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}, false},
		{nil, false},
	} {
		if got := mapsOnly(c.m, 1000); got != c.want {
			t.Errorf("mapsOnly(%+v, 1000) = %v, want %v", c.m, got, c.want)
		}
	}
}
