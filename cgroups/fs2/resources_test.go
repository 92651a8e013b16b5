package fs2

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/cgroups/devices"
	"github.com/oci-rt/oci-rt/cgroups/internal/cgtest"
)

var (
	i64   = cgtest.Ptr[int64]
	u64   = cgtest.Ptr[uint64]
	u32   = cgtest.Ptr[uint32]
	u16   = cgtest.Ptr[uint16]
	boolp = cgtest.Ptr[bool]
)

var allControllers = map[string]bool{
	"cpuset": true, "cpu": true, "io": true, "memory": true,
	"hugetlb": true, "pids": true, "rdma": true, "misc": true,
}

// fullEnv has every controller and optional file except those listed.
func envWithout(files ...string) cgroupEnv {
	return cgroupEnv{
		controllers: allControllers,
		has: func(f string) bool {
			if slices.Contains(files, f) {
				return false
			}
			// Page sizes this fake kernel supports.
			if strings.HasPrefix(f, "hugetlb.") {
				return strings.HasPrefix(f, "hugetlb.2MB.") || strings.HasPrefix(f, "hugetlb.1GB.")
			}
			return true
		},
	}
}

type w = write

func TestConvertResources(t *testing.T) {
	dev := func(major, minor int64) specs.LinuxBlockIODevice {
		return specs.LinuxBlockIODevice{Major: major, Minor: minor}
	}
	for _, tc := range []struct {
		name string
		r    specs.LinuxResources
		env  cgroupEnv
		want []write
		err  string
	}{
		{name: "nothing", r: specs.LinuxResources{}, want: nil},

		// memory
		{name: "memory limit", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 20)}},
			want: []w{{file: "memory.max", value: "1048576"}}},
		{name: "memory unlimited means swap unlimited too", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1)}},
			want: []w{{file: "memory.swap.max", value: "max"}, {file: "memory.max", value: "max"}}},
		{name: "memory zero is unset", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(0)}}, want: nil},
		{name: "memory+swap becomes swap only", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(100 << 20), Swap: i64(300 << 20)}},
			want: []w{{file: "memory.swap.max", value: "209715200"}, {file: "memory.max", value: "104857600"}}},
		{name: "swap equal to memory means no swap", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(100), Swap: i64(100)}},
			want: []w{{file: "memory.swap.max", value: "0"}, {file: "memory.max", value: "100"}}},
		{name: "swap unlimited", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(100), Swap: i64(-1)}},
			want: []w{{file: "memory.swap.max", value: "max"}, {file: "memory.max", value: "100"}}},
		{name: "swap below memory", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(100), Swap: i64(50)}}, err: "at least memory.limit"},
		{name: "swap without memory", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(50)}}, err: "needs a memory limit"},
		{name: "swap without swap accounting", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(100), Swap: i64(200)}},
			env: envWithout("memory.swap.max"), err: "no swap accounting"},
		{name: "unlimited swap without swap accounting is the kernel default", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(100), Swap: i64(-1)}},
			env: envWithout("memory.swap.max"), want: []w{{file: "memory.max", value: "100"}}},
		{name: "reservation", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Reservation: i64(4096)}},
			want: []w{{file: "memory.low", value: "4096"}}},
		{name: "negative memory", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-5)}}, err: "invalid value -5"},
		// runc accepts these on v2 and only warns: nothing is written.
		{name: "kernel memory ignored", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Kernel: i64(1)}}, want: []w{}},
		{name: "kernel tcp ignored", r: specs.LinuxResources{Memory: &specs.LinuxMemory{KernelTCP: i64(1)}}, want: []w{}},
		{name: "swappiness", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: u64(10)}}, err: "swappiness"},
		{name: "disable oom killer", r: specs.LinuxResources{Memory: &specs.LinuxMemory{DisableOOMKiller: boolp(true)}}, err: "disableOOMKiller"},
		{name: "oom killer enabled is fine", r: specs.LinuxResources{Memory: &specs.LinuxMemory{DisableOOMKiller: boolp(false), UseHierarchy: boolp(true)}}, want: nil},
		{name: "no hierarchy", r: specs.LinuxResources{Memory: &specs.LinuxMemory{UseHierarchy: boolp(false)}}, err: "hierarchical"},

		// cpu
		{name: "shares default", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1024)}}, want: []w{{file: "cpu.weight", value: "100"}}},
		{name: "shares min", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(2)}}, want: []w{{file: "cpu.weight", value: "1"}}},
		{name: "shares max", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(262144)}}, want: []w{{file: "cpu.weight", value: "10000"}}},
		{name: "shares above max", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1 << 30)}}, want: []w{{file: "cpu.weight", value: "10000"}}},
		{name: "shares 100", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(100)}}, want: []w{{file: "cpu.weight", value: "17"}}},
		{name: "quota and period", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000)}},
			want: []w{{file: "cpu.max", value: "50000 100000"}}},
		{name: "quota only", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(20000)}}, want: []w{{file: "cpu.max", value: "20000"}}},
		{name: "period only", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Period: u64(2000)}}, want: []w{{file: "cpu.max", value: "max 2000"}}},
		{name: "unlimited quota", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(-1)}}, want: []w{{file: "cpu.max", value: "max"}}},
		{name: "burst", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(50000), Burst: u64(10000)}},
			want: []w{{file: "cpu.max.burst", value: "10000", retryLast: true}, {file: "cpu.max", value: "50000"}}},
		{name: "cpuset", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-1", Mems: "0"}},
			want: []w{{file: "cpuset.mems", value: "0"}, {file: "cpuset.cpus", value: "0-1"}}},
		{name: "idle", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: i64(1)}}, want: []w{{file: "cpu.idle", value: "1"}}},
		{name: "idle 0 with shares", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: i64(0), Shares: u64(1024)}},
			want: []w{{file: "cpu.idle", value: "0"}, {file: "cpu.weight", value: "100"}}},
		{name: "idle with shares", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: i64(1), Shares: u64(512)}}, err: "conflict"},
		{name: "idle out of range", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: i64(2)}}, err: "neither 0 nor 1"},
		{name: "realtime runtime", r: specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: i64(1000)}}, err: "realtime"},
		{name: "realtime period", r: specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimePeriod: u64(1000)}}, err: "realtime"},
		{name: "realtime zero is unset", r: specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: i64(0)}}, want: nil},

		// pids
		{name: "pids limit", r: specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(64)}}, want: []w{{file: "pids.max", value: "64"}}},
		// As runc reads it: 0 is unset (Podman's "no limit"), negative unlimited.
		{name: "pids zero is unset", r: specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(0)}}, want: []w{}},
		{name: "pids negative is max", r: specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}}, want: []w{{file: "pids.max", value: "max"}}},
		{name: "pids unset", r: specs.LinuxResources{Pids: &specs.LinuxPids{}}, want: nil},

		// block io
		{name: "io weight", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(500)}}, env: envWithout("io.bfq.weight"),
			want: []w{{file: "io.weight", value: "default 4950"}}},
		{name: "io weight bounds", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(10), WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: dev(8, 0), Weight: u16(1000)}}}},
			env: envWithout("io.bfq.weight"), want: []w{{file: "io.weight", value: "default 1"}, {file: "io.weight", value: "8:0 10000"}}},
		{name: "bfq weight", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(500), WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: dev(8, 16), Weight: u16(300)}}}},
			want: []w{{file: "io.bfq.weight", value: "500"}, {file: "io.bfq.weight", value: "8:16 300"}}},
		{name: "io weight out of range", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(5)}}, err: "outside [10, 1000]"},
		{name: "leaf weight ignored", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: u16(500)}}, want: []w{}},
		{name: "device leaf weight ignored", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: dev(8, 0), LeafWeight: u16(100)}}}}, want: []w{}},
		{name: "docker weight 0 is unset", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(0)}}, env: cgroupEnv{controllers: map[string]bool{}}, want: []w{}},
		{name: "throttles", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 0), Rate: 1048576}},
			ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 0), Rate: 2097152}},
			ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(254, 0), Rate: 100}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(254, 0), Rate: 0}},
		}}, want: []w{
			{file: "io.max", value: "8:0 rbps=1048576"}, {file: "io.max", value: "8:0 wbps=2097152"},
			{file: "io.max", value: "254:0 riops=100"}, {file: "io.max", value: "254:0 wiops=max"},
		}},

		// hugetlb
		{name: "hugepages", r: specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}},
			want: []w{{file: "hugetlb.2MB.max", value: "4194304"}, {file: "hugetlb.2MB.rsvd.max", value: "4194304"}}},
		{name: "hugepages without rsvd", r: specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "1GB", Limit: 1 << 30}}},
			env: envWithout("hugetlb.1GB.rsvd.max"), want: []w{{file: "hugetlb.1GB.max", value: "1073741824"}}},
		{name: "hugepage escape", r: specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "../x", Limit: 1}}}, err: "not of the form"},
		{name: "hugepage bad unit", r: specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2M", Limit: 1}}}, err: "not of the form"},
		{name: "hugepage unsupported size", r: specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "64KB", Limit: 1}}}, err: "not supported"},

		// rdma
		{name: "rdma", r: specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{
			"mlx5_1": {HcaHandles: u32(3)}, "mlx5_0": {HcaHandles: u32(2), HcaObjects: u32(100)}, "none": {},
		}}, want: []w{{file: "rdma.max", value: "mlx5_0 hca_handle=2 hca_object=100"}, {file: "rdma.max", value: "mlx5_1 hca_handle=3"}}},
		{name: "rdma bad device", r: specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"a b": {HcaHandles: u32(1)}}}, err: "invalid device name"},

		// network
		{name: "net_cls ignored", r: specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: u32(1)}}, want: []w{}},
		{name: "net_prio ignored", r: specs.LinuxResources{Network: &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 1}}}}, want: []w{}},

		// unified
		{name: "unified", r: specs.LinuxResources{Unified: map[string]string{"memory.high": "1G", "cgroup.max.depth": "3", "pids.max": "10"}},
			want: []w{{file: "cgroup.max.depth", value: "3"}, {file: "memory.high", value: "1G"}, {file: "pids.max", value: "10"}}},
		{name: "unified slash", r: specs.LinuxResources{Unified: map[string]string{"../memory.max": "1"}}, err: "'/'"},
		{name: "unified sub cgroup", r: specs.LinuxResources{Unified: map[string]string{"sub/memory.max": "1"}}, err: "'/'"},
		{name: "unified dotdot", r: specs.LinuxResources{Unified: map[string]string{"..": "1"}}, err: "invalid name"},
		{name: "unified no controller", r: specs.LinuxResources{Unified: map[string]string{"memorymax": "1"}}, err: "<controller>.<file>"},
		{name: "unified leading dot", r: specs.LinuxResources{Unified: map[string]string{".hidden": "1"}}, err: "<controller>.<file>"},
		{name: "unified NUL", r: specs.LinuxResources{Unified: map[string]string{"memory.max\x00": "1"}}, err: "NUL"},
		{name: "unified procs", r: specs.LinuxResources{Unified: map[string]string{"cgroup.procs": "1"}}, err: "managed by the runtime"},
		{name: "unified unknown controller", r: specs.LinuxResources{Unified: map[string]string{"foo.bar": "1"}}, err: `"foo" controller`},

		// controller availability, as on the hybrid host
		{name: "missing memory controller", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 20)}},
			env: cgroupEnv{controllers: map[string]bool{"hugetlb": true}, has: func(string) bool { return false }}, err: `"memory" controller`},
		{name: "missing cpuset controller", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}},
			env: cgroupEnv{controllers: map[string]bool{"cpu": true}}, err: `"cpuset" controller`},
		{name: "missing pids controller", r: specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(1)}},
			env: cgroupEnv{controllers: map[string]bool{}}, err: `"pids" controller`},
		{name: "missing io controller", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(100)}},
			env: cgroupEnv{controllers: map[string]bool{}}, err: `"io" controller`},
		{name: "missing hugetlb controller", r: specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB"}}},
			env: cgroupEnv{controllers: map[string]bool{}}, err: `"hugetlb" controller`},
		{name: "missing rdma controller", r: specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"x": {HcaHandles: u32(1)}}},
			env: cgroupEnv{controllers: map[string]bool{}}, err: `"rdma" controller`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env
			if env.controllers == nil {
				env = envWithout()
			}
			got, err := convertResources(&tc.r, env)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestCPUWeightCurve(t *testing.T) {
	prev := uint64(0)
	for s := uint64(2); s <= 262144; s += 97 {
		w := CPUWeight(s)
		if w < prev || w < 1 || w > 10000 {
			t.Fatalf("CPUWeight(%d) = %d after %d: not monotonic within [1, 10000]", s, w, prev)
		}
		prev = w
	}
}

