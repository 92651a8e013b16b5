package fs

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/cgroups/devices"
	"github.com/oci-rt/oci-rt/cgroups/internal/cgtest"
)

// The container's view groups co-mounted controllers under the host's
// directory name and leaves a hybrid host's unified hierarchy out.
func TestV1Hierarchies(t *testing.T) {
	hier := map[string]cgroups.Hierarchy{
		"cpu":          {Mountpoint: "/sys/fs/cgroup/cpu,cpuacct", Root: "/"},
		"cpuacct":      {Mountpoint: "/sys/fs/cgroup/cpu,cpuacct", Root: "/"},
		"memory":       {Mountpoint: "/sys/fs/cgroup/memory", Root: "/ctr"},
		"name=systemd": {Mountpoint: "/sys/fs/cgroup/systemd", Root: "/"},
		"":             {Mountpoint: "/sys/fs/cgroup/unified", Root: "/"},
	}
	paths := map[string]string{"cpu": "/c/1", "cpuacct": "/c/1", "memory": "/ctr/c/1", "name=systemd": "/c/1", "": "/c/1"}
	m, err := newManager(paths, hier)
	if err != nil {
		t.Fatal(err)
	}
	want := []cgroups.MountedHierarchy{
		{Name: "cpu,cpuacct", Controllers: []string{"cpu", "cpuacct"}, Dir: "/sys/fs/cgroup/cpu,cpuacct/c/1"},
		{Name: "memory", Controllers: []string{"memory"}, Dir: "/sys/fs/cgroup/memory/c/1"},
		{Name: "systemd", Controllers: []string{"name=systemd"}, Dir: "/sys/fs/cgroup/systemd/c/1"},
	}
	got := m.Hierarchies()
	if !slices.EqualFunc(got, want, func(a, b cgroups.MountedHierarchy) bool {
		return a.Name == b.Name && a.Dir == b.Dir && slices.Equal(a.Controllers, b.Controllers)
	}) {
		t.Errorf("Hierarchies\n got %+v\nwant %+v", got, want)
	}
}

type v1w = v1Write

var (
	u64   = cgtest.Ptr[uint64]
	u16   = cgtest.Ptr[uint16]
	u32   = cgtest.Ptr[uint32]
	boolp = cgtest.Ptr[bool]
)

// fakeV1Env: every controller mounted except those in missing; files
// exist unless listed in absent; current values from cur.
func fakeV1Env(missing []string, absent []string, cur map[string]string) v1Env {
	return v1Env{
		mounted: func(c string) bool { return !slices.Contains(missing, c) },
		has:     func(_, f string) bool { return !slices.Contains(absent, f) },
		current: func(_, f string) (string, error) { return cur[f], nil },
	}
}

