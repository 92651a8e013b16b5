package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
)

// Tests of containers on cgroup v1 hierarchies (this machine is hybrid:
// v1 controllers under /sys/fs/cgroup/<controller>, an empty cgroup2 at
// /sys/fs/cgroup/unified; the VM test bed has a v1-only mode). Values are
// checked in the v1 files themselves.

// requireV1 skips on a host without cgroup v1 hierarchies (pure v2); the
// skip is reported, never a pass.
func requireV1(t *testing.T) {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil || st.Type == unix.CGROUP2_SUPER_MAGIC {
		t.Skip("no cgroup v1 hierarchies on this host")
	}
}

// v1Dir is the container's default cgroup in ctrl's v1 hierarchy, "" if
// it does not exist.
func v1Dir(id, ctrl string) string {
	m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", ctrl, defaultCgroupGlob(id)))
	if len(m) != 1 {
		return ""
	}
	return m[0]
}

// v1Mounted tells whether ctrl has its own hierarchy here.
func v1Mounted(ctrl string) bool {
	var st unix.Statfs_t
	return unix.Statfs(filepath.Join("/sys/fs/cgroup", ctrl), &st) == nil && st.Type == unix.CGROUP_SUPER_MAGIC
}

func readV1(t *testing.T, id, ctrl, file string) string {
	t.Helper()
	dir := v1Dir(id, ctrl)
	if dir == "" {
		t.Fatalf("container %s has no cgroup in the %s hierarchy", id, ctrl)
	}
	return strings.TrimSpace(readFile(t, filepath.Join(dir, file)))
}

func withResources(r specs.LinuxResources) func(*specs.Spec) {
	return func(s *specs.Spec) {
		if s.Linux.Resources != nil {
			r.Devices = s.Linux.Resources.Devices
		}
		s.Linux.Resources = &r
	}
}

func i64p(v int64) *int64   { return &v }
func u64p(v uint64) *uint64 { return &v }
func u16p(v uint16) *uint16 { return &v }
func boolPtr(v bool) *bool  { return &v }

// TestCgroupV1Limits: a container with the limits the engines send (ctr's
// cpu.shares 1024, Podman's pids 2048, Docker's blkio weight 0) runs, and
// every limit is in the v1 file runc writes it to; the process is in the
// container's cgroup in every hierarchy, the unified one included.
func TestCgroupV1Limits(t *testing.T) {
	requireV1(t)
	r := newRuntime(t)
	c := runningContainer(t, r, withResources(specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i64p(64 << 20), Reservation: i64p(32 << 20), Swappiness: u64p(10), DisableOOMKiller: boolPtr(false)},
		CPU:     &specs.LinuxCPU{Shares: u64p(1024), Quota: i64p(25000), Period: u64p(100000), Cpus: "0", Mems: "0"},
		Pids:    &specs.LinuxPids{Limit: i64p(2048)},
		BlockIO: &specs.LinuxBlockIO{Weight: u16p(0)},
	}))
	for _, f := range []struct{ ctrl, file, want string }{
		{"memory", "memory.limit_in_bytes", "67108864"},
		{"memory", "memory.soft_limit_in_bytes", "33554432"},
		{"memory", "memory.swappiness", "10"},
		{"cpu", "cpu.shares", "1024"},
		{"cpu", "cpu.cfs_quota_us", "25000"},
		{"cpu", "cpu.cfs_period_us", "100000"},
		{"cpuset", "cpuset.cpus", "0"},
		{"cpuset", "cpuset.mems", "0"},
		{"pids", "pids.max", "2048"},
	} {
		if got := readV1(t, c.ID, f.ctrl, f.file); got != f.want {
			t.Errorf("%s/%s = %q, want %q", f.ctrl, f.file, got, f.want)
		}
	}
	requireInItsCgroups(t, c)
}