// fakeCgroup is a temp directory with the interface files a real cgroup
// would have, so that Manager's file handling runs without a kernel.
func fakeCgroup(t *testing.T, files map[string]string) *Manager {
	t.Helper()
	root := t.TempDir()
	m, err := NewAt(root, "/ctr")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(m.Dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(m.Dir(), name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func readFake(t *testing.T, m *Manager, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(m.Dir(), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Update writes through the files that exist and checks usage first when
// asked to (Apply is the same path plus a device filter, which needs a real
// cgroup and is tested on the real hierarchy).
func TestUpdateFakeHierarchy(t *testing.T) {
	m := fakeCgroup(t, map[string]string{
		"cgroup.controllers": "cpu memory pids\n",
		"memory.max":         "max\n", "memory.swap.max": "max\n", "memory.low": "0\n",
		"memory.current": "5000\n", "memory.swap.current": "1000\n",
		"cpu.max": "max 100000\n", "cpu.max.burst": "0\n", "pids.max": "max\n",
	})
	err := m.Update(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(8000), Swap: i64(10000), Reservation: i64(100)},
		CPU:    &specs.LinuxCPU{Quota: i64(30000), Period: u64(60000), Burst: u64(1000)},
		Pids:   &specs.LinuxPids{Limit: i64(3)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"memory.max": "8000", "memory.swap.max": "2000", "memory.low": "100",
		"cpu.max": "30000 60000", "cpu.max.burst": "1000", "pids.max": "3",
	} {
		if got := readFake(t, m, file); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}

	check := func(mem *specs.LinuxMemory, wantErr string) {
		t.Helper()
		mem.CheckBeforeUpdate = boolp(true)
		err := m.Update(&specs.LinuxResources{Memory: mem})
		if wantErr == "" && err != nil || wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)) {
			t.Errorf("Update(%+v) = %v, want %q", *mem, err, wantErr)
		}
	}
	check(&specs.LinuxMemory{Limit: i64(5000)}, "usage is already 5000")
	check(&specs.LinuxMemory{Limit: i64(5500), Swap: i64(6000)}, "memory+swap limit 6000 refused")
	if got := readFake(t, m, "memory.max"); got != "8000" {
		t.Errorf("a refused update changed memory.max to %q", got)
	}
	check(&specs.LinuxMemory{Limit: i64(5001), Swap: i64(7000)}, "")
	if got := readFake(t, m, "memory.max"); got != "5001" {
		t.Errorf("memory.max = %q after an accepted update", got)
	}

	// Validation happens before any write: nothing changes on error.
	err = m.Update(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(7)}, HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB"}}})
	if err == nil || !strings.Contains(err.Error(), `"hugetlb" controller`) {
		t.Errorf("Update without hugetlb: %v", err)
	}
	if got := readFake(t, m, "pids.max"); got != "3" {
		t.Errorf("failed update still wrote pids.max = %q", got)
	}
}

// On the real unified hierarchy of this machine (hybrid: typically only
// hugetlb, or nothing, is available) resources of absent controllers are
// refused by name, and the device filter and available limits land.
func TestApplyOnHost(t *testing.T) {
	m := testCgroup(t, "apply")
	env, err := m.env()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ctrl string
		r    specs.LinuxResources
	}{
		{"memory", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 30)}}},
		{"pids", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(100)}}},
		{"cpu", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(512)}}},
		{"io", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(100)}}},
	} {
		if env.controllers[tc.ctrl] {
			continue // a pure v2 host; the VM tests cover it
		}
		before, _ := m.DeviceFilterIDs()
		err := m.Apply(&tc.r)
		if err == nil || !strings.Contains(err.Error(), `"`+tc.ctrl+`" controller`) {
			t.Errorf("Apply needing %s: %v", tc.ctrl, err)
		}
		if after, _ := m.DeviceFilterIDs(); !slices.Equal(before, after) {
			t.Errorf("a refused Apply changed the device filter: %v -> %v", before, after)
		}
	}

	r := &specs.LinuxResources{Devices: devices.DefaultAllowedDevices()}
	hugetlb := env.controllers["hugetlb"] && m.exists("hugetlb.2MB.max")
	if hugetlb {
		r.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 8 << 20}}
	}
	if err := m.Apply(r); err != nil {
		t.Fatal(err)
	}
	if ids, err := m.DeviceFilterIDs(); err != nil || len(ids) != 1 {
		t.Errorf("device programs after Apply: %v, %v", ids, err)
	}
	if hugetlb {
		for _, f := range []string{"hugetlb.2MB.max", "hugetlb.2MB.rsvd.max"} {
			if got, _ := m.read(f); m.exists(f) && got != "8388608" {
				t.Errorf("%s = %q", f, got)
			}
		}
	}
}