func TestConvertV1(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		name    string
		r       specs.LinuxResources
		missing []string
		absent  []string
		cur     map[string]string
		want    []v1w
		err     string
		warn    string
	}{
		{name: "memory limit and swap, growing", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i(100), Swap: i(200)}},
			cur:  map[string]string{"memory.limit_in_bytes": "50"},
			want: []v1w{{ctrl: "memory", file: "memory.memsw.limit_in_bytes", value: "200"}, {ctrl: "memory", file: "memory.limit_in_bytes", value: "100"}}},
		{name: "memory limit and swap, shrinking", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i(100), Swap: i(200)}},
			cur:  map[string]string{"memory.limit_in_bytes": "9223372036854771712"},
			want: []v1w{{ctrl: "memory", file: "memory.limit_in_bytes", value: "100"}, {ctrl: "memory", file: "memory.memsw.limit_in_bytes", value: "200"}}},
		{name: "unlimited memory makes swap unlimited", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i(-1)}},
			want: []v1w{{ctrl: "memory", file: "memory.memsw.limit_in_bytes", value: "-1"}, {ctrl: "memory", file: "memory.limit_in_bytes", value: "-1"}}},
		{name: "no swap accounting, finite swap", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i(100), Swap: i(200)}},
			absent: []string{"memory.memsw.limit_in_bytes"}, err: "swap accounting"},
		{name: "reservation swappiness oom", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Reservation: i(10), Swappiness: u64(60), DisableOOMKiller: boolp(true)}},
			want: []v1w{{ctrl: "memory", file: "memory.soft_limit_in_bytes", value: "10"}, {ctrl: "memory", file: "memory.oom_control", value: "1"}, {ctrl: "memory", file: "memory.swappiness", value: "60"}}},
		{name: "swappiness -1 is unset", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: u64(^uint64(0))}}, want: []v1w{}},
		{name: "swappiness out of range", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: u64(101)}}, err: "swappiness"},
		{name: "use_hierarchy already 1", r: specs.LinuxResources{Memory: &specs.LinuxMemory{UseHierarchy: boolp(true)}},
			cur: map[string]string{"memory.use_hierarchy": "1"}, want: []v1w{}},
		{name: "kernel memory where the kernel has it", r: specs.LinuxResources{Memory: &specs.LinuxMemory{KernelTCP: i(4096)}},
			want: []v1w{{ctrl: "memory", file: "memory.kmem.tcp.limit_in_bytes", value: "4096", ignoredIfRefused: "linux.resources.memory.kernelTCP is ignored: this kernel does not support kernel memory limits"}}},
		{name: "kernel memory where it has not", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Kernel: i(4096)}},
			absent: []string{"memory.kmem.limit_in_bytes"}, want: []v1w{}, warn: "memory.kernel is ignored"},
		{name: "cpu", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(512), Quota: i(50000), Period: u64(100000), RealtimeRuntime: i(950), RealtimePeriod: u64(1000), Idle: i(0)}},
			want: []v1w{
				{ctrl: "cpu", file: "cpu.rt_period_us", value: "1000"}, {ctrl: "cpu", file: "cpu.rt_runtime_us", value: "950"},
				{ctrl: "cpu", file: "cpu.shares", value: "512"}, {ctrl: "cpu", file: "cpu.cfs_period_us", value: "100000", retryLast: true},
				{ctrl: "cpu", file: "cpu.cfs_quota_us", value: "50000"}, {ctrl: "cpu", file: "cpu.idle", value: "0"}}},
		{name: "cpu burst and negative quota", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i(-5), Burst: u64(10)}},
			want: []v1w{{ctrl: "cpu", file: "cpu.cfs_quota_us", value: "-1"}, {ctrl: "cpu", file: "cpu.cfs_burst_us", value: "10", retryLast: true}}},
		{name: "cpuset", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-1", Mems: "0"}},
			want: []v1w{{ctrl: "cpuset", file: "cpuset.cpus", value: "0-1"}, {ctrl: "cpuset", file: "cpuset.mems", value: "0"}}},
		{name: "pids 0 is unset", r: specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i(0)}}, missing: []string{"pids"}, want: []v1w{}},
		{name: "pids -1 is max", r: specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i(-1)}}, want: []v1w{{ctrl: "pids", file: "pids.max", value: "max"}}},
		{name: "pids limit", r: specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i(64)}}, want: []v1w{{ctrl: "pids", file: "pids.max", value: "64"}}},
		{name: "pids without controller", r: specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i(64)}}, missing: []string{"pids"}, err: `"pids" controller`},
		{name: "docker blkio weight 0", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(0)}}, missing: []string{"blkio"}, want: []v1w{}},
		{name: "blkio on bfq", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(300), LeafWeight: u16(20),
			WeightDevice:          []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: u16(400)}},
			ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1 << 20}}}},
			absent: []string{"blkio.weight", "blkio.leaf_weight"}, warn: "leafWeight is ignored",
			want: []v1w{{ctrl: "blkio", file: "blkio.bfq.weight", value: "300"}, {ctrl: "blkio", file: "blkio.bfq.weight_device", value: "8:0 400"},
				{ctrl: "blkio", file: "blkio.throttle.read_bps_device", value: "8:0 1048576"}}},
		{name: "blkio on cfq", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(300), LeafWeight: u16(20)}},
			absent: []string{"blkio.bfq.weight"},
			want:   []v1w{{ctrl: "blkio", file: "blkio.weight", value: "300"}, {ctrl: "blkio", file: "blkio.leaf_weight", value: "20"}}},
		{name: "blkio weight without a weighing scheduler", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(300)}},
			absent: []string{"blkio.weight", "blkio.bfq.weight"}, err: "proportional weights"},
		{name: "hugetlb with reservations", r: specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}},
			want: []v1w{{ctrl: "hugetlb", file: "hugetlb.2MB.limit_in_bytes", value: "4194304"}, {ctrl: "hugetlb", file: "hugetlb.2MB.rsvd.limit_in_bytes", value: "4194304"}}},
		{name: "hugetlb without controller", r: specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB"}}}, missing: []string{"hugetlb"}, err: `"hugetlb" controller`},
		{name: "net_cls and net_prio", r: specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: u32(0x100001), Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 5}}}},
			want: []v1w{{ctrl: "net_cls", file: "net_cls.classid", value: "1048577"}, {ctrl: "net_prio", file: "net_prio.ifpriomap", value: "eth0 5"}}},
		{name: "rdma", r: specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: u32(3)}}},
			want: []v1w{{ctrl: "rdma", file: "rdma.max", value: "mlx5_0 hca_handle=3"}}},
		{name: "unified refused", r: specs.LinuxResources{Unified: map[string]string{"memory.high": "1"}}, err: "needs cgroup v2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var warnings []string
			cgroups.Warn = func(m string) { warnings = append(warnings, m) }
			t.Cleanup(func() { cgroups.Warn = func(string) {} })
			got, err := convertV1(&tc.r, fakeV1Env(tc.missing, tc.absent, tc.cur))
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
			if tc.warn != "" && !slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, tc.warn) }) {
				t.Errorf("warnings %q, want one containing %q", warnings, tc.warn)
			}
		})
	}
}

