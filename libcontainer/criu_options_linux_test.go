package libcontainer

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

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
	got, err := dumpOptions(o, criuTestSpec(), "/b/rootfs", 42, 4026532000, "/sys/fs/cgroup/c1")
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
}

// TestPreDumpTracksMemoryAndKeepsRunning: a pre-dump leaves the container
// running whatever --leave-running says and starts memory tracking.
func TestPreDumpTracksMemoryAndKeepsRunning(t *testing.T) {
	got, err := dumpOptions(&CheckpointOptions{ImagePath: "/ck/pre", PreDump: true}, criuTestSpec(), "/r", 7, 0, "")
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
		_, err := dumpOptions(&tc.o, criuTestSpec(), "/r", 1, 0, "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one naming %s", tc.o, err, tc.want)
		}
	}
}

// TestRestoreExternalMountsComeFromNewBundle: binds map to the new
// bundle's sources (relative ones under the bundle), the cgroup mount to
// the container's cgroup directory.
func TestRestoreExternalMountsComeFromNewBundle(t *testing.T) {
	got := restoreExternalMounts(criuTestSpec(), "/new/bundle", "/sys/fs/cgroup/c2")
	want := []criurpc.ExtMount{{Key: "/data", Val: "/srv/data"}, {Key: "/cfg", Val: "/new/bundle/cfg"}, {Key: "/sys/fs/cgroup", Val: "/sys/fs/cgroup/c2"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("restore external mounts %v, want %v", got, want)
	}
}

// TestStdioPipesAreInherited: pipes and external files are handed in,
// under the name the dump recorded and as the fd they were; only the
// files are declared external at the dump.
func TestStdioPipesAreInherited(t *testing.T) {
	keys := [3]string{"", "pipe:[77]", "file[1f:4]"}
	got := stdioInheritance(&CheckpointRecord{Stdio: keys})
	want := []criurpc.InheritFd{{Key: "pipe:[77]", Fd: 1}, {Key: "file[1f:4]", Fd: 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("inherited %v, want %v", got, want)
	}
	if ext := externalStdio(keys); !reflect.DeepEqual(ext, []string{"file[1f:4]"}) {
		t.Errorf("external files %v, want only the file", ext)
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
	id, ino, err := openFileMount(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Ino != ino {
		t.Errorf("inode %d, fstat says %d (%v)", ino, st.Ino, err)
	}
	ids, err := mountIDs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !ids[id] || len(ids) < 2 {
		t.Errorf("mount %d of / not among the %d mounts listed: %v", id, len(ids), ids)
	}
}