// requireInItsCgroups checks that the init of c is in the container's
// cgroup in every v1 hierarchy, alone, and in the unified one on a hybrid
// host.
func requireInItsCgroups(t *testing.T, c *Container) {
	t.Helper()
	own := readFile(t, "/proc/"+strconv.Itoa(c.Pid)+"/cgroup")
	for _, ctrl := range []string{"memory", "cpu", "cpuacct", "cpuset", "pids", "blkio", "devices", "freezer"} {
		if !v1Mounted(ctrl) {
			continue
		}
		want := ":" + strings.TrimPrefix(v1Dir(c.ID, ctrl), "/sys/fs/cgroup/"+ctrl) + "\n"
		if !strings.Contains(own, ctrl+want) {
			t.Errorf("init not in its %s cgroup (%s):\n%s", ctrl, want, own)
		}
		if procs := procsIn(t, v1Dir(c.ID, ctrl)); !slices.Equal(procs, []int{c.Pid}) {
			t.Errorf("%s cgroup.procs %v, want the init %d", ctrl, procs, c.Pid)
		}
	}
	// A hybrid host's unified hierarchy holds it too; a legacy host has none.
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC &&
		!strings.Contains(own, "0::"+strings.TrimPrefix(cgroupDir(c.ID), unifiedMount())+"\n") {
		t.Errorf("init not in its unified cgroup:\n%s", own)
	}
}

// TestCgroupV1PidsLimitEnforced: the pids limit stops forks in the
// container; Podman's 0 and runc's -1 both mean no limit.
func TestCgroupV1PidsLimitEnforced(t *testing.T) {
	requireV1(t)
	r := newRuntime(t)
	c := runningContainer(t, r, withResources(specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64p(8)}}))
	res := r.Run("exec", c.ID, "sh", "-c", "for i in $(seq 20); do sleep 5 & done 2>&1; kill $(jobs -p) 2>/dev/null; true")
	if !strings.Contains(res.Stdout+res.Stderr, "fork") {
		t.Errorf("forks past pids.max 8 were not refused: %s", res)
	}
	for _, limit := range []int64{0, -1} {
		c := runningContainer(t, r, withResources(specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64p(limit)}}))
		if got := readV1(t, c.ID, "pids", "pids.max"); got != "max" {
			t.Errorf("pids limit %d: pids.max %q, want max", limit, got)
		}
	}
}

// TestCgroupV1PauseResume: pause freezes through freezer.state and waits
// for FROZEN; resume thaws; state follows.
func TestCgroupV1PauseResume(t *testing.T) {
	requireV1(t)
	r := newRuntime(t)
	c := runningContainer(t, r)
	r.Must("pause", c.ID)
	if got := readV1(t, c.ID, "freezer", "freezer.state"); got != "FROZEN" {
		t.Errorf("freezer.state after pause: %q", got)
	}
	if st := r.State(c.ID); st.Status != "paused" {
		t.Errorf("state after pause: %s", st.Status)
	}
	r.Must("resume", c.ID)
	if got := readV1(t, c.ID, "freezer", "freezer.state"); got != "THAWED" {
		t.Errorf("freezer.state after resume: %q", got)
	}
	if st := r.State(c.ID); st.Status != "running" {
		t.Errorf("state after resume: %s", st.Status)
	}
	// A paused container is deleted with --force: the frozen tasks are
	// thawed so that they can die.
	r.Must("pause", c.ID)
	r.Must("delete", "--force", c.ID)
	if d := v1Dir(c.ID, "freezer"); d != "" {
		t.Errorf("freezer cgroup %s left after delete --force of a paused container", d)
	}
}

