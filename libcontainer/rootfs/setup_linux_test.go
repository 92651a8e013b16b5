package rootfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func fileMode(m os.FileMode) *os.FileMode { return &m }
func u32(v uint32) *uint32                { return &v }

// TestSetupDefault runs a runc-default config plus extra mounts and checks
// the result from inside the new root, once without and once with a user
// namespace (where device nodes must be binds of the host's).
func TestSetupDefault(t *testing.T) {
	for _, ns := range []nsVariant{plainNS, userNS} {
		t.Run(ns.name, func(t *testing.T) {
			bundle, _ := newBundle(t)
			if err := os.WriteFile(filepath.Join(bundle, "hostfile"), []byte("from the bundle"), 0o644); err != nil {
				t.Fatal(err)
			}
			spec := defaultSpec()
			spec.Mounts = append(spec.Mounts,
				specs.Mount{Destination: "/etc/new/bound", Type: "bind", Source: "hostfile", Options: []string{"ro"}},
				specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"noexec", "nosuid", "noatime", "size=1m"}},
				specs.Mount{Destination: "/rbundle", Type: "none", Source: bundle, Options: []string{"rbind", "rro"}},
			)
			spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: fileMode(0o620), UID: u32(1000), GID: u32(1001)}}
			spec.Linux.Sysctl = map[string]string{"kernel.domainname": "oci-rt-test"}
			rep := runScenario(t, ns, scenario{
				Spec: spec, Rootfs: filepath.Join(bundle, "rootfs"), Bundle: bundle,
				Stat:      []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/ptmx", "/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/fuse", "/proc/kcore", "/bin/busybox"},
				OpenWrite: []string{"/proc/sys/kernel/domainname", "/etc/new/bound", "/rbundle/hostfile", "/scratch/x", "/sys/fs/cgroup/cgroup.procs"},
				Read:      []string{"/etc/marker", "/etc/new/bound", "/proc/sys/kernel/domainname", "/proc/1/cmdline"},
			})
			if rep.SetupErr != "" || rep.FinishErr != "" {
				t.Fatalf("setup: %q, finish: %q", rep.SetupErr, rep.FinishErr)
			}
			mounts := parseMountinfo(t, rep.Mountinfo)
			for mp, fsType := range map[string]string{"/": "", "/proc": "proc", "/dev": "tmpfs", "/dev/pts": "devpts", "/dev/shm": "tmpfs",
				"/dev/mqueue": "mqueue", "/sys": "sysfs", "/sys/fs/cgroup": "cgroup2", "/etc/new/bound": "", "/scratch": "tmpfs",
				"/proc/acpi": "tmpfs", "/proc/kcore": "", "/proc/sys": "proc", "/rbundle": ""} {
				e, ok := mounts[mp]
				if !ok {
					if mp == "/proc/kcore" {
						continue // the host has no /proc/kcore to mask
					}
					t.Errorf("no mount at %s in\n%s", mp, rep.Mountinfo)
					continue
				}
				if fsType != "" && e.fsType != fsType {
					t.Errorf("%s is %s, want %s", mp, e.fsType, fsType)
				}
			}
			for mp, opt := range map[string]string{"/sys": "ro", "/sys/fs/cgroup": "ro", "/proc/sys": "ro", "/proc/acpi": "ro",
				"/etc/new/bound": "ro", "/scratch": "noexec", "/rbundle": "ro", "/dev/pts": "noexec"} {
				if !hasOpt(mounts[mp].mountOpts, opt) {
					t.Errorf("%s mount options %q lack %s", mp, mounts[mp].mountOpts, opt)
				}
			}
			if !hasOpt(mounts["/scratch"].mountOpts, "noatime") || !hasOpt(mounts["/scratch"].mountOpts, "nosuid") {
				t.Errorf("/scratch options %q", mounts["/scratch"].mountOpts)
			}
			for name, minor := range map[string]uint32{"null": 3, "zero": 5, "full": 7, "random": 8, "urandom": 9} {
				st := rep.Stat["/dev/"+name]
				if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, minor) {
					t.Errorf("/dev/%s: %+v", name, st)
				}
				if !ns.userns && st.Mode&0o777 != 0o666 {
					t.Errorf("/dev/%s mode %o", name, st.Mode&0o777)
				}
				if _, bound := mounts["/dev/"+name]; bound != ns.userns {
					t.Errorf("/dev/%s bind-mounted=%v, want %v", name, bound, ns.userns)
				}
			}
			if st := rep.Stat["/dev/tty"]; st.Rdev != unix.Mkdev(5, 0) {
				t.Errorf("/dev/tty: %+v", st)
			}
			fuse := rep.Stat["/dev/fuse"]
			if fuse.Rdev != unix.Mkdev(10, 229) {
				t.Errorf("/dev/fuse: %+v", fuse)
			}
			if !ns.userns && (fuse.Mode&0o777 != 0o620 || fuse.UID != 1000 || fuse.GID != 1001) {
				t.Errorf("/dev/fuse mode/owner: %+v", fuse)
			}
			for link, target := range map[string]string{"/dev/ptmx": "pts/ptmx", "/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
				"/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2"} {
				if rep.Stat[link].Link != target {
					t.Errorf("%s -> %q, want %q", link, rep.Stat[link].Link, target)
				}
			}
			if rep.Read["/etc/marker"] != "container root" || rep.Read["/etc/new/bound"] != "from the bundle" {
				t.Errorf("reads: %q", rep.Read)
			}
			if got := strings.TrimSpace(rep.Read["/proc/sys/kernel/domainname"]); got != "oci-rt-test" {
				t.Errorf("sysctl kernel.domainname = %q", got)
			}
			for _, p := range []string{"/proc/sys/kernel/domainname", "/etc/new/bound", "/rbundle/hostfile", "/sys/fs/cgroup/cgroup.procs"} {
				if !isErrno(rep.OpenWrite[p], unix.EROFS) {
					t.Errorf("open %s for writing: %q, want EROFS", p, rep.OpenWrite[p])
				}
			}
			if rep.Stat["/bin/busybox"].Err != "" {
				t.Errorf("/bin/busybox missing in the new root: %s", rep.Stat["/bin/busybox"].Err)
			}
			assertNoHostFDs(t, rep)
		})
	}
}

