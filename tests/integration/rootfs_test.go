package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// mountLine returns the /proc/self/mountinfo line (printed by the
// container) whose mount point is dest.
func mountLine(t *testing.T, mountinfo, dest string) string {
	t.Helper()
	for _, line := range strings.Split(mountinfo, "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dest {
			return line
		}
	}
	t.Fatalf("no mount at %s in mountinfo:\n%s", dest, mountinfo)
	return ""
}

// mountOpts returns the per-mount options (field 6) of a mountinfo line.
func mountOpts(line string) []string {
	return strings.Split(strings.Fields(line)[5], ",")
}

func hasAll(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

// TestPivotRootAndNoPivot: with pivot_root and with --no-pivot the process
// sees the bundle's rootfs as / (read-only, as the default spec asks) and
// no host mount: the old root is gone from the mount table.
func TestPivotRootAndNoPivot(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, shell(`cat /proc/self/mountinfo; touch /newfile`))
	for _, flags := range [][]string{nil, {"--no-pivot"}} {
		res := runContainer(t, r, b, flags...)
		if res.Code == 0 || !strings.Contains(res.Stderr, "Read-only file system") {
			t.Errorf("%v: %s: want touch / to fail with EROFS", flags, res)
		}
		root := mountLine(t, res.Stdout, "/")
		if f := strings.Fields(root); f[3] != filepath.Join(b, "rootfs") || !hasAll(mountOpts(root), "ro") {
			t.Errorf("%v: / is %q, want the bundle's rootfs, read-only", flags, root)
		}
		for _, line := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
			mp := strings.Fields(line)[4]
			if mp != "/" && !strings.HasPrefix(mp, "/proc") && !strings.HasPrefix(mp, "/dev") && !strings.HasPrefix(mp, "/sys") {
				t.Errorf("%v: unexpected mount %q: the host's mounts leaked in", flags, line)
			}
		}
	}
	// root.readonly false: the same write succeeds.
	editBundle(t, b, func(s *specs.Spec) { s.Root.Readonly = false })
	mustRun(t, r, b)
	if _, err := os.Stat(filepath.Join(b, "rootfs", "newfile")); err != nil {
		t.Fatalf("writable root: %v", err)
	}
}

// TestRootfsPropagation: rootfsPropagation shared shows as a shared peer
// group on /; private and slave do not (the host's / is private here, so a
// slave has no master to show).
func TestRootfsPropagation(t *testing.T) {
	r := newRuntime(t)
	for prop, wantShared := range map[string]bool{"shared": true, "private": false, "slave": false} {
		b := newBundle(t, shell("cat /proc/self/mountinfo"), func(s *specs.Spec) { s.Linux.RootfsPropagation = prop })
		line := mountLine(t, mustRun(t, r, b), "/")
		if strings.Contains(line, " shared:") != wantShared {
			t.Errorf("rootfsPropagation %s: / is %q", prop, line)
		}
	}
}

// TestBindAndTmpfsMounts: bind mount flags, recursive read-only, tmpfs
// options and targets created as needed (a file target for a file source).
func TestBindAndTmpfsMounts(t *testing.T) {
	r := newRuntime(t)
	src := t.TempDir()
	must(t, os.WriteFile(filepath.Join(src, "script"), []byte("#!/bin/sh\necho ran\n"), 0o755))
	srcFile := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(srcFile, []byte("file content\n"), 0o644))
	b := newBundle(t, shell(`cat /proc/self/mountinfo; echo ===
touch /data/x 2>&1; /data/script 2>&1; touch /rdev/shm/x 2>&1; stat -c '%a %u %g' /t; cat /new/dir/file`),
		func(s *specs.Spec) {
			s.Mounts = append(s.Mounts,
				specs.Mount{Destination: "/data", Type: "bind", Source: src, Options: []string{"rbind", "ro", "nosuid", "nodev", "noexec"}},
				// Host /dev has submounts: rro must reach them.
				specs.Mount{Destination: "/rdev", Type: "bind", Source: "/dev", Options: []string{"rbind", "rro", "nosuid", "noexec"}},
				specs.Mount{Destination: "/t", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m", "mode=710", "uid=1000", "gid=1001", "nodev"}},
				specs.Mount{Destination: "/new/dir/file", Type: "bind", Source: srcFile, Options: []string{"bind", "ro"}},
			)
		})
	out := mustRun(t, r, b)
	mountinfo, rest, _ := strings.Cut(out, "===\n")
	if l := mountLine(t, mountinfo, "/data"); !hasAll(mountOpts(l), "ro", "nosuid", "nodev", "noexec") {
		t.Errorf("/data mount %q, want ro,nosuid,nodev,noexec", l)
	}
	if l := mountLine(t, mountinfo, "/rdev/shm"); !hasAll(mountOpts(l), "ro") {
		t.Errorf("/rdev/shm (a submount under an rro bind) is %q, want ro", l)
	}
	if l := mountLine(t, mountinfo, "/t"); !hasAll(mountOpts(l), "nodev") || !strings.Contains(l, "size=1024k") {
		t.Errorf("/t tmpfs %q, want nodev and size=1024k", l)
	}
	lines := strings.Split(rest, "\n")
	want := []string{
		"touch: /data/x: Read-only file system",
		"/bin/sh: /data/script: Permission denied",
		"touch: /rdev/shm/x: Read-only file system",
		"710 1000 1001",
		"file content",
	}
	for i, w := range want {
		if i >= len(lines) || lines[i] != w {
			t.Errorf("output line %d: got %q, want %q (all: %q)", i, lines[min(i, len(lines)-1)], w, rest)
		}
	}
	if _, err := os.Stat(filepath.Join(b, "rootfs", "new", "dir", "file")); err != nil {
		t.Errorf("file mount target not created in the rootfs: %v", err)
	}
}