func TestParseBlkioFile(t *testing.T) {
	got := parseBlkioFile("8:0 Read 100\n8:0 Write 200\n8:16 Total 5\nTotal 305\n")
	want := []cgroups.BlkioEntry{{Major: 8, Op: "Read", Value: 100}, {Major: 8, Op: "Write", Value: 200}, {Major: 8, Minor: 16, Op: "Total", Value: 5}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v", got)
	}
	if got := parseBlkioFile("8:0 42\n"); !slices.Equal(got, []cgroups.BlkioEntry{{Major: 8, Value: 42}}) {
		t.Errorf("op-less: %+v", got)
	}
}

// v1Host gives a v1 Manager for a fresh absolute cgroup on this host's v1
// hierarchies, removed at the end of the test.
func v1Host(t *testing.T) *Manager {
	t.Helper()
	cgtest.RequireRoot(t)
	if mode, err := cgroups.HostMode(); err != nil || mode == cgroups.ModeUnified {
		t.Skipf("host has no cgroup v1 hierarchies (mode %v, %v)", mode, err)
	}
	parent := "/oci-rt-test-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(cgtest.Seq(), 10)
	loc, err := cgroups.Resolve("", "c", parent+"/c")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(loc.Paths)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = m.Kill()
		if err := m.Destroy(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		for _, d := range m.uniqueDirs() {
			os.Remove(filepath.Dir(d))
		}
	})
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestV1OnHost(t *testing.T) {
	m := v1Host(t)
	i := func(v int64) *int64 { return &v }
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i(64 << 20), Reservation: i(32 << 20)},
		CPU:     &specs.LinuxCPU{Shares: u64(512), Quota: i(20000), Period: u64(100000)},
		Pids:    &specs.LinuxPids{Limit: i(32)},
		Devices: append([]specs.LinuxDeviceCgroup{cgtest.Rule(false, "a", -1, -1, "rwm")}, devices.DefaultAllowedDevices()...),
	}
	if err := m.Apply(r); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ ctrl, file, want string }{
		{"memory", "memory.limit_in_bytes", "67108864"}, {"memory", "memory.soft_limit_in_bytes", "33554432"},
		{"cpu", "cpu.shares", "512"}, {"cpu", "cpu.cfs_quota_us", "20000"}, {"cpu", "cpu.cfs_period_us", "100000"},
		{"pids", "pids.max", "32"},
	} {
		if _, ok := m.dirs[f.ctrl]; !ok {
			continue
		}
		if got, err := m.read(f.ctrl, f.file); err != nil || got != f.want {
			t.Errorf("%s = %q, %v; want %q", f.file, got, err, f.want)
		}
	}
	if list, _ := m.read("devices", "devices.list"); strings.Contains(list, "a *:* rwm") || !strings.Contains(list, "c 1:3 rwm") {
		t.Errorf("devices.list:\n%s", list)
	}
	if cpus, _ := m.read("cpuset", "cpuset.cpus"); cpus == "" {
		t.Error("cpuset.cpus left empty: no process could join")
	}

	// The v1 memory controller charges what a task allocates while it is
	// in the cgroup, not what it had when it joined: the shell execs sleep
	// only once inside, so that the cgroup's usage cannot be 0.
	cmd := exec.Command("sh", "-c", "read x && exec sleep 60")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	if err := m.Enter(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	waitComm(t, cmd.Process.Pid, "sleep")
	own, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cgroup")
	for ctrl, p := range m.paths {
		if !strings.Contains(string(own), ctrl+":"+p+"\n") {
			t.Errorf("process not in %s:%s:\n%s", ctrl, p, own)
		}
	}
	if pids, err := m.Pids(); err != nil || !slices.Equal(pids, []int{cmd.Process.Pid}) {
		t.Errorf("Pids = %v, %v", pids, err)
	}
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if frozen, err := m.Frozen(); !frozen || err != nil {
		t.Errorf("Frozen after Freeze: %t, %v", frozen, err)
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if frozen, _ := m.Frozen(); frozen {
		t.Error("still frozen after Thaw")
	}
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Pids.Current != 1 || s.Pids.Limit != 32 || s.Memory.Usage.Limit != 64<<20 || s.Memory.Usage.Usage == 0 {
		t.Errorf("stats: pids %+v, memory usage %+v", s.Pids, s.Memory.Usage)
	}
	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	for _, d := range m.uniqueDirs() {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s after Destroy: %v", d, err)
		}
	}
}

