package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestResourceLeniencyLikeRunc runs resource values that engines send and
// runc tolerates through runc (when installed) and oci-rt, each creating a
// container in a cgroup of its own, and compares the outcome: whether
// create succeeded, and the value of each cgroup file the case names.
// Where runc fails, oci-rt may succeed only in the cases marked so, each
// with its reason.
func TestResourceLeniencyLikeRunc(t *testing.T) {
	runcPath, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc is not installed: nothing to compare with")
	}
	var st unix.Statfs_t
	noErr(t, unix.Statfs("/sys/fs/cgroup", &st))
	v2 := st.Type == unix.CGROUP2_SUPER_MAGIC
	type file struct{ v1, v2 string } // "ctrl/file" on v1, "file" on v2
	for _, tc := range []struct {
		name  string
		r     specs.LinuxResources
		files []file
		// beyondRunc: oci-rt accepts what runc refuses here, and why.
		beyondRunc string
		// applied: v1 files oci-rt sets where runc 1.1.5 ignores the
		// value, with the value oci-rt must have written.
		applied map[string]string
	}{
		{name: "docker blkio weight 0", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16p(0)}},
			files: []file{{"blkio/blkio.throttle.read_bps_device", "io.max"}}},
		{name: "podman pids limit 0", r: specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64p(0)}},
			files: []file{{"pids/pids.max", "pids.max"}}},
		{name: "pids limit -1", r: specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64p(-1)}},
			files: []file{{"pids/pids.max", "pids.max"}}},
		{name: "pids limit", r: specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64p(100)}},
			files: []file{{"pids/pids.max", "pids.max"}}},
		{name: "kernel memory", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Kernel: i64p(64 << 20)}}, //nolint:staticcheck // the deprecated field is the point
			files: []file{{"memory/memory.limit_in_bytes", "memory.max"}}},
		// runc 1.1.5 ignores kernelTCP (with a warning); oci-rt applies it
		// where the kernel still has the file, as cgroup v1 users expect.
		{name: "kernel tcp memory", r: specs.LinuxResources{Memory: &specs.LinuxMemory{KernelTCP: i64p(64 << 20)}},
			files:   []file{{"memory/memory.limit_in_bytes", "memory.max"}},
			applied: map[string]string{"memory/memory.kmem.tcp.limit_in_bytes": "67108864"}},
		{name: "memory -1 and swap unset", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64p(-1)}},
			files: []file{{"memory/memory.limit_in_bytes", "memory.max"}}},
		{name: "memory with swap equal", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64p(64 << 20), Swap: i64p(64 << 20)}},
			files: []file{{"memory/memory.limit_in_bytes", "memory.max"}}},
		{name: "swappiness -1", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: u64p(^uint64(0))}},
			files: []file{{"memory/memory.swappiness", "memory.max"}}},
		{name: "oom killer not disabled", r: specs.LinuxResources{Memory: &specs.LinuxMemory{DisableOOMKiller: boolPtr(false)}},
			files: []file{{"memory/memory.oom_control", "memory.max"}}},
		{name: "ctr cpu shares", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64p(1024)}},
			files: []file{{"cpu/cpu.shares", "cpu.weight"}}},
		{name: "cpu quota -1", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64p(-1), Period: u64p(100000)}},
			files: []file{{"cpu/cpu.cfs_quota_us", "cpu.max"}, {"cpu/cpu.cfs_period_us", "cpu.max"}}},
		{name: "blkio leaf weight", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: u16p(100)}},
			beyondRunc: "no I/O scheduler here has leaf weights (CFQ is gone); runc fails writing blkio.leaf_weight, oci-rt warns and ignores it, as runc does on v2"},
		{name: "network class id", r: specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: u32p(0x100001)}},
			beyondRunc: "on v2 there is no net_cls; runc ignores it there with a warning, and so does oci-rt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runcCode, runcFiles := createWithResources(t, runcPath, tc.r)
			code, files := createWithResources(t, rtBinary, tc.r)
			t.Logf("runc: exit %d; oci-rt: exit %d", runcCode, code)
			switch {
			case runcCode == 0 && code != 0:
				t.Fatalf("runc accepts it, oci-rt refuses it (exit %d)", code)
			case runcCode != 0 && code == 0 && tc.beyondRunc == "":
				t.Fatalf("runc refuses it (exit %d), oci-rt accepts it", runcCode)
			case runcCode != 0:
				return
			}
			for _, f := range tc.files {
				name := f.v1
				if v2 {
					name = f.v2
				}
				if got, want := files(name), runcFiles(name); got != want {
					t.Errorf("%s: oci-rt %q, runc %q", name, got, want)
				}
			}
			for name, want := range tc.applied {
				if got := files(name); !v2 && fileExists(filepath.Join("/sys/fs/cgroup", name)) && got != want {
					t.Errorf("%s: oci-rt %q, want %q", name, got, want)
				}
			}
		})
	}
}

// createWithResources creates a container with r under an absolute cgroup
// of its own using runtime, and returns create's exit status and a reader
// of the container's cgroup files ("ctrl/file" on v1, "file" on v2). The
// container is deleted when the test ends.
func createWithResources(t *testing.T, runtime string, r specs.LinuxResources) (int, func(string) string) {
	t.Helper()
	id := newID(t)
	root := t.TempDir()
	cgPath := "/oci-rt-it-lenient/" + id
	bundle := newBundle(t, withArgs("sleep", "100"), func(s *specs.Spec) {
		s.Linux.CgroupsPath = cgPath
		withResources(r)(s)
	})
	// A file, not a pipe: the container's init keeps its copy open.
	out := tempFile(t)
	cmd := exec.Command(runtime, "--root", root, "create", "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = out, out
	code := exitCode(t, cmd, cmd.Run())
	if code != 0 {
		t.Logf("%s create: %s", filepath.Base(runtime), strings.TrimSpace(readFile(t, out.Name())))
	}
	t.Cleanup(func() {
		if out, err := exec.Command(runtime, "--root", root, "delete", "--force", id).CombinedOutput(); err != nil && code == 0 { // delete leaves nothing running
			t.Errorf("%s delete: %v %s", runtime, err, out)
		}
		for _, d := range append(allDirsFor(cgPath), allDirsFor(filepath.Dir(cgPath))...) {
			_ = os.Remove(d) // the parent only once empty
		}
	})
	return code, func(name string) string {
		ctrl, file, ok := strings.Cut(name, "/")
		dir := filepath.Join("/sys/fs/cgroup", ctrl, cgPath)
		if !ok {
			dir, file = filepath.Join("/sys/fs/cgroup", cgPath), name
		}
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return fmt.Sprintf("(%v)", err)
		}
		return strings.TrimSpace(string(data))
	}
}

func u32p(v uint32) *uint32 { return &v }
