package libcontainer

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/libcontainer/internal/criurpc"
)

func criuTestSpec() *specs.Spec {
	return &specs.Spec{
		Process: &specs.Process{},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/data", Type: "bind", Source: "/srv/data", Options: []string{"rbind", "ro"}},
			{Destination: "/cfg", Type: "none", Source: "cfg", Options: []string{"bind"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"},
		},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
			{Type: specs.PIDNamespace}, {Type: specs.MountNamespace},
			{Type: specs.NetworkNamespace, Path: "/var/run/netns/n1"}, {Type: specs.CgroupNamespace},
		}},
	}
}

// TestCheckpointFlagsBecomeCriuOptions: each checkpoint flag sets its CRIU
// option, and the container gives pid, root, freezer and external mounts.
func TestCheckpointFlagsBecomeCriuOptions(t *testing.T) {
	o := &CheckpointOptions{
		CriuFlags: CriuFlags{
			TCPEstablished: true, ExtUnixSk: true, ShellJob: true, FileLocks: true, AutoDedup: true,
			LazyPages: true, ManageCgroupsMode: "full", EmptyNs: []string{"network", "ipc"},
		},
		ImagePath: "/ck/final", ParentPath: "/ck/pre", LeaveRunning: true, PageServer: "10.0.0.1:1234",
	}
	got, err := dumpOptions(o, criuTestSpec(), "/b/rootfs", 42, 4026532000, "/sys/fs/cgroup/c1", nil)
	if err != nil {
		t.Fatal(err)
	}
	full := criurpc.CgFull
	want := &criurpc.Opts{
		Pid: 42, Root: "/b/rootfs", LogLevel: 4, LogFile: "dump.log", LeaveRunning: true,
		TCPEstablished: true, ExtUnixSk: true, ShellJob: true, FileLocks: true, AutoDedup: true, LazyPages: true,
		ManageCgroups: true, ManageCgroupsMode: &full, EmptyNs: unix.CLONE_NEWNET | unix.CLONE_NEWIPC,
		FreezeCgroup: "/sys/fs/cgroup/c1", TrackMem: true, ParentImg: "../pre",
		PageServer: &criurpc.PageServer{Address: "10.0.0.1", Port: 1234},
		ExtMnt:     []criurpc.ExtMount{{Key: "/data", Val: "/data"}, {Key: "/cfg", Val: "/cfg"}, {Key: "/sys/fs/cgroup", Val: "/sys/fs/cgroup"}},
		External:   []string{"net[4026532000]:extRootNetNS"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("dump options\n got %+v\nwant %+v", got, want)
	}
	// A terminal's master is with the console socket's owner, not in the
	// container: CRIU must accept the slave alone.
	spec := criuTestSpec()
	spec.Process.Terminal = true
	if tty, err := dumpOptions(&CheckpointOptions{}, spec, "/r", 1, 0, "", nil); err != nil || !tty.OrphanPtsMaster {
		t.Errorf("terminal container: orphan pts master %t (%v), want true", tty != nil && tty.OrphanPtsMaster, err)
	}
}

// TestPreDumpTracksMemoryAndKeepsRunning: a pre-dump leaves the container
// running whatever --leave-running says and starts memory tracking.
func TestPreDumpTracksMemoryAndKeepsRunning(t *testing.T) {
	got, err := dumpOptions(&CheckpointOptions{ImagePath: "/ck/pre", PreDump: true}, criuTestSpec(), "/r", 7, 0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LeaveRunning || !got.TrackMem || got.LogFile != "pre-dump.log" || got.ParentImg != "" || got.External != nil || got.FreezeCgroup != "" {
		t.Errorf("pre-dump options %+v", got)
	}
	if got.ManageCgroupsMode != nil || got.EmptyNs != 0 || got.PageServer != nil {
		t.Errorf("unset flags reached CRIU: %+v", got)
	}
}

// TestBadCriuFlagsNameTheValue: a bad mode, namespace or page server is
// refused with an error naming the flag and value.
func TestBadCriuFlagsNameTheValue(t *testing.T) {
	for _, tc := range []struct {
		o    CheckpointOptions
		want string
	}{
		{CheckpointOptions{CriuFlags: CriuFlags{ManageCgroupsMode: "hard"}}, `--manage-cgroups-mode "hard"`},
		{CheckpointOptions{CriuFlags: CriuFlags{EmptyNs: []string{"net"}}}, `--empty-ns "net"`},
		{CheckpointOptions{PageServer: "host-without-port"}, `--page-server "host-without-port"`},
		{CheckpointOptions{PageServer: "h:70000"}, `port "70000"`},
	} {
		_, err := dumpOptions(&tc.o, criuTestSpec(), "/r", 1, 0, "", nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one naming %s", tc.o, err, tc.want)
		}
	}
}

// TestRestoreExternalMountsComeFromNewBundle: binds map to the new
// bundle's sources (relative ones under the bundle), the cgroup mount to
// the container's cgroup directory.
func TestRestoreExternalMountsComeFromNewBundle(t *testing.T) {
	got := externalMounts(criuTestSpec(), "/new/bundle", "/sys/fs/cgroup/c2", nil)
	want := []criurpc.ExtMount{{Key: "/data", Val: "/srv/data"}, {Key: "/cfg", Val: "/new/bundle/cfg"}, {Key: "/sys/fs/cgroup", Val: "/sys/fs/cgroup/c2"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("restore external mounts %v, want %v", got, want)
	}
}

// TestCgroupV1MountsExternalPerHierarchy: on cgroup v1 the cgroup mount's
// tmpfs is the container's own; below it each hierarchy's bind of the
// container's cgroup is external, keyed by where it is mounted, unless a
// cgroup namespace makes them cgroup mounts CRIU makes again.
func TestCgroupV1MountsExternalPerHierarchy(t *testing.T) {
	v1 := []cgroups.MountedHierarchy{
		{Name: "memory", Controllers: []string{"memory"}, Dir: "/sys/fs/cgroup/memory/oci-rt/c1"},
		{Name: "cpu,cpuacct", Controllers: []string{"cpu", "cpuacct"}, Dir: "/sys/fs/cgroup/cpu,cpuacct/oci-rt/c1"},
	}
	spec := criuTestSpec()
	spec.Linux.Namespaces = spec.Linux.Namespaces[:3] // no cgroup namespace
	got := externalMounts(spec, "/b", "", v1)
	want := []criurpc.ExtMount{{Key: "/data", Val: "/srv/data"}, {Key: "/cfg", Val: "/b/cfg"},
		{Key: "/sys/fs/cgroup/memory", Val: "/sys/fs/cgroup/memory/oci-rt/c1"},
		{Key: "/sys/fs/cgroup/cpu,cpuacct", Val: "/sys/fs/cgroup/cpu,cpuacct/oci-rt/c1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("restore external mounts %v, want %v", got, want)
	}
	if dump := dumpExternalMounts(spec, v1); len(dump) != 4 || dump[2] != (criurpc.ExtMount{Key: "/sys/fs/cgroup/memory", Val: "/sys/fs/cgroup/memory"}) {
		t.Errorf("dump external mounts %v, want each keyed by its destination", dump)
	}
	withNS := externalMounts(criuTestSpec(), "/b", "", v1)
	if len(withNS) != 2 {
		t.Errorf("in a cgroup namespace external mounts %v, want only the binds", withNS)
	}
}

// TestStdioPipesAreInherited: pipes, external files and terminals are
// handed in under the name the dump recorded, each once, as the fd CRIU
// gets for ours; only the files and terminals are declared external at
// the dump, each once.
func TestStdioPipesAreInherited(t *testing.T) {
	pass := func(fd int) int32 { return int32(10 + fd) }
	keys := [3]string{"", "pipe:[77]", "file[1f:4]"}
	got := stdioInheritance(&CheckpointRecord{Stdio: keys}, pass)
	want := []criurpc.InheritFd{{Key: "pipe:[77]", Fd: 11}, {Key: "file[1f:4]", Fd: 12}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("inherited %v, want %v", got, want)
	}
	if ext := externalStdio(keys); !reflect.DeepEqual(ext, []string{"file[1f:4]"}) {
		t.Errorf("external files %v, want only the file", ext)
	}
	tty := [3]string{"tty[8803:19]", "tty[8803:19]", "tty[8803:19]"}
	if ext := externalStdio(tty); !reflect.DeepEqual(ext, []string{"tty[8803:19]"}) {
		t.Errorf("external terminal %v, want it once", ext)
	}
	if got := stdioInheritance(&CheckpointRecord{Stdio: tty}, pass); !reflect.DeepEqual(got, []criurpc.InheritFd{{Key: "tty[8803:19]", Fd: 10}}) {
		t.Errorf("terminal inherited as %v, want once, from our fd 0", got)
	}
}

// TestStatOpenFileTellsTerminals: a pty slave is a terminal, named by the
// device and filesystem numbers fstat gives (CRIU's tty[rdev:dev]);
// /dev/null is not one.
func TestStatOpenFileTellsTerminals(t *testing.T) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty here: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	f, err := statOpenFile(fmt.Sprintf("/proc/self/fd/%d", slave.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(slave.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if !f.terminal() || f.rdev != st.Rdev || f.dev != st.Dev {
		t.Errorf("pty slave: terminal %t rdev %x dev %x, fstat says rdev %x dev %x", f.terminal(), f.rdev, f.dev, st.Rdev, st.Dev)
	}
	null, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if f, err := statOpenFile(fmt.Sprintf("/proc/self/fd/%d", null.Fd())); err != nil || f.terminal() {
		t.Errorf("/dev/null counted as a terminal (%v)", err)
	}
}

// TestCgroupRootsPerHierarchy: v2 has one root for all controllers, v1 one
// per recorded hierarchy.
func TestCgroupRootsPerHierarchy(t *testing.T) {
	if got := criuCgroupRoots(&State{CgroupPath: "/c1"}); !reflect.DeepEqual(got, []criurpc.CgroupRoot{{Path: "/c1"}}) {
		t.Errorf("v2 roots %v", got)
	}
	got := criuCgroupRoots(&State{CgroupPath: "/c1", CgroupPaths: map[string]string{"memory": "/m/c1"}})
	if !reflect.DeepEqual(got, []criurpc.CgroupRoot{{Ctrl: "memory", Path: "/m/c1"}}) {
		t.Errorf("v1 roots %v", got)
	}
}

// TestCheckpointRecordMatchesBundle: the same config matches; another
// namespace set, a missing or extra mount, or a changed terminal does not,
// and the error says which.
func TestCheckpointRecordMatchesBundle(t *testing.T) {
	record := newCheckpointRecord(criuTestSpec())
	if err := record.matches(criuTestSpec()); err != nil {
		t.Fatalf("same config: %v", err)
	}
	for _, tc := range []struct {
		edit func(*specs.Spec)
		want string
	}{
		{func(s *specs.Spec) { s.Linux.Namespaces = s.Linux.Namespaces[:2] }, "namespaces cgroup,mount,network,pid in the images, mount,pid in the bundle"},
		{func(s *specs.Spec) { s.Linux.Namespaces[2].Path = "" }, "joined namespaces network in the images, none in the bundle"},
		{func(s *specs.Spec) { s.Mounts = s.Mounts[:4] }, "mount /tmp of the images is not in the bundle"},
		{func(s *specs.Spec) { s.Mounts = append(s.Mounts, specs.Mount{Destination: "/extra"}) }, "mount /extra of the bundle is not in the images"},
		{func(s *specs.Spec) { s.Process.Terminal = true }, "process.terminal is false in the images, true in the bundle"},
	} {
		spec := criuTestSpec()
		tc.edit(spec)
		if err := record.matches(spec); err == nil || err.Error() != tc.want {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

// TestCriuVersionParsing: CRIU's --version output, with and without a
// sublevel or a git id line, gives the comparable number.
func TestCriuVersionParsing(t *testing.T) {
	for out, want := range map[string]int{
		"Version: 3.17.1\n":             31701,
		"Version: 3.15\nGitID: v3.15\n": 31500,
		"Version: 4.0\n":                40000,
	} {
		if got, err := parseCriuVersion(out); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", out, got, err, want)
		}
	}
	if _, err := parseCriuVersion("criu: unknown option"); err == nil {
		t.Error("output without a version parsed")
	}
	if got := FormatCriuVersion(31701); got != "3.17.1" {
		t.Errorf("FormatCriuVersion(31701) = %s", got)
	}
}

// An open file's mount, as its fd link leads to it, is among the mounts
// mountIDs lists for the same process: stdioKeys tells files inside the
// container's mounts from the caller's by exactly that.
func TestMountIDsHoldAnOpenFilesMount(t *testing.T) {
	f, err := os.Open("/")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	open, err := statOpenFile(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	id := open.mountID
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Ino != open.ino {
		t.Errorf("inode %d, fstat says %d (%v)", open.ino, st.Ino, err)
	}
	ids, err := mountIDs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !ids[id] || len(ids) < 2 {
		t.Errorf("mount %d of / not among the %d mounts listed: %v", id, len(ids), ids)
	}
}
