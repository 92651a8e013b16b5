//go:build vmtest

// Tests that need a pure cgroup v2 system with every controller, run as
// root inside the project's throw-away VM (tests/vm). They check effects on
// processes, not only file contents. The package's other tests run there too.
package fs2

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

func init() {
	helpers["hog"] = helperHog
	helpers["forkloop"] = helperForkLoop
	helpers["hugemmap"] = helperHugeMmap
	helpers["hold"] = helperHold
	helpers["readdev"] = helperReadDev
}

// helperReadDev reads $BYTES from block device $DEV with O_DIRECT (so the
// page cache cannot hide the throttle) and prints the milliseconds it took.
func helperReadDev() {
	n, _ := strconv.Atoi(os.Getenv("BYTES"))
	fd, err := unix.Open(os.Getenv("DEV"), unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	// mmap gives the page alignment O_DIRECT needs.
	buf, err := unix.Mmap(-1, 0, 64<<10, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	start := time.Now()
	for done := 0; done < n; {
		r, err := unix.Pread(fd, buf, int64(done))
		if err != nil || r == 0 {
			fmt.Println("read:", r, err)
			os.Exit(1)
		}
		done += r
	}
	fmt.Println(time.Since(start).Milliseconds())
}

// helperHog allocates and touches memory until it is killed.
func helperHog() {
	var chunks [][]byte
	for {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += os.Getpagesize() {
			b[i] = 1
		}
		chunks = append(chunks, b)
		runtime.KeepAlive(chunks)
	}
}

// helperHold touches $HOLD_MIB MiB, says "ready", and waits for stdin EOF.
func helperHold() {
	n, _ := strconv.Atoi(os.Getenv("HOLD_MIB"))
	b := make([]byte, n<<20)
	for i := 0; i < len(b); i += os.Getpagesize() {
		b[i] = 1
	}
	_, _ = os.Stdout.Write([]byte("ready\n"))
	// EOF or an error alike mean the test is done with us.
	_, _ = io.Copy(io.Discard, os.Stdin)
	runtime.KeepAlive(b)
}

type forkResult struct {
	Started int    `json:"started"`
	Err     string `json:"err"`
}

// helperForkLoop, for each "fork" line on stdin, starts sleeping children
// until starting one fails, and reports how many it started and why it stopped.
func helperForkLoop() {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var res forkResult
		for res.Started < 10000 {
			_, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "60"}, &syscall.ProcAttr{})
			if err != nil {
				res.Err = unix.ErrnoName(err.(syscall.Errno))
				break
			}
			res.Started++
		}
		if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
			os.Exit(1)
		}
	}
}

// helperHugeMmap maps $HUGE_BYTES of 2 MiB huge pages and touches every
// page; it prints "ok" or the errno of mmap (a fault beyond the limit kills
// it with SIGBUS instead).
func helperHugeMmap() {
	n, _ := strconv.Atoi(os.Getenv("HUGE_BYTES"))
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_HUGETLB)
	if err != nil {
		fmt.Println(unix.ErrnoName(err.(syscall.Errno)))
		return
	}
	for i := 0; i < len(b); i += 2 << 20 {
		b[i] = 1
	}
	fmt.Println("ok")
}

// vmCgroup is testCgroup on a pure v2 host with every controller the VM has.
func vmCgroup(t *testing.T, sub string, ctrls ...string) *Manager {
	t.Helper()
	if mp, err := cgroups.Mountpoint(); err != nil || mp != "/sys/fs/cgroup" {
		t.Skipf("not a pure cgroup v2 system (%q, %v)", mp, err)
	}
	m := testCgroup(t, sub)
	env, err := m.env()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ctrls {
		if !env.controllers[c] {
			t.Fatalf("controller %s not delegated to %s: Create must enable it", c, m.Path())
		}
	}
	return m
}

