package rootfs

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
)

// The root tests re-exec this binary into fresh namespaces; the child runs
// Setup/MountConsole/Finish for real, then looks around from inside the new
// root and reports what it saw as JSON on stdout.
const scenarioEnv = "OCI_RT_ROOTFS_SCENARIO"

type scenario struct {
	Spec           *specs.Spec
	Rootfs         string
	Bundle         string
	NoPivot        bool
	IdmapUserns    bool   // idmap with the user namespace passed as fd 3, as the parent would
	Console        bool   // open a pty inside and call MountConsole
	HostileConsole string // symlink /dev/console to this before MountConsole
	CgroupV1       []cgroups.MountedHierarchy
	Stat           []string
	OpenWrite      []string
	Read           []string
}

type fileReport struct {
	Mode uint32
	Rdev uint64
	UID  uint32
	GID  uint32
	Link string
	Err  string
}

type report struct {
	SetupErr, ConsoleErr, FinishErr string
	Mountinfo                       string
	Stat                            map[string]fileReport
	OpenWrite                       map[string]string // "" when the open for writing succeeded
	Read                            map[string]string
	FDs                             map[string]string
}

func TestMain(m *testing.M) {
	if os.Getenv(scenarioEnv) != "" {
		runScenarioChild()
		return
	}
	os.Exit(m.Run())
}

func runScenarioChild() {
	var sc scenario
	if err := json.Unmarshal([]byte(os.Getenv(scenarioEnv)), &sc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Nothing this child mounts may propagate back to the host.
	if err := unix.MountSetattr(unix.AT_FDCWD, "/", unix.AT_RECURSIVE, &unix.MountAttr{Propagation: unix.MS_SLAVE}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// The parent's side of create: the rootfs opened once.
	rootHandle, err := OpenRoot(sc.Rootfs)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg := &Config{Spec: sc.Spec, Rootfs: sc.Rootfs, RootHandle: rootHandle, Bundle: sc.Bundle, NoPivot: sc.NoPivot, CgroupV1: sc.CgroupV1}
	fdsBefore := openFDs()
	if sc.IdmapUserns {
		cfg.Idmap = func(_ int, mnt *os.File) error {
			return setMountAttr(mnt, unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: 3}, false)
		}
	}
	rep := report{Stat: map[string]fileReport{}, OpenWrite: map[string]string{}, Read: map[string]string{}, FDs: map[string]string{}}
	if err := Setup(cfg, nil); err != nil {
		rep.SetupErr = err.Error()
	} else {
		if sc.Console {
			rep.ConsoleErr = errString(mountConsoleFromInside(sc.HostileConsole))
		}
		rep.FinishErr = errString(Finish(cfg))
	}
	// The fd listing comes first, before the probe opens anything itself.
	for fd, target := range openFDs() {
		identity, _, _ := strings.Cut(target, " ")
		if before, ok := fdsBefore[fd]; !ok || !strings.HasPrefix(before, identity+" ") {
			rep.FDs[fd] = target
		}
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		rep.Mountinfo = string(b)
	}
	for _, p := range sc.Stat {
		var st unix.Stat_t
		fr := fileReport{}
		if err := unix.Lstat(p, &st); err != nil {
			fr.Err = err.Error()
		} else {
			fr = fileReport{Mode: st.Mode, Rdev: st.Rdev, UID: st.Uid, GID: st.Gid}
			fr.Link, _ = os.Readlink(p)
		}
		rep.Stat[p] = fr
	}
	for _, p := range sc.OpenWrite {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err == nil {
			f.Close()
		}
		rep.OpenWrite[p] = errString(err)
	}
	for _, p := range sc.Read {
		b, err := os.ReadFile(p)
		if err != nil {
			rep.Read[p] = "error: " + err.Error()
		} else {
			rep.Read[p] = string(b)
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		os.Exit(2)
	}
	os.Exit(0)
}

// openFDs lists fds by number as "device:inode target": the inode tells
// whether an fd is the same file before and after the root switch, where
// its path reads differently. The fd used to read the listing is left out.
func openFDs() map[string]string {
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	defer dir.Close()
	names, _ := dir.Readdirnames(-1)
	fds := map[string]string{}
	for _, name := range names {
		if name == fmt.Sprint(dir.Fd()) {
			continue
		}
		target, _ := os.Readlink("/proc/self/fd/" + name)
		var st unix.Stat_t
		_ = unix.Stat("/proc/self/fd/"+name, &st)
		fds[name] = fmt.Sprintf("%d:%d %s", st.Dev, st.Ino, target)
	}
	return fds
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func mountConsoleFromInside(hostileLink string) error {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return err
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return err
	}
	slaveFD, err := unix.IoctlRetInt(int(ptmx.Fd()), unix.TIOCGPTPEER)
	if err != nil {
		// TIOCGPTPEER takes open flags as its argument.
		return err
	}
	slave := os.NewFile(uintptr(slaveFD), "pty")
	defer slave.Close()
	if hostileLink != "" {
		if err := os.Symlink(hostileLink, "/dev/console"); err != nil {
			return err
		}
	}
	return MountConsole(slave)
}

type nsVariant struct {
	name   string
	flags  uintptr
	userns bool
}

var (
	plainNS = nsVariant{"plain", unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWCGROUP, false}
	userNS  = nsVariant{"userns", unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUSER | unix.CLONE_NEWNET, true}
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (it mounts, in private namespaces)")
	}
}

func runScenario(t *testing.T, ns nsVariant, sc scenario, extraFiles ...*os.File) report {
	t.Helper()
	requireRoot(t)
	if ns.userns {
		sc.Spec.Linux.Namespaces = append(sc.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	}
	encoded, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), scenarioEnv+"="+string(encoded))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: ns.flags}
	cmd.ExtraFiles = extraFiles
	if ns.userns {
		// Identity maps: a real user namespace (no mknod, locked mounts)
		// that can still read the root-owned test rootfs.
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scenario child: %v\nstderr: %s\nstdout: %s", err, stderr.String(), out)
	}
	var rep report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("scenario output %q: %v", out, err)
	}
	return rep
}