// TestCgroupV1Update: update's flags and -r resources.json write the v1
// files, memory and memory+swap in the order the kernel accepts.
func TestCgroupV1Update(t *testing.T) {
	requireV1(t)
	r := newRuntime(t)
	c := runningContainer(t, r, withResources(specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64p(64 << 20)}}))
	r.Must("update", "--memory", "128m", "--cpu-shares", "512", "--cpu-quota", "30000", "--cpu-period", "60000", "--pids-limit", "99", "--cpuset-cpus", "0", c.ID)
	want := map[[2]string]string{
		{"memory", "memory.limit_in_bytes"}: "134217728",
		{"cpu", "cpu.shares"}:               "512",
		{"cpu", "cpu.cfs_quota_us"}:         "30000",
		{"cpu", "cpu.cfs_period_us"}:        "60000",
		{"pids", "pids.max"}:                "99",
		{"cpuset", "cpuset.cpus"}:           "0",
	}
	if v1Dir(c.ID, "memory") != "" && fileExists(filepath.Join(v1Dir(c.ID, "memory"), "memory.memsw.limit_in_bytes")) {
		r.Must("update", "--memory", "32m", "--memory-swap", "48m", c.ID)
		want[[2]string{"memory", "memory.limit_in_bytes"}] = "33554432"
		want[[2]string{"memory", "memory.memsw.limit_in_bytes"}] = "50331648"
		// Growing both: memory+swap must be raised first.
		r.Must("update", "--memory", "256m", "--memory-swap", "512m", c.ID)
		want[[2]string{"memory", "memory.limit_in_bytes"}] = "268435456"
		want[[2]string{"memory", "memory.memsw.limit_in_bytes"}] = "536870912"
	}
	cmd := r.Command("update", "-r", "-", c.ID)
	cmd.Stdin = strings.NewReader(`{"pids":{"limit":77},"memory":{"reservation":1048576},"blockIO":{"weight":0}}`)
	if res := r.RunCmd(cmd); res.Code != 0 || res.Stderr != "" {
		t.Fatalf("update -r: %s", res)
	}
	want[[2]string{"pids", "pids.max"}] = "77"
	want[[2]string{"memory", "memory.soft_limit_in_bytes"}] = "1048576"
	for k, v := range want {
		if got := readV1(t, c.ID, k[0], k[1]); got != v {
			t.Errorf("%s/%s = %q, want %q", k[0], k[1], got, v)
		}
	}
	if res := r.Run("update", "--memory", "1m", "--memory-swap", "512k", c.ID); res.Code == 0 {
		t.Errorf("memory+swap below memory accepted: %s", res)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestCgroupV1Stats: events --stats reads the container's own numbers from
// the v1 files in runc's JSON shape (what docker/podman stats and ctr task
// metrics parse, here through go-runc as containerd reads it).
func TestCgroupV1Stats(t *testing.T) {
	requireV1(t)
	r := newRuntime(t)
	c := runningContainer(t, r, withResources(specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64p(48 << 20)},
		Pids:   &specs.LinuxPids{Limit: i64p(30)},
	}))
	r.Must("exec", c.ID, "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done")
	st, err := r.GoRunc().Stats(context.Background(), c.ID)
	noErr(t, err)
	if st.Memory.Usage.Limit != 48<<20 || st.Memory.Usage.Usage == 0 || st.Memory.Usage.Max < st.Memory.Usage.Usage {
		t.Errorf("memory usage entry %+v", st.Memory.Usage)
	}
	if len(st.Memory.Raw) == 0 {
		t.Error("memory.stat not reported")
	}
	if st.Pids.Current != 1 || st.Pids.Limit != 30 {
		t.Errorf("pids %+v, want current 1 limit 30", st.Pids)
	}
	if st.Cpu.Usage.Total == 0 || len(st.Cpu.Usage.Percpu) == 0 {
		t.Errorf("cpu usage %+v", st.Cpu.Usage)
	}
	out := r.Must("events", "--stats", c.ID)
	var ev struct {
		Type string                     `json:"type"`
		ID   string                     `json:"id"`
		Data map[string]json.RawMessage `json:"data"`
	}
	noErr(t, json.Unmarshal([]byte(out), &ev))
	for _, k := range []string{"cpu", "memory", "pids", "blkio", "hugetlb"} {
		if _, ok := ev.Data[k]; !ok || ev.Type != "stats" || ev.ID != c.ID {
			t.Errorf("events --stats: no %q in %s", k, out)
		}
	}
}

