package cgroups

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseV1Mounts(t *testing.T) {
	mountinfo := `22 1 0:20 / /sys rw - sysfs sysfs rw
30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
33 30 0:30 /ctr /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
34 30 0:31 / /sys/fs/cgroup/my\040pids rw - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
41 30 0:38 / /mnt/other-v2 rw - cgroup2 cgroup2 rw
`
	got, err := parseV1Mounts([]byte(mountinfo))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]hierarchy{
		"cpu":          {mountpoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/"},
		"cpuacct":      {mountpoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/"},
		"memory":       {mountpoint: "/sys/fs/cgroup/memory", root: "/ctr"},
		"pids":         {mountpoint: "/sys/fs/cgroup/my pids", root: "/"},
		"name=systemd": {mountpoint: "/sys/fs/cgroup/systemd", root: "/"},
		"":             {mountpoint: "/sys/fs/cgroup/unified", root: "/"},
	}
	if !maps.Equal(got, want) {
		t.Errorf("parseV1Mounts\n got %v\nwant %v", got, want)
	}
	if _, err := parseV1Mounts([]byte("22 1 0:20 / /sys rw - sysfs sysfs rw\n")); err == nil {
		t.Error("no cgroup mounts: no error")
	}
}

// The container's view groups co-mounted controllers under the host's
// directory name and leaves a hybrid host's unified hierarchy out.
func TestV1Hierarchies(t *testing.T) {
	hier := map[string]hierarchy{
		"cpu":          {mountpoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/"},
		"cpuacct":      {mountpoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/"},
		"memory":       {mountpoint: "/sys/fs/cgroup/memory", root: "/ctr"},
		"name=systemd": {mountpoint: "/sys/fs/cgroup/systemd", root: "/"},
		"":             {mountpoint: "/sys/fs/cgroup/unified", root: "/"},
	}
	paths := map[string]string{"cpu": "/c/1", "cpuacct": "/c/1", "memory": "/ctr/c/1", "name=systemd": "/c/1", "": "/c/1"}
	m, err := newV1(paths, hier)
	if err != nil {
		t.Fatal(err)
	}
	want := []Hierarchy{
		{Name: "cpu,cpuacct", Controllers: []string{"cpu", "cpuacct"}, Dir: "/sys/fs/cgroup/cpu,cpuacct/c/1"},
		{Name: "memory", Controllers: []string{"memory"}, Dir: "/sys/fs/cgroup/memory/c/1"},
		{Name: "systemd", Controllers: []string{"name=systemd"}, Dir: "/sys/fs/cgroup/systemd/c/1"},
	}
	got := m.Hierarchies()
	if !slices.EqualFunc(got, want, func(a, b Hierarchy) bool {
		return a.Name == b.Name && a.Dir == b.Dir && slices.Equal(a.Controllers, b.Controllers)
	}) {
		t.Errorf("Hierarchies\n got %+v\nwant %+v", got, want)
	}
}

func TestParseProcCgroup(t *testing.T) {
	got, err := parseProcCgroup([]byte("9:name=systemd:/a\n4:memory:/m/x\n1:cpu,cpuacct:/\n0::/u\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"name=systemd": "/a", "memory": "/m/x", "cpu": "/", "cpuacct": "/", "": "/u"}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// A v1 cgroupsPath resolves per hierarchy as runc's fs driver resolves it.
func TestResolveV1(t *testing.T) {
	hier := map[string]hierarchy{"memory": {}, "cpu": {}, "": {}}
	own := map[string]string{"memory": "/busy/shell", "cpu": "/", "": "/u"}
	for _, tc := range []struct {
		path string
		want map[string]string
		rep  string
		err  string
	}{
		{path: "/docker/abc", want: map[string]string{"memory": "/docker/abc", "cpu": "/docker/abc", "": "/docker/abc"}, rep: "/docker/abc"},
		{path: "rel/x", want: map[string]string{"memory": "/busy/shell/rel/x", "cpu": "/rel/x", "": "/u/rel/x"}, rep: "/u/rel/x"},
		{path: "", want: map[string]string{"memory": "/oci-rt/id1", "cpu": "/oci-rt/id1", "": "/oci-rt/id1"}, rep: "/oci-rt/id1"},
		{path: "/a/../b", err: `".."`},
		{path: "/", err: "root cgroup"},
	} {
		loc, err := resolveV1(tc.path, "id1", "/oci-rt", hier, own)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("resolveV1(%q) = %v, %v; want error %q", tc.path, loc, err, tc.err)
			}
			continue
		}
		if err != nil || !maps.Equal(loc.Paths, tc.want) || loc.Path != tc.rep {
			t.Errorf("resolveV1(%q) = %+v, %v; want %v (%s)", tc.path, loc, err, tc.want, tc.rep)
		}
	}
}

func TestDefaultParentPerRoot(t *testing.T) {
	if got := DefaultParent("/run/oci-rt/"); got != "/oci-rt" {
		t.Errorf("default root: %q", got)
	}
	a, b := DefaultParent("/tmp/a"), DefaultParent("/tmp/b")
	if a == b || !strings.HasPrefix(a, "/oci-rt-") || len(a) != len("/oci-rt-")+8 {
		t.Errorf("roots /tmp/a and /tmp/b: %q and %q", a, b)
	}
	if DefaultParent("/tmp/a/../a") != a {
		t.Error("the hash depends on the spelling of the root")
	}
	if !UnderDefaultParent(a+"/x", "x", "/tmp/a") || UnderDefaultParent(a+"/x", "x", "/tmp/b") || UnderDefaultParent("/other/x", "x", "/tmp/a") {
		t.Error("UnderDefaultParent")
	}
}

type v1w = v1Write

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
			Warn = func(m string) { warnings = append(warnings, m) }
			t.Cleanup(func() { Warn = func(string) {} })
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
	want := []BlkioEntry{{Major: 8, Op: "Read", Value: 100}, {Major: 8, Op: "Write", Value: 200}, {Major: 8, Minor: 16, Op: "Total", Value: 5}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v", got)
	}
	if got := parseBlkioFile("8:0 42\n"); !slices.Equal(got, []BlkioEntry{{Major: 8, Value: 42}}) {
		t.Errorf("op-less: %+v", got)
	}
}

// applyDevWrite is the kernel's handling of one devices.allow/deny write,
// for the exact-key rules devTransition emits.
func applyDevWrite(st devState, w devWrite) devState {
	rules, err := parseDeviceRules([]specs.LinuxDeviceCgroup{ruleFromLine(w)})
	if err != nil {
		panic(err)
	}
	r := rules[0]
	if r.typ == 0 && r.major < 0 && r.minor < 0 {
		return newDevState(r.allow)
	}
	out := devState{allowDefault: st.allowDefault, exceptions: maps.Clone(st.exceptions), order: slices.Clone(st.order)}
	k := devKey{typ: typeLetter(r.typ), major: r.major, minor: r.minor}
	if r.allow != out.allowDefault {
		out.grant(k, r.access)
	} else {
		out.revoke(k, r.access)
	}
	return out
}

func ruleFromLine(w devWrite) specs.LinuxDeviceCgroup {
	d := specs.LinuxDeviceCgroup{Allow: w.file == "devices.allow", Type: "a"}
	f := strings.Fields(w.rule)
	if len(f) == 3 {
		d.Type, d.Access = f[0], f[2]
		maj, minor, _ := strings.Cut(f[1], ":")
		for _, n := range []struct {
			s   string
			dst **int64
		}{{maj, &d.Major}, {minor, &d.Minor}} {
			if n.s != "*" {
				v, _ := strconv.ParseInt(n.s, 10, 64)
				*n.dst = &v
			}
		}
	}
	return d
}

// allowed reports whether st permits access acc to the device.
func (st devState) allowed(typ byte, major, minor int64, acc uint32) bool {
	for k, a := range st.exceptions {
		if k.typ == typ && (k.major < 0 || k.major == major) && (k.minor < 0 || k.minor == minor) && a&acc == acc {
			return !st.allowDefault
		}
	}
	return st.allowDefault
}

// An update is a sequence of writes, each live at once: at no step may the
// container hold a device both the old and the new rules deny, nor lack one
// both allow.
func TestDevTransitionHasNoWindow(t *testing.T) {
	base := append([]specs.LinuxDeviceCgroup{rule(false, "a", -1, -1, "rwm")}, DefaultAllowedDevices()...)
	withFuse := append(slices.Clone(base), rule(true, "c", 10, 229, "rwm"))
	fuseReadOnly := append(slices.Clone(base), rule(true, "c", 10, 229, "r"))
	noNull := append(slices.Clone(base), rule(false, "c", 1, 3, "w"))
	sets := [][]specs.LinuxDeviceCgroup{base, withFuse, fuseReadOnly, noNull}
	probes := []devKey{{'c', 1, 3}, {'c', 1, 5}, {'c', 10, 229}, {'c', 136, 4}, {'b', 8, 0}, {'c', 4, 1}}
	for i, from := range sets {
		for j, to := range sets {
			fr, _ := parseDeviceRules(from)
			tr, _ := parseDeviceRules(to)
			cur, target := targetDevState(fr), targetDevState(tr)
			st := cur
			for _, w := range devTransition(cur, target) {
				st = applyDevWrite(st, w)
				for _, p := range probes {
					for _, acc := range []uint32{accRead, accWrite, accMknod} {
						a, b, now := cur.allowed(p.typ, p.major, p.minor, acc), target.allowed(p.typ, p.major, p.minor, acc), st.allowed(p.typ, p.major, p.minor, acc)
						if a && b && !now || !a && !b && now {
							t.Errorf("set %d -> %d: after %v, %v access %d is %t", i, j, w, p, acc, now)
						}
					}
				}
			}
			if !maps.Equal(st.exceptions, target.exceptions) || st.allowDefault != target.allowDefault {
				t.Errorf("set %d -> %d: ends at %+v, want %+v", i, j, st, target)
			}
		}
	}
}

func TestDevTransitionFromFreshCgroup(t *testing.T) {
	fresh, err := parseDevicesList("a *:* rwm\n")
	if err != nil || !fresh.allowDefault {
		t.Fatalf("fresh: %+v, %v", fresh, err)
	}
	// The config's order is kept (devices.list shows it so).
	rules, _ := parseDeviceRules([]specs.LinuxDeviceCgroup{rule(false, "a", -1, -1, "rwm"), rule(true, "c", 10, 229, "rwm"), rule(true, "b", 8, 20, "rw"), rule(true, "c", 1, 3, "rwm"), rule(true, "c", 1, 3, "rw")})
	got := devTransition(fresh, targetDevState(rules))
	want := []devWrite{{"devices.deny", "a"}, {"devices.allow", "c 10:229 rwm"}, {"devices.allow", "b 8:20 rw"}, {"devices.allow", "c 1:3 rwm"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	listed, err := parseDevicesList("c 1:3 rwm\nc 136:* rw\nb *:* m\n")
	if err != nil || listed.allowDefault || len(listed.exceptions) != 3 || listed.exceptions[devKey{'c', 136, -1}] != accRead|accWrite {
		t.Errorf("parse list: %+v, %v", listed, err)
	}
}

// v1Host gives a V1 manager for a fresh absolute cgroup on this host's v1
// hierarchies, removed at the end of the test.
func v1Host(t *testing.T) *V1 {
	t.Helper()
	requireRoot(t)
	if mode, err := HostMode(); err != nil || mode == ModeUnified {
		t.Skipf("host has no cgroup v1 hierarchies (mode %v, %v)", mode, err)
	}
	hier, err := v1Hierarchies()
	if err != nil {
		t.Fatal(err)
	}
	loc, err := resolveV1("", "c", "/oci-rt-test-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatInt(testCgroupSeq.Add(1), 10), hier, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := newV1(loc.Paths, hier)
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
		Devices: append([]specs.LinuxDeviceCgroup{rule(false, "a", -1, -1, "rwm")}, DefaultAllowedDevices()...),
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

	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	if err := m.Enter(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
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
	again, err := newV1(m.Paths(), must(v1Hierarchies()))
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

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// BenchmarkContainerCgroup measures the cgroup work of one `run` on this
// host with each driver: create, apply a memory/cpu/pids limit and the
// default device rules, move a process in, kill, destroy. On a hybrid host
// V1 does it in every v1 hierarchy plus the unified one, Unified in the
// unified hierarchy alone (where only the device filter applies).
func BenchmarkContainerCgroup(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	i := func(v int64) *int64 { return &v }
	devices := append([]specs.LinuxDeviceCgroup{rule(false, "a", -1, -1, "rwm")}, DefaultAllowedDevices()...)
	parent := "/oci-rt-bench-" + strconv.Itoa(os.Getpid())
	b.Run("v1", func(b *testing.B) {
		if mode, _ := HostMode(); mode == ModeUnified {
			b.Skip("no v1 hierarchies")
		}
		hier := must(v1Hierarchies())
		r := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i(64 << 20)}, CPU: &specs.LinuxCPU{Shares: u64(1024)}, Pids: &specs.LinuxPids{Limit: i(100)}, Devices: devices}
		for n := 0; b.Loop(); n++ {
			loc := must(resolveV1("", "c"+strconv.Itoa(n), parent, hier, nil))
			benchLifecycle(b, must(newV1(loc.Paths, hier)), r)
		}
		for _, h := range hier {
			os.Remove(h.mountpoint + parent)
		}
	})
	b.Run("unified", func(b *testing.B) {
		root, err := Mountpoint()
		if err != nil {
			b.Skip(err)
		}
		r := &specs.LinuxResources{Devices: devices}
		for n := 0; b.Loop(); n++ {
			benchLifecycle(b, must(NewAt(root, parent+"/c"+strconv.Itoa(n))), r)
		}
		os.Remove(root + parent)
	})
}

func benchLifecycle(b *testing.B, m Manager, r *specs.LinuxResources) {
	if err := m.Create(); err != nil {
		b.Fatal(err)
	}
	if err := m.Apply(r); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("/bin/true")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	_ = m.Enter(cmd.Process.Pid) // it may have exited already
	_ = cmd.Wait()
	if err := m.Kill(); err != nil {
		b.Fatal(err)
	}
	if err := m.Destroy(); err != nil {
		b.Fatal(err)
	}
}

func TestRetryVanishedParent(t *testing.T) {
	calls := 0
	err := retryVanishedParent(func() error {
		calls++
		if calls < 2 {
			return os.ErrNotExist
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Errorf("a parent that vanished once: %v after %d calls", err, calls)
	}
	calls = 0
	if err := retryVanishedParent(func() error { calls++; return os.ErrPermission }); !os.IsPermission(err) || calls != 1 {
		t.Errorf("other errors are not retried: %v after %d calls", err, calls)
	}
}