// TestDevices: the default devices with their modes, the /dev symlinks, and
// a linux.devices node made with its mode, owner and numbers.
func TestDevices(t *testing.T) {
	r := newRuntime(t)
	mode := os.FileMode(0o640)
	uid, gid := uint32(1000), uint32(1001)
	b := newBundle(t, shell(`for d in null zero full random urandom tty mydev; do stat -c '%n %F %a %u %g %t:%T' /dev/$d; done
for l in ptmx fd stdin stdout stderr; do echo "$l -> $(readlink /dev/$l)"; done
head -c 3 /dev/zero | od -An -tx1`),
		func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/mydev", Type: "c", Major: 1, Minor: 3, FileMode: &mode, UID: &uid, GID: &gid}}
		})
	want := `/dev/null character special file 666 0 0 1:3
/dev/zero character special file 666 0 0 1:5
/dev/full character special file 666 0 0 1:7
/dev/random character special file 666 0 0 1:8
/dev/urandom character special file 666 0 0 1:9
/dev/tty character special file 666 0 0 5:0
/dev/mydev character special file 640 1000 1001 1:3
ptmx -> pts/ptmx
fd -> /proc/self/fd
stdin -> /proc/self/fd/0
stdout -> /proc/self/fd/1
stderr -> /proc/self/fd/2
 00 00 00
`
	if out := mustRun(t, r, b); out != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out, want)
	}
}

// TestMaskedReadonlySysctlNames: masked paths read empty, read-only paths
// refuse writes, sysctls and host/domain names are set, and the host's own
// values stay as they were.
func TestMaskedReadonlySysctlNames(t *testing.T) {
	hostShmmax := readFile(t, "/proc/sys/kernel/shmmax")
	hostHostname, _ := os.Hostname()
	r := newRuntime(t)
	b := newBundle(t, shell(`cat /proc/timer_list | wc -c; cat /proc/keys | wc -c; ls /sys/firmware | wc -l
(echo 1 > /proc/sys/kernel/shmmni) 2>&1
cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward
hostname; cat /proc/sys/kernel/domainname`),
		func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"kernel.shmmax": "123456789", "net.ipv4.ip_forward": "1"}
			s.Hostname = "box.example"
			s.Domainname = "example.org"
		})
	want := "0\n0\n0\n/bin/sh: can't create /proc/sys/kernel/shmmni: Read-only file system\n123456789\n1\nbox.example\nexample.org\n"
	if out := mustRun(t, r, b); out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if got := readFile(t, "/proc/sys/kernel/shmmax"); got != hostShmmax {
		t.Errorf("host kernel.shmmax changed: %q, was %q", got, hostShmmax)
	}
	if h, _ := os.Hostname(); h != hostHostname {
		t.Errorf("host hostname changed to %q", h)
	}
}

// TestIDMappedBind: a file owned by uid 0 on disk shows as the mapped id
// through an idmap bind mount.
func TestIDMappedBind(t *testing.T) {
	r := newRuntime(t)
	src := t.TempDir()
	must(t, os.WriteFile(filepath.Join(src, "f"), nil, 0o644))
	b := newBundle(t, shell(`stat -c '%u %g' /data/f`), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: src, Options: []string{"rbind", "idmap"},
			UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 2000, Size: 10}},
			GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 3000, Size: 10}}})
	})
	if out := mustRun(t, r, b); out != "2000 3000\n" {
		t.Fatalf("owner through the idmap mount %q, want 2000 3000", out)
	}
}

// TestPodmanReadOnlyAndDevice runs what `podman run --read-only --device
// /dev/null:/dev/mynull` sends: a read-only root with a tmpcopyup tmpfs on
// /tmp that keeps the image's files there, and a device whose fileMode has
// the character-device type bits (020666). runc accepts both.
func TestPodmanReadOnlyAndDevice(t *testing.T) {
	r := newRuntime(t)
	mode := os.FileMode(0o020666)
	b := newBundle(t, shell(`cat /tmp/from-image; stat -c '%F %a' /tmp /dev/mynull; echo x > /tmp/new && cat /tmp/new
echo y > /etc/x 2>/dev/null || echo "root read-only"; grep ' /tmp ' /proc/self/mounts | cut -d' ' -f3`),
		func(s *specs.Spec) {
			s.Root.Readonly = true
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs",
				Options: []string{"rw", "rprivate", "nosuid", "nodev", "tmpcopyup"}})
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/mynull", Type: "c", Major: 1, Minor: 3, FileMode: &mode}}
		})
	writeRootfsFile(t, b, "tmp/from-image", "image file\n", 0o644)
	if err := os.Chmod(filepath.Join(b, "rootfs", "tmp"), os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	want := `image file
directory 1777
character special file 666
x
root read-only
tmpfs
`
	if out := mustRun(t, r, b); out != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out, want)
	}
	if _, err := os.Stat(filepath.Join(b, "rootfs", "tmp", "new")); !os.IsNotExist(err) {
		t.Errorf("the write to /tmp reached the image: %v", err)
	}
}
