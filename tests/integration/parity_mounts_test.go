package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// compareMountViews is compareRuntimes for a case whose oracle must show
// wantInRunc: a case where both runtimes fail the same way would prove
// nothing.
func compareMountViews(t *testing.T, wantInRunc string, observe func(t *testing.T, r *Runtime) string) {
	t.Helper()
	want := observe(t, runcRuntime(t))
	if !strings.Contains(want, wantInRunc) {
		t.Fatalf("runc shows %q, without %q: the case does not set up what it tests", want, wantInRunc)
	}
	if got := observe(t, newRuntime(t)); got != want {
		t.Errorf("oci-rt differs from runc:\n oci-rt: %q\n runc:   %q", got, want)
	}
}

// mountpoints creates dirs in bundle's rootfs: the root of a user
// namespace cannot create them in a rootfs owned by host root.
func mountpoints(t *testing.T, bundle string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		must(t, os.MkdirAll(filepath.Join(bundle, "rootfs", d), 0o755))
	}
}

// runObserved runs bundle to completion and reduces it to what both
// runtimes must agree on: the exit status and what the container printed.
// The error words of a failed create differ between the runtimes and are
// left out; the exit status says whether it failed.
func runObserved(t *testing.T, r *Runtime, bundle string) string {
	t.Helper()
	res := runContainer(t, r, bundle)
	return fmt.Sprintf("exit %d\n%s", res.Code, res.Stdout)
}

// writeTree creates files (path → content) below dir, with their parents.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

// printMountOptions is a script line printing, for each of dests, the
// destination and its per-mount options as the container's mountinfo
// shows them.
func printMountOptions(dests ...string) string {
	var b strings.Builder
	for _, d := range dests {
		fmt.Fprintf(&b, "awk '$5 == %q {print $5, $6}' /proc/self/mountinfo; ", d)
	}
	return "{ " + b.String() + "}"
}

// TestParityMountSourceSeesEarlierMounts: a bind whose source lies inside
// the rootfs is taken from the container's view as the mounts before it
// in the config left it, whether the source is named by its host path or
// relative to the bundle.
func TestParityMountSourceSeesEarlierMounts(t *testing.T) {
	host := t.TempDir()
	writeTree(t, host, map[string]string{"x/marker": "from the earlier mount\n"})
	compareMountViews(t, "exit 0\nfrom the earlier mount\nfrom the earlier mount\n", func(t *testing.T, r *Runtime) string {
		b := newBundle(t, shell("cat /seen/marker /seen-relative/marker"))
		writeTree(t, filepath.Join(b, "rootfs"), map[string]string{"final/x/marker": "from the image\n"})
		editBundle(t, b, func(s *specs.Spec) {
			s.Mounts = append(s.Mounts,
				specs.Mount{Destination: "/final", Type: "bind", Source: host, Options: []string{"rbind"}},
				specs.Mount{Destination: "/seen", Type: "bind", Source: filepath.Join(b, "rootfs", "final", "x"), Options: []string{"rbind"}},
				specs.Mount{Destination: "/seen-relative", Type: "bind", Source: "rootfs/final/x", Options: []string{"rbind"}},
			)
		})
		return runObserved(t, r, b)
	})
}

// TestIdmappedMountSourceSeesEarlierMounts: the same order holds for an
// idmapped bind (runc 1.1.5 has no idmapped mounts to compare with): its
// source is taken from the container's view, then mapped.
func TestIdmappedMountSourceSeesEarlierMounts(t *testing.T) {
	host := t.TempDir()
	writeTree(t, host, map[string]string{"x/marker": "from the earlier mount\n"})
	b := userNSBundle(t, shell("cat /seen/marker; stat -c '%u %g' /seen/marker"))
	mountpoints(t, b, "final", "seen")
	writeTree(t, filepath.Join(b, "rootfs"), map[string]string{"final/x/marker": "from the image\n"})
	editBundle(t, b, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/final", Type: "bind", Source: host, Options: []string{"rbind"}},
			// The container's maps: host root's file is the container root's.
			specs.Mount{Destination: "/seen", Type: "bind", Source: filepath.Join(b, "rootfs", "final", "x"), Options: []string{"rbind", "idmap"}},
		)
	})
	if got, want := mustRun(t, newRuntime(t), b), "from the earlier mount\n0 0\n"; got != want {
		t.Errorf("idmapped bind of a source below an earlier mount shows %q, want %q", got, want)
	}
}