// newBundle makes bundle/rootfs populated with busybox and the directories
// an image has.
func newBundle(t *testing.T) (bundle, rootfs string) {
	t.Helper()
	bundle = t.TempDir()
	if err := os.Chmod(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	rootfs = filepath.Join(bundle, "rootfs")
	for _, d := range []string{"bin", "etc", "tmp", "proc", "sys", "dev", "root"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), busybox, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "ls", "cat"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(rootfs, "etc/marker"), []byte("container root"), 0o644); err != nil {
		t.Fatal(err)
	}
	return bundle, rootfs
}

// defaultSpec is what `runc spec` writes, trimmed to the rootfs parts.
func defaultSpec() *specs.Spec {
	return &specs.Spec{
		Root: &specs.Root{Path: "rootfs"},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: &specs.Linux{
			MaskedPaths: []string{"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}

type mountEntry struct {
	mountPoint, fsType, mountOpts, superOpts string
}

func parseMountinfo(t *testing.T, text string) map[string]mountEntry {
	t.Helper()
	infos, err := mountinfo.GetMountsFromReader(strings.NewReader(text), nil)
	if err != nil {
		t.Fatalf("mountinfo %q: %v", text, err)
	}
	mounts := map[string]mountEntry{}
	for _, m := range infos {
		mounts[m.Mountpoint] = mountEntry{mountPoint: m.Mountpoint, fsType: m.FSType, mountOpts: m.Options, superOpts: m.VFSOptions}
	}
	return mounts
}

func hasOpt(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

func isErrno(msg string, errno unix.Errno) bool {
	return strings.Contains(msg, errno.Error())
}
