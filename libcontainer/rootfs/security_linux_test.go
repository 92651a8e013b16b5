package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func expectSetupError(t *testing.T, rep report, words ...string) {
	t.Helper()
	if rep.SetupErr == "" {
		t.Fatalf("setup succeeded, want an error containing %q", words)
	}
	for _, w := range words {
		if !strings.Contains(rep.SetupErr, w) {
			t.Errorf("setup error %q lacks %q", rep.SetupErr, w)
		}
	}
	t.Log(rep.SetupErr)
	if strings.Contains(rep.SetupErr, "\n") {
		t.Errorf("setup error is not one line: %q", rep.SetupErr)
	}
}

// /proc or /sys that are symlinks are refused, whatever they point at: the
// container would choose where procfs or sysfs is mounted.
func TestSymlinkedProcSysRefused(t *testing.T) {
	for _, dir := range []string{"proc", "sys"} {
		for _, target := range []string{"/", "/tmp", "../../..", "/nonexistent"} {
			t.Run(dir+"->"+target, func(t *testing.T) {
				bundle, rootfs := newBundle(t)
				if err := os.Remove(filepath.Join(rootfs, dir)); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, filepath.Join(rootfs, dir)); err != nil {
					t.Fatal(err)
				}
				rep := runScenario(t, plainNS, scenario{Spec: defaultSpec(), Rootfs: rootfs, Bundle: bundle})
				expectSetupError(t, rep, "/"+dir, "symlink")
			})
		}
	}
}

// Only procfs at /proc, and nothing over procfs except the lxcfs-style
// files, also when a symlink leads there: the runtime writes to /proc
// during setup and must reach the kernel's files (CVE-2019-16884).
func TestProcOvermountRefused(t *testing.T) {
	cases := map[string]specs.Mount{
		"tmpfs":       {Destination: "/proc", Type: "tmpfs", Source: "tmpfs"},
		"bind":        {Destination: "/proc", Type: "bind", Source: "/proc", Options: []string{"rbind"}},
		"overlay":     {Destination: "/proc", Type: "overlay", Source: "/proc"},
		"under /proc": {Destination: "/proc/sys", Type: "tmpfs", Source: "tmpfs"},
		"via symlink": {Destination: "/etc/pattern", Type: "bind", Source: "hostfile"},
		"dir symlink": {Destination: "/etc/procdir/sys", Type: "tmpfs", Source: "tmpfs"},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			bundle, rootfs := newBundle(t)
			if err := os.WriteFile(filepath.Join(bundle, "hostfile"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/proc/sys/kernel/core_pattern", filepath.Join(rootfs, "etc/pattern")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("../proc", filepath.Join(rootfs, "etc/procdir")); err != nil {
				t.Fatal(err)
			}
			spec := defaultSpec()
			spec.Mounts = append(spec.Mounts, m)
			rep := runScenario(t, plainNS, scenario{Spec: spec, Rootfs: rootfs, Bundle: bundle})
			expectSetupError(t, rep, m.Destination)
		})
	}
	t.Run("lxcfs file allowed", func(t *testing.T) {
		bundle, rootfs := newBundle(t)
		if err := os.WriteFile(filepath.Join(bundle, "cpuinfo"), []byte("fake cpuinfo"), 0o644); err != nil {
			t.Fatal(err)
		}
		spec := defaultSpec()
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/proc/cpuinfo", Type: "bind", Source: "cpuinfo"})
		rep := runScenario(t, plainNS, scenario{Spec: spec, Rootfs: rootfs, Bundle: bundle, Read: []string{"/proc/cpuinfo"}})
		if rep.SetupErr != "" || rep.Read["/proc/cpuinfo"] != "fake cpuinfo" {
			t.Fatalf("setup %q, /proc/cpuinfo %q", rep.SetupErr, rep.Read["/proc/cpuinfo"])
		}
	})
}