// Kill of a tree without processes leaves the freezer alone (a stopped
// container's delete needs no thaw), and the frozen, empty cgroup is
// removed all the same.
func TestV1KillOfAnEmptyFrozenTree(t *testing.T) {
	m := v1Host(t)
	if _, ok := m.dirs["freezer"]; !ok {
		t.Skip("no v1 freezer hierarchy on this host")
	}
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	if frozen, err := m.Frozen(); !frozen || err != nil {
		t.Errorf("Kill of an empty tree thawed it: frozen %t, %v", frozen, err)
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	for _, d := range m.uniqueDirs() {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s after Destroy: %v", d, err)
		}
	}
}

// waitComm waits until process pid runs the program named comm.
func waitComm(t *testing.T, pid int, comm string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(b)) == comm {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still runs %s, not %s", pid, b, comm)
		}
		time.Sleep(time.Millisecond)
	}
}

// Creating over a cgroup that still has a process is refused.
func TestV1CreateRefusesBusy(t *testing.T) {
	m := v1Host(t)
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	if err := m.Enter(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	again, err := Load(m.Paths())
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Create(); err == nil || !strings.Contains(err.Error(), "has processes") {
		t.Errorf("Create over a busy cgroup: %v", err)
	}
	_ = m.Kill()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if pids, _ := m.Pids(); len(pids) == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMkdirAllMakesMissingParentsOnly(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "parent", "child")
	if err := mkdirAll(dir); err != nil {
		t.Fatalf("mkdirAll of a new path: %v", err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("made %v, %v; want a directory", fi, err)
	}
	if err := mkdirAll(dir); err != nil {
		t.Fatalf("mkdirAll of an existing directory: %v", err)
	}
	sibling := filepath.Join(root, "parent", "sibling")
	if err := mkdirAll(sibling); err != nil {
		t.Fatalf("mkdirAll beside an existing one: %v", err)
	}
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{file, filepath.Join(file, "below")} {
		err := mkdirAll(p)
		var pe *os.PathError
		if !errors.As(err, &pe) || !errors.Is(err, unix.ENOTDIR) || pe.Op != "mkdir" {
			t.Errorf("mkdirAll(%s) = %v, want a mkdir PathError with ENOTDIR", p, err)
		}
	}
}

// With its directories handed over open, the manager reads and writes
// those directories, not whatever their paths name later: a write, a
// read and device rules reach the cgroup that was open even after it was
// renamed away.
func TestUseOpenDirsWritesThroughTheFds(t *testing.T) {
	m := v1Host(t)
	dir, ok := m.dirs["pids"]
	devDir, hasDevices := m.dirs["devices"]
	if !ok || !hasDevices {
		t.Skip("no v1 pids or devices hierarchy on this host")
	}
	open := map[string]int{}
	for _, d := range m.uniqueDirs() {
		fd, err := unix.Open(d, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		open[d] = fd
	}
	m.UseOpenDirs(open)
	for _, d := range []string{dir, devDir} {
		if err := os.Rename(d, d+"-moved"); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := os.Rename(d+"-moved", d); err != nil {
				t.Error(err)
			}
		}()
	}
	if err := m.write("pids", "pids.max", "7"); err != nil {
		t.Fatalf("write after the rename: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(dir+"-moved", "pids.max")); err != nil || string(got) != "7\n" {
		t.Errorf("pids.max of the open cgroup: %q, %v", got, err)
	}
	if got, err := m.read("pids", "pids.max"); err != nil || got != "7" {
		t.Errorf("read after the rename: %q, %v", got, err)
	}
	if err := m.SetDevices([]specs.LinuxDeviceCgroup{cgtest.Rule(false, "a", -1, -1, "rwm"), cgtest.Rule(true, "c", 1, 3, "rwm")}); err != nil {
		t.Fatalf("device rules after the rename: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(devDir+"-moved", "devices.list")); err != nil || string(got) != "c 1:3 rwm\n" {
		t.Errorf("devices.list of the open cgroup: %q, %v", got, err)
	}
}

// A single-threaded process that writes 0 into each "tasks" file
// OpenForSelfJoin gives it is then in the cgroup in every v1 hierarchy,
// also from a user namespace whose root is not host root, where it could
// not open them. Each v1 directory comes once, named by its hierarchy;
// the unified hierarchy's, which has no "tasks", comes apart, on a hybrid
// host only.
func TestOpenForSelfJoin(t *testing.T) {
	m := v1Host(t)
	v1, unified, err := m.OpenForSelfJoin()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, j := range v1 {
			j.Tasks.Close()
		}
		if unified != nil {
			unified.Close()
		}
	}()
	if _, hybrid := m.dirs[cgroups.UnifiedKey]; hybrid != (unified != nil) {
		t.Errorf("unified directory %v on a host with a unified hierarchy: %t", unified, hybrid)
	}
	if unified != nil && unified.Name() != m.dirs[cgroups.UnifiedKey] {
		t.Errorf("unified directory %s, want %s", unified.Name(), m.dirs[cgroups.UnifiedKey])
	}
	var want, got []string
	for _, d := range m.uniqueDirs() {
		if d != m.dirs[cgroups.UnifiedKey] {
			want = append(want, d)
		}
	}
	script := ""
	files := make([]*os.File, len(v1))
	for i, j := range v1 {
		dir := filepath.Dir(j.Tasks.Name())
		got = append(got, dir)
		if m.dirs[j.Hierarchy] != dir && m.dirs["name="+j.Hierarchy] != dir {
			t.Errorf("directory %s named by hierarchy %q", dir, j.Hierarchy)
		}
		files[i] = j.Tasks
		script += "echo 0 >&" + strconv.Itoa(3+i) + " && "
	}
	if !slices.Equal(got, want) {
		t.Errorf("v1 directories %v, want %v", got, want)
	}
	// The shell (bash: dash takes no fd above 9) is root of a user
	// namespace that maps it to host uid 100000.
	maps := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	cmd := exec.Command("bash", "-c", script+"exec cat /proc/self/cgroup")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER, UidMappings: maps, GidMappings: maps}
	cmd.ExtraFiles = files
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for ctrl, p := range m.paths {
		if ctrl != cgroups.UnifiedKey && !strings.Contains(string(out), ctrl+":"+p+"\n") {
			t.Errorf("process not in %s:%s:\n%s", ctrl, p, out)
		}
	}
}