func TestVMMemoryOOMKill(t *testing.T) {
	m := vmCgroup(t, "oom", "memory")
	const limit = 64 << 20
	// Swap equal to the limit: no swap, so the hog cannot escape the limit.
	err := m.Apply(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(limit), Swap: i64(limit)}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := m.read("memory.max"); got != strconv.Itoa(limit) {
		t.Fatalf("memory.max = %q", got)
	}
	if m.exists("memory.swap.max") {
		if got, _ := m.read("memory.swap.max"); got != "0" {
			t.Fatalf("memory.swap.max = %q", got)
		}
	}
	before, err := m.OOMKillCount()
	if err != nil {
		t.Fatal(err)
	}
	cmd, _ := helperCmd(t, m, "hog")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitExitBySignal(t, cmd, syscall.SIGKILL)
	after, err := m.OOMKillCount()
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("oom_kill %d -> %d: the kill was not counted", before, after)
	}
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Memory.Usage.Limit != limit || s.Memory.Usage.Failcnt == 0 {
		t.Errorf("memory stats %+v: want limit %d and a failcnt", s.Memory.Usage, limit)
	}
	if s.Memory.Usage.Max != 0 && s.Memory.Usage.Max < limit*9/10 {
		t.Errorf("peak usage %d: the hog never got near the limit %d", s.Memory.Usage.Max, limit)
	}
}

func TestVMMemoryCheckBeforeUpdate(t *testing.T) {
	m := vmCgroup(t, "mem-update", "memory")
	if err := m.Apply(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(256 << 20)}}); err != nil {
		t.Fatal(err)
	}
	cmd, _ := helperCmd(t, m, "hold", "HOLD_MIB=48")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The helper exits once its stdin closes; how does not matter here.
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("helper: %q %v", line, err)
	}
	err := m.Update(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(16 << 20), CheckBeforeUpdate: boolp(true)}})
	if err == nil || !strings.Contains(err.Error(), "usage is already") {
		t.Fatalf("update below usage with checkBeforeUpdate: %v", err)
	}
	if got, _ := m.read("memory.max"); got != strconv.Itoa(256<<20) {
		t.Errorf("refused update changed memory.max to %s", got)
	}
	if err := m.Update(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(128 << 20), CheckBeforeUpdate: boolp(true)}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.read("memory.max"); got != strconv.Itoa(128<<20) {
		t.Errorf("memory.max = %s after update", got)
	}
}

func TestVMPidsLimit(t *testing.T) {
	m := vmCgroup(t, "pids", "pids")
	const limit = 24
	if err := m.Apply(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(limit)}}); err != nil {
		t.Fatal(err)
	}
	cmd, _ := helperCmd(t, m, "forkloop")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(stdout)
	fork := func() forkResult {
		t.Helper()
		if _, err := io.WriteString(stdin, "fork\n"); err != nil {
			t.Fatal(err)
		}
		var r forkResult
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := fork()
	if r.Err != "EAGAIN" || r.Started == 0 || r.Started >= limit {
		t.Fatalf("fork loop under pids.max=%d: %+v", limit, r)
	}
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Pids.Current != limit || s.Pids.Limit != limit {
		t.Errorf("after the fork loop: pids %+v, want current = limit = %d", s.Pids, limit)
	}
	if ev, _ := m.read("pids.events"); cgroups.KeyValues(ev)["max"] == "0" {
		t.Errorf("pids.events: %q", ev)
	}
	// As runc reads it, 0 is unset (Podman sends it for "no limit"): the
	// limit in place stays.
	if err := m.Update(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(0)}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.read("pids.max"); got != strconv.Itoa(limit) {
		t.Errorf("pids.max = %q after an update with limit 0, want %d unchanged", got, limit)
	}
	if err := m.Update(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.read("pids.max"); got != "max" {
		t.Errorf("pids.max = %q for a negative limit", got)
	}
	stdin.Close()
	_ = cmd.Wait() // its sleeping children die with the test cgroup
}

func TestVMCPUMaxThrottles(t *testing.T) {
	m := vmCgroup(t, "cpu", "cpu")
	err := m.Apply(&specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(10000), Period: u64(100000), Shares: u64(1024), Burst: u64(5000)}})
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"cpu.max": "10000 100000", "cpu.weight": "100", "cpu.max.burst": "5000"} {
		if got, _ := m.read(file); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	cmd := startSpinner(t, m)
	start := time.Now()
	time.Sleep(time.Second)
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	_ = cmd.Process.Kill() // startSpinner's cleanup kills it too
	if s.CPU.Throttling.ThrottledPeriods == 0 || s.CPU.Throttling.ThrottledTime == 0 {
		t.Errorf("no throttling recorded: %+v", s.CPU.Throttling)
	}
	// 10% of one CPU, plus the burst and slack for process start-up.
	if limit := uint64(elapsed) * 3 / 10; s.CPU.Usage.Total > limit {
		t.Errorf("spinner used %v of CPU in %v under a 10%% quota", time.Duration(s.CPU.Usage.Total), elapsed)
	}
	// Lowering the quota below the burst needs the burst written first;
	// raising both needs the quota first. Both orders must work.
	if err := m.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(2000), Burst: u64(1000)}}); err != nil {
		t.Fatal(err)
	}
	if err := m.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(200000), Burst: u64(150000)}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.read("cpu.max"); got != "200000 100000" {
		t.Errorf("cpu.max = %q", got)
	}
}