// TestParityBindSourceUnreadableInUserNamespace: the source of a bind is
// looked up with the runtime's own rights, not the container's: a source
// behind a directory the container's root may not enter still mounts.
func TestParityBindSourceUnreadableInUserNamespace(t *testing.T) {
	private := t.TempDir()
	writeTree(t, private, map[string]string{"shared/file": "readable once mounted\n"})
	compareMountViews(t, "exit 0\nreadable once mounted\n", func(t *testing.T, r *Runtime) string {
		b := userNSBundle(t, shell("cat /s/file"), func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/s", Type: "bind", Source: filepath.Join(private, "shared"), Options: []string{"rbind"}})
		})
		mountpoints(t, b, "s")
		// Owned by host root, which is no one in the container's user
		// namespace: closed to the container's root.
		must(t, os.Chmod(private, 0o700))
		return runObserved(t, r, b)
	})
}

// TestBindSourceInRootfsStaysInside: a bind source inside the rootfs that
// is the image's symlink to an absolute path resolves inside the rootfs,
// never to the host's file (runc follows it on the host: see
// parityExceptions), with and without a user namespace.
func TestBindSourceInRootfsStaysInside(t *testing.T) {
	specException(t, "bind source through a symlink in the rootfs")
	for name, newB := range map[string]func(*testing.T, ...func(*specs.Spec)) string{"plain": newBundleT, "userns": userNSBundle} {
		t.Run(name, func(t *testing.T) {
			b := newB(t, shell("ls /m"))
			must(t, os.Symlink("/etc", filepath.Join(b, "rootfs", "hostile")))
			mountpoints(t, b, "m")
			editBundle(t, b, func(s *specs.Spec) {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/m", Type: "bind", Source: filepath.Join(b, "rootfs", "hostile"), Options: []string{"rbind"}})
			})
			if got := mustRun(t, newRuntime(t), b); got != "group\npasswd\n" {
				t.Errorf("bind of the rootfs's /hostile -> /etc shows %q, want the image's /etc (group, passwd)", got)
			}
		})
	}
}

// newBundleT is newBundle with the signature of userNSBundle.
func newBundleT(t *testing.T, edits ...func(*specs.Spec)) string {
	t.Helper()
	return newBundle(t, edits...)
}

// TestParityReadOnlyDevWithSubmounts: a read-only /dev still gets its
// submounts and device nodes: the mountpoints are made first, read-only is
// applied last.
func TestParityReadOnlyDevWithSubmounts(t *testing.T) {
	compareMountViews(t, "nodes\n", func(t *testing.T, r *Runtime) string {
		b := newBundle(t, shell(printMountOptions("/dev", "/dev/pts", "/dev/shm", "/dev/mqueue")+
			"; test -c /dev/null && test -c /dev/pts/ptmx && echo nodes; touch /dev/new 2>&1"),
			func(s *specs.Spec) {
				for i, m := range s.Mounts {
					if m.Destination == "/dev" {
						s.Mounts[i].Options = append(m.Options, "ro")
					}
				}
			})
		return runObserved(t, r, b)
	})
}

// TestParityTmpfsMode: a tmpfs without mode= takes the mode of the
// directory it covers (sticky bit included); one on a directory that did
// not exist keeps tmpfs's own default.
func TestParityTmpfsMode(t *testing.T) {
	compareMountViews(t, "/m711 711\n", func(t *testing.T, r *Runtime) string {
		b := newBundle(t, shell("stat -c '%n %a' /m711 /sticky /fresh"))
		rootfs := filepath.Join(b, "rootfs")
		for dir, mode := range map[string]os.FileMode{"m711": 0o711, "sticky": 0o777 | os.ModeSticky} {
			must(t, os.Mkdir(filepath.Join(rootfs, dir), 0o755))
			must(t, os.Chmod(filepath.Join(rootfs, dir), mode))
		}
		editBundle(t, b, func(s *specs.Spec) {
			for _, dest := range []string{"/m711", "/sticky", "/fresh"} {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: dest, Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid"}})
			}
		})
		return runObserved(t, r, b)
	})
}