// maskedPaths with a hostile /dev/null (here the container's
// /dev is a bind of a bundle directory, so Setup does not replace it) fail
// closed, and /proc/sys stays read-only.
func TestMaskWithHostileDevNull(t *testing.T) {
	cases := map[string]func(dev string) error{
		"symlink to core_pattern": func(dev string) error {
			return os.Symlink("/proc/sys/kernel/core_pattern", filepath.Join(dev, "null"))
		},
		"regular file": func(dev string) error { return os.WriteFile(filepath.Join(dev, "null"), nil, 0o666) },
		"wrong device": func(dev string) error {
			return unix.Mknod(filepath.Join(dev, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5)))
		},
		"missing": func(string) error { return nil },
	}
	for name, plant := range cases {
		t.Run(name, func(t *testing.T) {
			bundle, rootfs := newBundle(t)
			hostileDev := filepath.Join(bundle, "hostile-dev")
			if err := os.Mkdir(hostileDev, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := plant(hostileDev); err != nil {
				t.Fatal(err)
			}
			spec := defaultSpec()
			spec.Mounts = []specs.Mount{
				{Destination: "/proc", Type: "proc", Source: "proc"},
				{Destination: "/dev", Type: "bind", Source: hostileDev, Options: []string{"rbind"}},
			}
			spec.Linux.MaskedPaths = []string{"/proc/kcore", "/proc/sys/kernel/core_pattern", "/proc/timer_list"}
			rep := runScenario(t, plainNS, scenario{Spec: spec, Rootfs: rootfs, Bundle: bundle,
				OpenWrite: []string{"/proc/sys/kernel/core_pattern"}})
			if rep.SetupErr != "" {
				t.Fatal(rep.SetupErr)
			}
			if !strings.Contains(rep.FinishErr, "/dev/null") {
				t.Errorf("finish error %q, want a /dev/null error", rep.FinishErr)
			}
			if !isErrno(rep.OpenWrite["/proc/sys/kernel/core_pattern"], unix.EROFS) {
				t.Errorf("core_pattern writable: %q", rep.OpenWrite["/proc/sys/kernel/core_pattern"])
			}
			for mp := range parseMountinfo(t, rep.Mountinfo) {
				if mp == "/proc/sys/kernel/core_pattern" || mp == "/proc/timer_list" {
					t.Errorf("%s was masked with a hostile /dev/null", mp)
				}
			}
		})
	}
}

// /dev/console ends up the real pty even if the container
// planted a symlink to a procfs file there; a non-pty fd is refused.
func TestMountConsole(t *testing.T) {
	bundle, rootfs := newBundle(t)
	rep := runScenario(t, plainNS, scenario{Spec: defaultSpec(), Rootfs: rootfs, Bundle: bundle, Console: true,
		HostileConsole: "/proc/sys/kernel/core_pattern", Stat: []string{"/dev/console"}, OpenWrite: []string{"/proc/sys/kernel/core_pattern"}})
	if rep.SetupErr != "" || rep.ConsoleErr != "" || rep.FinishErr != "" {
		t.Fatalf("setup %q console %q finish %q", rep.SetupErr, rep.ConsoleErr, rep.FinishErr)
	}
	st := rep.Stat["/dev/console"]
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 136 {
		t.Errorf("/dev/console is %+v, want the pty (major 136)", st)
	}
	mounts := parseMountinfo(t, rep.Mountinfo)
	if mounts["/dev/console"].fsType != "devpts" {
		t.Errorf("/dev/console mount: %+v", mounts["/dev/console"])
	}
	if _, ok := mounts["/proc/sys/kernel/core_pattern"]; ok {
		t.Error("the console was mounted over core_pattern")
	}
	if !isErrno(rep.OpenWrite["/proc/sys/kernel/core_pattern"], unix.EROFS) {
		t.Errorf("core_pattern: %q", rep.OpenWrite["/proc/sys/kernel/core_pattern"])
	}

	notPty, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer notPty.Close()
	if err := MountConsole(notPty); err == nil || !strings.Contains(err.Error(), "not a pty") {
		t.Errorf("MountConsole(/dev/null) = %v", err)
	}
}