func TestVMCpusetPins(t *testing.T) {
	m := vmCgroup(t, "cpuset", "cpuset")
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs to show pinning")
	}
	if err := m.Apply(&specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "1", Mems: "0"}}); err != nil {
		t.Fatal(err)
	}
	cmd := startSpinner(t, m)
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(cmd.Process.Pid, &set); err != nil {
		t.Fatal(err)
	}
	if set.Count() != 1 || !set.IsSet(1) {
		t.Errorf("affinity of a process in cpuset 1: %d CPUs, cpu1=%t", set.Count(), set.IsSet(1))
	}
	time.Sleep(100 * time.Millisecond)
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if f[36] != "1" { // field 39: CPU last run on
		t.Errorf("spinner last ran on CPU %s", f[36])
	}
	if got, _ := m.read("cpuset.cpus.effective"); got != "1" {
		t.Errorf("cpuset.cpus.effective = %q", got)
	}
}

// wholeDisk returns the node and MAJ:MIN of a whole block device with
// sectors to read. The VM's root is 9p, so without one it loads null_blk,
// a disk without storage.
func wholeDisk(t *testing.T) (string, uint64, uint64) {
	t.Helper()
	find := func() (string, uint64, uint64, bool) {
		devs, _ := filepath.Glob("/sys/class/block/*/dev")
		for _, d := range devs {
			if _, err := os.Stat(filepath.Join(filepath.Dir(d), "partition")); err == nil {
				continue
			}
			// An unbound loop device is a whole disk of no sectors: reading
			// it ends at once, so it cannot show a throttle.
			if size, err := os.ReadFile(filepath.Join(filepath.Dir(d), "size")); err != nil || strings.TrimSpace(string(size)) == "0" {
				continue
			}
			b, err := os.ReadFile(d)
			if err != nil {
				continue
			}
			var major, minor uint64
			if _, err := fmt.Sscanf(string(b), "%d:%d", &major, &minor); err == nil {
				return "/dev/" + filepath.Base(filepath.Dir(d)), major, minor, true
			}
		}
		return "", 0, 0, false
	}
	if dev, major, minor, ok := find(); ok {
		return dev, major, minor
	}
	if out, err := exec.Command("modprobe", "null_blk").CombinedOutput(); err != nil {
		t.Skipf("no block device in the VM, and modprobe null_blk: %v %s", err, out)
	}
	for i := 0; i < 50; i++ {
		if dev, major, minor, ok := find(); ok {
			if _, err := os.Stat(dev); err == nil {
				return dev, major, minor
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("null_blk loaded but no block device appeared")
	return "", 0, 0
}

func TestVMIOMax(t *testing.T) {
	m := vmCgroup(t, "io", "io")
	node, major, minor := wholeDisk(t)
	dev := specs.LinuxBlockIODevice{Major: int64(major), Minor: int64(minor)}
	const rate = 1 << 20
	err := m.Apply(&specs.LinuxResources{
		// Apply always installs a device filter; this one lets the disk be read.
		Devices: append(devices.DefaultAllowedDevices(), cgtest.Rule(true, "b", int64(major), int64(minor), "r")),
		BlockIO: &specs.LinuxBlockIO{
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: rate}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 50}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d:%d rbps=1048576 wbps=max riops=max wiops=50", major, minor)
	if got, _ := m.read("io.max"); !strings.Contains(got, want) {
		t.Errorf("io.max = %q, want a line %q", got, want)
	}
	read := func() time.Duration {
		t.Helper()
		cmd, _ := helperCmd(t, m, "readdev", "DEV="+node, "BYTES="+strconv.Itoa(3*rate))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("readdev: %v %s", err, out)
		}
		ms, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("readdev output %q", out)
		}
		return time.Duration(ms) * time.Millisecond
	}
	// 3 MiB at 1 MiB/s: at least ~2 s even with the throttle's initial slice.
	if d := read(); d < 1500*time.Millisecond {
		t.Errorf("reading 3 MiB under rbps=1MiB/s took only %v", d)
	}
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	var readBytes uint64
	for _, e := range s.Blkio.IoServiceBytesRecursive {
		if e.Major == major && e.Minor == minor && e.Op == "Read" {
			readBytes = e.Value
		}
	}
	if readBytes < 3*rate {
		t.Errorf("blkio stats report %d bytes read, want >= %d", readBytes, 3*rate)
	}
	// Control: without the limit the same read is fast.
	err = m.Update(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
		ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev, Rate: 0}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if d := read(); d > time.Second {
		t.Errorf("unthrottled read of 3 MiB took %v", d)
	}
}

func TestVMHugetlbLimit(t *testing.T) {
	m := vmCgroup(t, "hugetlb", "hugetlb")
	const nr = "/proc/sys/vm/nr_hugepages"
	old, err := os.ReadFile(nr)
	if err != nil {
		t.Skip(err)
	}
	if err := os.WriteFile(nr, []byte("4"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(nr, old, 0); err != nil {
			t.Errorf("restoring %s: %v", nr, err)
		}
	})
	if b, _ := os.ReadFile(nr); strings.TrimSpace(string(b)) != "4" {
		t.Skipf("could only reserve %s huge pages", b)
	}
	mmap := func(bytes int) string {
		t.Helper()
		cmd, _ := helperCmd(t, m, "hugemmap", "HUGE_BYTES="+strconv.Itoa(bytes))
		out, err := cmd.Output()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGBUS {
			return "SIGBUS"
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	setLimit := func(bytes uint64) {
		t.Helper()
		err := m.Update(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: bytes}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"hugetlb.2MB.max", "hugetlb.2MB.rsvd.max"} {
			if got, _ := m.read(f); m.exists(f) && got != strconv.FormatUint(bytes, 10) {
				t.Errorf("%s = %q, want %d", f, got, bytes)
			}
		}
	}
	setLimit(2 << 20)
	if got := mmap(2 << 20); got != "ok" {
		t.Errorf("one huge page within a one-page limit: %s", got)
	}
	if got := mmap(4 << 20); got != "ENOMEM" && got != "SIGBUS" {
		t.Errorf("two huge pages under a one-page limit: %s", got)
	}
	// Control: with room in the limit, the same mapping works, so the
	// failure above was the limit and not a shortage of huge pages.
	setLimit(8 << 20)
	if got := mmap(4 << 20); got != "ok" {
		t.Errorf("two huge pages within an 8 MiB limit: %s", got)
	}
}

// Nested cgroupsPath: every ancestor delegates every controller, limits
// work at the leaf, and destroying the leaf leaves the parents intact.
func TestVMNestedPath(t *testing.T) {
	m := vmCgroup(t, "pod/ctr/leaf", "memory", "pids", "cpu", "cpuset", "io", "hugetlb")
	root, _ := cgroups.Mountpoint()
	rootCtrls, _ := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	leafCtrls, err := m.Controllers()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(leafCtrls, " ") != strings.TrimSpace(string(rootCtrls)) {
		t.Errorf("leaf controllers %v, root has %q", leafCtrls, rootCtrls)
	}
	if err := m.Apply(&specs.LinuxResources{
		Devices: devices.DefaultAllowedDevices(),
		Memory:  &specs.LinuxMemory{Limit: i64(100 << 20)},
		Pids:    &specs.LinuxPids{Limit: i64(50)},
	}); err != nil {
		t.Fatal(err)
	}
	cmd := startSpinner(t, m)
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Pids.Current == 0 || s.Memory.Usage.Usage == 0 {
		t.Errorf("stats of a running leaf: pids %+v memory %+v", s.Pids, s.Memory.Usage)
	}
	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	waitExitBySignal(t, cmd, syscall.SIGKILL)
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left behind", m.Dir())
	}
	if _, err := os.Stat(filepath.Dir(m.Dir())); err != nil {
		t.Errorf("Destroy removed the parent: %v", err)
	}
}