// TestTmpfsModeOptionWins: mode= decides a tmpfs's mode even over an
// existing directory (runc 1.1.5 replaces it with the directory's: see
// parityExceptions).
func TestTmpfsModeOptionWins(t *testing.T) {
	specException(t, "tmpfs mode= over an existing directory")
	b := newBundle(t, shell("stat -c '%a' /withmode"), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/withmode", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=700"}})
	})
	must(t, os.Mkdir(filepath.Join(b, "rootfs", "withmode"), 0o711))
	if got := mustRun(t, newRuntime(t), b); got != "700\n" {
		t.Errorf("tmpfs with mode=700 on a 0711 directory has mode %q, want 700", got)
	}
}

// readOnlyNoatimeSource returns a directory that is a read-only, noatime
// bind mount on the host, unmounted when the test ends.
func readOnlyNoatimeSource(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	must(t, os.Mkdir(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "f"), []byte("x\n"), 0o644))
	must(t, unix.Mount(dir, dir, "", unix.MS_BIND, ""))
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	must(t, unix.Mount("", dir, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOATIME, ""))
	return dir
}

// bindFlagCases binds src with option lists that do and do not make runc
// remount the bind, and prints the flags each mount ends up with.
func bindFlagCases(src string) func(*specs.Spec) {
	cases := map[string][]string{
		"/plain":       {"rbind"},
		"/nosuid":      {"rbind", "nosuid"},
		"/rw":          {"rbind", "rw"},
		"/ro-nodev":    {"rbind", "ro", "nodev"},
		"/strictatime": {"rbind", "strictatime"},
		"/noatime":     {"rbind", "noatime", "nosuid"},
	}
	var dests []string
	return func(s *specs.Spec) {
		for dest, opts := range cases {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: dest, Type: "bind", Source: src, Options: opts})
			dests = append(dests, dest)
		}
		s.Process.Args = []string{"/bin/sh", "-c", printMountOptions(dests...) + " | sort"}
	}
}

// TestParityBindFlagsFromSource: a bind of a read-only, noatime source
// keeps those flags when its options make no remount, and takes exactly
// its options (and the kernel's default atime) when they do, as runc's
// bind-then-remount does.
func TestParityBindFlagsFromSource(t *testing.T) {
	src := readOnlyNoatimeSource(t)
	compareMountViews(t, "/plain ro,noatime\n", func(t *testing.T, r *Runtime) string {
		return runObserved(t, r, newBundle(t, bindFlagCases(src)))
	})
}

// TestParityBindFlagsLockedInUserNamespace: in a user namespace the
// source's read-only flag is locked; a bind whose options would clear it
// keeps it instead of failing, as runc retries such a remount read-only.
func TestParityBindFlagsLockedInUserNamespace(t *testing.T) {
	parent := t.TempDir()
	must(t, os.Chmod(parent, 0o755))
	dir := filepath.Join(parent, "src")
	must(t, os.Mkdir(dir, 0o755))
	must(t, unix.Mount(dir, dir, "", unix.MS_BIND, ""))
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	must(t, unix.Mount("", dir, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""))
	compareMountViews(t, "/plain ro,", func(t *testing.T, r *Runtime) string {
		b := userNSBundle(t, func(s *specs.Spec) {
			s.Mounts = append(s.Mounts,
				specs.Mount{Destination: "/plain", Type: "bind", Source: dir, Options: []string{"rbind"}},
				specs.Mount{Destination: "/nosuid", Type: "bind", Source: dir, Options: []string{"rbind", "nosuid"}})
		}, shell(printMountOptions("/plain", "/nosuid")))
		mountpoints(t, b, "plain", "nosuid")
		return runObserved(t, r, b)
	})
}