// assertNoHostFDs: Setup, MountConsole and Finish leave no fd open that
// was not open before them (rep.FDs lists only new ones, minus the probe's
// own listing of /proc/self/fd): a host fd that reaches the container's
// process is a way out of the rootfs (CVE-2024-21626).
func assertNoHostFDs(t *testing.T, rep report) {
	t.Helper()
	for fd, target := range rep.FDs {
		t.Errorf("fd %s -> %q was opened during setup and is still open", fd, target)
	}
}

// TestSetupTmpcopyup: a tmpfs with tmpcopyup (Podman's --read-only) starts
// with a copy of what the image has at its destination: files with their
// contents, owners and modes, directories, symlinks as symlinks, device
// nodes; the tmpfs root gets the covered directory's mode; "ro" still ends
// read-only after the copy. With and without a user namespace (identity
// mapped, so owners are kept).
func TestSetupTmpcopyup(t *testing.T) {
	for _, ns := range []nsVariant{plainNS, userNS} {
		t.Run(ns.name, func(t *testing.T) {
			bundle, rootfs := newBundle(t)
			data := filepath.Join(rootfs, "data")
			if err := os.MkdirAll(filepath.Join(data, "sub/deeper"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(data, "sub/file"), []byte("image content"), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(filepath.Join(data, "sub/file"), 1000, 1001); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/etc/marker", filepath.Join(data, "link")); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(data, 0o750); err != nil {
				t.Fatal(err)
			}
			if !ns.userns {
				if err := unix.Mkfifo(filepath.Join(data, "fifo"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(filepath.Join(data, "fifo"), 0o620); err != nil {
					t.Fatal(err)
				}
			}
			spec := defaultSpec()
			spec.Mounts = append(spec.Mounts,
				specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs", Options: []string{"rw", "rprivate", "nosuid", "nodev", "tmpcopyup"}},
				specs.Mount{Destination: "/etc", Type: "tmpfs", Source: "tmpfs", Options: []string{"ro", "tmpcopyup"}},
				specs.Mount{Destination: "/empty", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup"}},
			)
			rep := runScenario(t, ns, scenario{
				Spec: spec, Rootfs: rootfs, Bundle: bundle,
				Stat:      []string{"/data", "/data/sub/file", "/data/sub/deeper", "/data/link", "/data/fifo", "/empty"},
				OpenWrite: []string{"/data/sub/file", "/etc/marker"},
				Read:      []string{"/data/sub/file", "/data/link", "/etc/marker"},
			})
			if rep.SetupErr != "" || rep.FinishErr != "" {
				t.Fatalf("setup: %q, finish: %q", rep.SetupErr, rep.FinishErr)
			}
			mounts := parseMountinfo(t, rep.Mountinfo)
			for _, mp := range []string{"/data", "/etc", "/empty"} {
				if mounts[mp].fsType != "tmpfs" {
					t.Errorf("%s is %q, want a tmpfs", mp, mounts[mp].fsType)
				}
			}
			if !hasOpt(mounts["/etc"].mountOpts, "ro") || hasOpt(mounts["/data"].mountOpts, "ro") {
				t.Errorf("/etc options %q (want ro), /data options %q (want rw)", mounts["/etc"].mountOpts, mounts["/data"].mountOpts)
			}
			if rep.Read["/data/sub/file"] != "image content" || rep.Read["/data/link"] != "container root" || rep.Read["/etc/marker"] != "container root" {
				t.Errorf("copied contents: %q", rep.Read)
			}
			if st := rep.Stat["/data/sub/file"]; st.Mode != unix.S_IFREG|0o640 || st.UID != 1000 || st.GID != 1001 {
				t.Errorf("/data/sub/file: %+v, want a 0640 file owned by 1000:1001", st)
			}
			if st := rep.Stat["/data"]; st.Mode != unix.S_IFDIR|0o750 {
				t.Errorf("/data mode %o, want the covered directory's 0750", st.Mode)
			}
			if st := rep.Stat["/data/sub/deeper"]; st.Mode&unix.S_IFMT != unix.S_IFDIR {
				t.Errorf("/data/sub/deeper: %+v", st)
			}
			if rep.Stat["/data/link"].Link != "/etc/marker" {
				t.Errorf("/data/link: %+v, want a symlink to /etc/marker", rep.Stat["/data/link"])
			}
			if fifo := rep.Stat["/data/fifo"]; !ns.userns && fifo.Mode != unix.S_IFIFO|0o620 {
				t.Errorf("/data/fifo: %+v", fifo)
			}
			if rep.OpenWrite["/data/sub/file"] != "" || !isErrno(rep.OpenWrite["/etc/marker"], unix.EROFS) {
				t.Errorf("writes: %q (want /data writable, /etc read-only)", rep.OpenWrite)
			}
			if rep.Stat["/empty"].Err != "" {
				t.Errorf("/empty: %s", rep.Stat["/empty"].Err)
			}
			assertNoHostFDs(t, rep)
		})
	}
}