// /dev a symlink to a host directory: the host directory is
// untouched, everything lands inside the rootfs.
func TestSymlinkedDevStaysInside(t *testing.T) {
	for _, withDevMount := range []bool{true, false} {
		t.Run(fmt.Sprint("tmpfs on /dev: ", withDevMount), func(t *testing.T) {
			bundle, rootfs := newBundle(t)
			outside := filepath.Join(t.TempDir(), "outside")
			if err := os.Mkdir(outside, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(outside, "marker"), []byte("host"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(rootfs, "dev")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, filepath.Join(rootfs, "dev")); err != nil {
				t.Fatal(err)
			}
			spec := defaultSpec()
			if !withDevMount {
				spec.Mounts = spec.Mounts[:1]
			}
			rep := runScenario(t, plainNS, scenario{Spec: spec, Rootfs: rootfs, Bundle: bundle, Stat: []string{"/dev/null"}})
			entries, err := os.ReadDir(outside)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Name() != "marker" {
				t.Errorf("host directory changed: %v (setup error %q)", entries, rep.SetupErr)
			}
			if b, _ := os.ReadFile(filepath.Join(outside, "marker")); string(b) != "host" {
				t.Errorf("marker changed: %q", b)
			}
			if rep.SetupErr == "" && rep.Stat["/dev/null"].Rdev != unix.Mkdev(1, 3) {
				t.Errorf("/dev/null inside: %+v", rep.Stat["/dev/null"])
			}
			if !withDevMount {
				if _, err := os.Lstat(filepath.Join(rootfs, outside, "null")); err != nil {
					t.Errorf("devices not created inside the rootfs: %v", err)
				}
			}
		})
	}
}

// Absolute, relative and dangling symlinks as mount targets
// resolve inside the rootfs.
func TestSymlinkTargetsResolveInside(t *testing.T) {
	bundle, rootfs := newBundle(t)
	escape := filepath.Join(t.TempDir(), "escape")
	links := map[string]string{
		"abs":      "/srv/data",   // dangling, absolute
		"rel":      "../../x/y",   // dangling, climbs above the root
		"hostpath": escape,        // dangling, names a host path
		"file":     "/etc/target", // dangling, for a file bind
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(rootfs, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bundle, "hostfile"), []byte("bound"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := defaultSpec()
	for _, name := range []string{"abs", "rel", "hostpath"} {
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/" + name, Type: "tmpfs", Source: "tmpfs"})
	}
	spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/file", Type: "bind", Source: "hostfile"})
	rep := runScenario(t, plainNS, scenario{Spec: spec, Rootfs: rootfs, Bundle: bundle, Read: []string{"/etc/target"}})
	if rep.SetupErr != "" {
		t.Fatal(rep.SetupErr)
	}
	mounts := parseMountinfo(t, rep.Mountinfo)
	for _, mp := range []string{"/srv/data", "/x/y", escape} {
		if mounts[mp].fsType != "tmpfs" {
			t.Errorf("no tmpfs at %s inside the container:\n%s", mp, rep.Mountinfo)
		}
	}
	if rep.Read["/etc/target"] != "bound" {
		t.Errorf("/etc/target: %q", rep.Read["/etc/target"])
	}
	if _, err := os.Lstat(escape); !os.IsNotExist(err) {
		t.Errorf("host path %s was created: %v", escape, err)
	}
}

// While containers mount into a shared volume, another swaps a
// directory and a symlink to "/" there 1000 times. Nothing may be created
// or mounted on the host; each mount lands in one of the two inside places.
func TestMountDestinationRace(t *testing.T) {
	requireRoot(t)
	volume := t.TempDir()
	if err := os.Chmod(volume, 0o755); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("oci-rt-race-%d", os.Getpid())
	hostVictim := filepath.Join("/", name)
	if err := os.Mkdir(filepath.Join(volume, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/", filepath.Join(volume, "link")); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var swaps int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for swaps = 0; ; swaps++ {
			select {
			case <-stop:
				if swaps >= 1000 {
					return
				}
			default:
			}
			_ = unix.Renameat2(unix.AT_FDCWD, filepath.Join(volume, "dir"), unix.AT_FDCWD, filepath.Join(volume, "link"), unix.RENAME_EXCHANGE)
		}
	}()
	for i := 0; i < 10; i++ {
		bundle, rootfs := newBundle(t)
		spec := defaultSpec()
		spec.Mounts = append(spec.Mounts,
			specs.Mount{Destination: "/vol", Type: "bind", Source: volume, Options: []string{"rbind"}},
			specs.Mount{Destination: "/vol/dir/" + name, Type: "tmpfs", Source: "tmpfs"},
		)
		rep := runScenario(t, plainNS, scenario{Spec: spec, Rootfs: rootfs, Bundle: bundle})
		if rep.SetupErr == "" {
			mounts := parseMountinfo(t, rep.Mountinfo)
			if mounts["/vol/dir/"+name].fsType != "tmpfs" && mounts["/vol/link/"+name].fsType != "tmpfs" && mounts["/"+name].fsType != "tmpfs" {
				t.Errorf("run %d: the tmpfs is not inside the container:\n%s", i, rep.Mountinfo)
			}
		}
	}
	close(stop)
	wg.Wait()
	if _, err := os.Lstat(hostVictim); !os.IsNotExist(err) {
		os.Remove(hostVictim)
		t.Fatalf("%s was created on the host", hostVictim)
	}
	t.Logf("%d swaps during the runs", swaps)
}

// --no-pivot and root.readonly.
func TestNoPivotReadonlyRoot(t *testing.T) {
	bundle, rootfs := newBundle(t)
	spec := defaultSpec()
	spec.Root.Readonly = true
	rep := runScenario(t, plainNS, scenario{Spec: spec, Rootfs: rootfs, Bundle: bundle, NoPivot: true,
		OpenWrite: []string{"/etc/marker", "/dev/null"}, Read: []string{"/etc/marker"}})
	if rep.SetupErr != "" || rep.FinishErr != "" {
		t.Fatalf("setup %q finish %q", rep.SetupErr, rep.FinishErr)
	}
	if rep.Read["/etc/marker"] != "container root" {
		t.Errorf("/etc/marker: %q", rep.Read["/etc/marker"])
	}
	if !isErrno(rep.OpenWrite["/etc/marker"], unix.EROFS) {
		t.Errorf("root writable: %q", rep.OpenWrite["/etc/marker"])
	}
	if rep.OpenWrite["/dev/null"] != "" {
		t.Errorf("/dev/null: %q", rep.OpenWrite["/dev/null"])
	}
	assertNoHostFDs(t, rep)
}

// idmap: init clones the bind, the parent's part idmaps it (here with a
// user namespace the test made), init attaches it.
func TestIdmappedBind(t *testing.T) {
	requireRoot(t)
	bundle, rootfs := newBundle(t)
	data := filepath.Join(bundle, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "owned-by-root"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	spec := defaultSpec()
	// As for a user namespace: on-disk id 0 (containerID) shows as 1000 (hostID).
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "data", Options: []string{"idmap"}, UIDMappings: maps, GIDMappings: maps})
	userns, err := newUserNamespace(maps, maps)
	if err != nil {
		t.Fatal(err)
	}
	defer userns.Close()
	rep := runScenario(t, plainNS, scenario{Spec: spec, Rootfs: rootfs, Bundle: bundle, IdmapUserns: true,
		Stat: []string{"/data/owned-by-root"}}, userns)
	if rep.SetupErr != "" {
		t.Fatal(rep.SetupErr)
	}
	if st := rep.Stat["/data/owned-by-root"]; st.UID != 1000 || st.GID != 1000 {
		t.Errorf("through the idmapped mount the file is %d:%d, want 1000:1000", st.UID, st.GID)
	}
	if !hasOpt(parseMountinfo(t, rep.Mountinfo)["/data"].mountOpts, "idmapped") {
		t.Errorf("/data not idmapped:\n%s", rep.Mountinfo)
	}
}

// TestIdmapper: the parent's part maps a detached bind with the mount's
// own maps, or else the container's, and refuses without any.
func TestIdmapper(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "owned-by-root"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	spec := defaultSpec()
	spec.Linux.UIDMappings, spec.Linux.GIDMappings = maps, maps
	spec.Mounts = []specs.Mount{
		{Destination: "/own", Type: "bind", Source: dir, Options: []string{"idmap"},
			UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 2000, Size: 1}}, GIDMappings: maps},
		{Destination: "/container", Type: "bind", Source: dir, Options: []string{"idmap"}},
		{Destination: "/plain", Type: "bind", Source: dir, Options: []string{"bind"}},
	}
	im := NewIdmapper(spec)
	defer im.Close()
	for index, want := range map[int]uint32{0: 2000, 1: 1000} {
		mnt, err := cloneTree(unix.AT_FDCWD, dir, false)
		if err != nil {
			t.Fatal(err)
		}
		defer mnt.Close()
		if err := im.Idmap(index, mnt); err != nil {
			t.Fatalf("mount %d: %v", index, err)
		}
		var st unix.Stat_t
		if err := unix.Fstatat(int(mnt.Fd()), "owned-by-root", &st, 0); err != nil {
			t.Fatal(err)
		}
		if st.Uid != want {
			t.Errorf("mount %d: owner %d through the idmapped bind, want %d", index, st.Uid, want)
		}
	}
	mnt, err := cloneTree(unix.AT_FDCWD, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer mnt.Close()
	if err := im.Idmap(2, mnt); err == nil {
		t.Error("a plain bind was idmapped")
	}
	spec.Linux.UIDMappings, spec.Linux.GIDMappings = nil, nil
	if err := NewIdmapper(spec).Idmap(1, mnt); err == nil || !strings.Contains(err.Error(), "mappings") {
		t.Errorf("idmap without any mappings: %v", err)
	}
}