// TestCgroupV1OOMEvent: a process exec'd into a container with a 32 MiB
// limit (no swap) that allocates 64 MiB is OOM-killed, and the events
// stream reports {"type":"oom"} from memory.oom_control's eventfd.
func TestCgroupV1OOMEvent(t *testing.T) {
	requireV1(t)
	r := newRuntime(t)
	mem := &specs.LinuxMemory{Limit: i64p(32 << 20)}
	c := runningContainer(t, r, func(s *specs.Spec) {
		if fileExists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") {
			mem.Swap = mem.Limit
		}
		withResources(specs.LinuxResources{Memory: mem})(s)
	})
	lines, evErr := eventLines(t, r, c.ID)
	// Give events time to register its eventfd before the OOM.
	time.Sleep(300 * time.Millisecond)
	res := r.Run("exec", c.ID, "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
	if res.Code != 137 {
		t.Errorf("memory hog: %s, want exit 137 (SIGKILL by the OOM killer)", res)
	}
	select {
	case line := <-lines:
		var e struct{ Type, ID string }
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Type != "oom" || e.ID != c.ID {
			t.Errorf("events line %q, want an oom event", line)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("no oom event within 10s; events stderr %q; oom_control %q limit %q", evErr.String(), readV1(t, c.ID, "memory", "memory.oom_control"), readV1(t, c.ID, "memory", "memory.limit_in_bytes"))
	}
}

// TestCgroupV1Devices: from inside the container, an allowed device
// works and one outside the allow list is refused (opening /dev/kmsg
// write-only needs no capability: only the devices cgroup stands in the
// way); an update that allows it takes effect, one that removes it again
// too, and the default devices stay usable throughout.
func TestCgroupV1Devices(t *testing.T) {
	requireV1(t)
	r := newRuntime(t)
	c := runningContainer(t, r, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/dev/kmsg", Type: "bind", Source: "/dev/kmsg", Options: []string{"bind"}})
	})
	probe := func() Result { return r.Run("exec", c.ID, "sh", "-c", ": > /dev/kmsg") }
	defaults := func(when string) {
		t.Helper()
		if res := r.Run("exec", c.ID, "sh", "-c", ": > /dev/null && head -c1 /dev/zero >/dev/null"); res.Code != 0 {
			t.Errorf("default devices %s: %s", when, res)
		}
	}
	if res := probe(); res.Code == 0 || !strings.Contains(res.Stderr, "Operation not permitted") {
		t.Errorf("/dev/kmsg (c 1:11) opened without a rule: %s", res)
	}
	defaults("at start")
	list := readV1(t, c.ID, "devices", "devices.list")
	if strings.Contains(list, "a *:* rwm") || !strings.Contains(list, "c 1:3 rwm") || strings.Contains(list, "c 1:11") {
		t.Errorf("devices.list:\n%s", list)
	}
	cmd := r.Command("update", "-r", "-", c.ID)
	cmd.Stdin = strings.NewReader(`{"devices":[{"allow":true,"type":"c","major":1,"minor":11,"access":"w"}]}`)
	if res := r.RunCmd(cmd); res.Code != 0 || res.Stderr != "" {
		t.Fatalf("%s", res)
	}
	if res := probe(); res.Code != 0 {
		t.Errorf("/dev/kmsg after allowing it: %s", res)
	}
	if got := readV1(t, c.ID, "devices", "devices.list"); !strings.Contains(got, "c 1:11 w") {
		t.Errorf("devices.list after allowing c 1:11 w:\n%s", got)
	}
	defaults("after allowing /dev/kmsg")
	cmd = r.Command("update", "-r", "-", c.ID)
	cmd.Stdin = strings.NewReader(`{"devices":[]}`)
	if res := r.RunCmd(cmd); res.Code != 0 || res.Stderr != "" {
		t.Fatalf("%s", res)
	}
	if res := probe(); res.Code == 0 {
		t.Errorf("/dev/kmsg still usable after the rule was removed: %s", res)
	}
	defaults("after removing /dev/kmsg")
}

// TestCgroupV1DeleteCleanup: delete removes the container's cgroup from
// every hierarchy, also after the runtime died in the middle of create.
func TestCgroupV1DeleteCleanup(t *testing.T) {
	requireV1(t)
	r := newRuntime(t)
	c := runningContainer(t, r, withResources(specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64p(64 << 20)}}))
	dirs := allCgroupDirs(c.ID)
	if len(dirs) < 3 {
		t.Fatalf("container cgroups: %v, want one per hierarchy", dirs)
	}
	// A private root's default cgroups sit right below each hierarchy's
	// root, where cgroups.DefaultPath puts them: no parent of the root's
	// own that would stay behind when its last container goes.
	if want := allDirsFor(cgroups.DefaultPath(r.Root, c.ID)); !slices.Equal(want, dirs) {
		t.Errorf("container cgroups %v, want %v", dirs, want)
	}
	for _, d := range dirs {
		if parent := filepath.Dir(filepath.Dir(d)); parent != "/sys/fs/cgroup" {
			t.Errorf("%s is not right below its hierarchy's root", d)
		}
	}
	r.Must("delete", "--force", c.ID)
	for _, d := range dirs {
		if fileExists(d) {
			t.Errorf("%s left after delete", d)
		}
	}

	for _, point := range []string{"cgroup", "spawned"} {
		id := newID(t)
		cmd := r.createStoppedAt(newBundle(t, withArgs("true")), id, point)
		dirs := allCgroupDirs(id)
		if len(dirs) < 3 {
			t.Errorf("stopped at %s: container cgroups %v", point, dirs)
		}
		pid := readState(t, r, id).initPid()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		r.Must("delete", "--force", id)
		if pid > 0 {
			reapZombie(pid)
		}
		for _, d := range dirs {
			if fileExists(d) {
				t.Errorf("runtime killed at %s: %s left after delete --force", point, d)
			}
		}
	}
}

// TestCgroupV1Exec: an exec'd process joins the container's cgroups in
// every hierarchy; --cgroup takes runc's "controller:path" form, which
// moves it to the sub-cgroup in that hierarchy only.
func TestCgroupV1Exec(t *testing.T) {
	requireV1(t)
	r := newRuntime(t)
	c := runningContainer(t, r)
	initCgroups := readFile(t, "/proc/"+strconv.Itoa(c.Pid)+"/cgroup")
	out := r.Must("exec", c.ID, "cat", "/proc/self/cgroup")
	if out != initCgroups {
		t.Errorf("exec'd process in\n%s\nthe init in\n%s", out, initCgroups)
	}
	sub := filepath.Join(v1Dir(c.ID, "memory"), "sub")
	noErr(t, os.Mkdir(sub, 0o755))
	t.Cleanup(func() { _ = os.Remove(sub) })
	out = r.Must("exec", "--cgroup", "memory:sub", c.ID, "cat", "/proc/self/cgroup")
	memPath := strings.TrimPrefix(sub, "/sys/fs/cgroup/memory")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if parts[1] == "memory" && parts[2] != memPath || parts[1] != "memory" && !strings.Contains(initCgroups, line+"\n") {
			t.Errorf("exec --cgroup memory:sub: %q", line)
		}
	}
}

// TestCgroupV1PathResolution: an absolute cgroupsPath is the same in every
// hierarchy; a relative one is below the runtime's own cgroup in each
// hierarchy (as runc resolves it); two state roots give the same ID
// different default cgroups.
func TestCgroupV1PathResolution(t *testing.T) {
	requireV1(t)
	r := newRuntime(t)
	abs := "/oci-rt-it-abs/" + newID(t)
	t.Cleanup(func() {
		for _, d := range allDirsFor(filepath.Dir(abs)) {
			_ = os.Remove(d)
		}
	})
	c := runningContainer(t, r, func(s *specs.Spec) { s.Linux.CgroupsPath = abs })
	if got := readFile(t, "/proc/"+strconv.Itoa(c.Pid)+"/cgroup"); strings.Count(got, ":"+abs+"\n") < 3 {
		t.Errorf("absolute %s:\n%s", abs, got)
	}
	r.Must("delete", "--force", c.ID)
	if left := allDirsFor(abs); len(left) > 0 {
		t.Errorf("left after delete: %v", left)
	}

	rel := "oci-rt-it-rel-" + newID(t)
	own := readFile(t, "/proc/self/cgroup")
	c = runningContainer(t, r, func(s *specs.Spec) { s.Linux.CgroupsPath = rel })
	got := readFile(t, "/proc/"+strconv.Itoa(c.Pid)+"/cgroup")
	var st unix.Statfs_t
	hybrid := unix.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
	for _, line := range strings.Split(strings.TrimSpace(own), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if parts[0] == "0" && !hybrid {
			continue // a legacy host mounts no unified hierarchy to place it in
		}
		want := parts[0] + ":" + parts[1] + ":" + filepath.Join(parts[2], rel) + "\n"
		if !strings.Contains(got, want) {
			t.Errorf("relative %s: want %q in\n%s", rel, want, got)
		}
	}
	r.Must("delete", "--force", c.ID)

	other := newRuntime(t)
	id := newID(t)
	a := r.CreateID(id, newBundle(t, withArgs("sleep", "100")))
	b := other.CreateID(id, newBundle(t, withArgs("sleep", "100")))
	ca, cb := readFile(t, "/proc/"+strconv.Itoa(a.Pid)+"/cgroup"), readFile(t, "/proc/"+strconv.Itoa(b.Pid)+"/cgroup")
	if ca == cb {
		t.Errorf("two roots, same ID, same cgroups:\n%s", ca)
	}
}

// allDirsFor lists the existing directories of cgroup path p in every
// hierarchy.
func allDirsFor(p string) []string {
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*") + p)
	return dirs
}
