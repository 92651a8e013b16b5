package integration

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// withKmsgNode lists /dev/kmsg (char 1:11) in linux.devices, so that the
// container gets the node; whether it may open it is up to the rules.
func withKmsgNode(s *specs.Spec) {
	s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11})
}

// TestListedDeviceGetsNoAccess: a node listed in linux.devices is created,
// nothing more; with `oci-rt spec`'s deny-all resources.devices, opening
// it fails with EPERM from the device filter, as with runc. /dev/kmsg is
// opened write-only: that needs no capability (a read would need
// CAP_SYSLOG), so only the filter can refuse it, which the control run
// with an explicit allow rule proves. The default devices stay usable.
func TestListedDeviceGetsNoAccess(t *testing.T) {
	r := newRuntime(t)
	defaults := `for d in null zero full random urandom ptmx; do (exec 3<>/dev/$d) || echo "no access to /dev/$d"; done; `
	b := newBundle(t, withKmsgNode, shell(defaults+`test -c /dev/kmsg || echo "no node"; : > /dev/kmsg`))
	res := runContainer(t, r, b)
	if res.Code == 0 || !strings.Contains(res.Stderr, "Operation not permitted") {
		t.Fatalf("%s: want opening /dev/kmsg to fail with EPERM", res)
	}
	if strings.Contains(res.Stdout, "no ") || strings.Contains(res.Stderr, "no ") {
		t.Fatalf("%s: the node and the default devices must be there and usable", res)
	}

	major, minor := int64(1), int64(11)
	editBundle(t, b, func(s *specs.Spec) {
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "w"})
	})
	if res := runContainer(t, r, b); res.Code != 0 || res.Stdout != "" {
		t.Fatalf("with an allow rule for 1:11: %s", res)
	}
}

// renameLoop renames a file back and forth in a directory of its own until
// stop is closed, the host activity that makes the kernel fail a scoped
// openat2 crossing ".." with EAGAIN; it returns the number of renames.
func renameLoop(t *testing.T, stop <-chan struct{}) <-chan int {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(a, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				done <- n
				return
			default:
			}
			if os.Rename(a, b) == nil && os.Rename(b, a) == nil {
				n += 2
			}
		}
	}()
	return done
}

// TestLookupsCrossingDotDotSurviveHostRenames: every lookup inside the
// rootfs is an openat2 with RESOLVE_IN_ROOT, which the kernel fails with
// EAGAIN when anything on the host renames or mounts while the lookup
// crosses "..". The runtime retries, so a busy host never makes create
// fail. The bundle's paths all cross "..": /var/run is a symlink to
// ../run, a tmpfs is mounted on /var/run/x, the cwd and a masked path
// (which may not spell ".." itself) lie below it.
func TestLookupsCrossingDotDotSurviveHostRenames(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, shell(`test "$(pwd)" = /run/x`), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/var/run/x", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=755"}})
		s.Process.Cwd = "/var/run/x/../x"
		s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/var/run/x/masked")
	})
	rootfs := filepath.Join(b, "rootfs")
	must(t, os.MkdirAll(filepath.Join(rootfs, "run"), 0o755))
	must(t, os.MkdirAll(filepath.Join(rootfs, "var"), 0o755))
	must(t, os.RemoveAll(filepath.Join(rootfs, "var", "run")))
	must(t, os.Symlink("../run", filepath.Join(rootfs, "var", "run")))

	stop := make(chan struct{})
	renames := renameLoop(t, stop)
	var failures []string
	for i := 0; i < 200; i++ {
		if res := runContainer(t, r, b); res.Code != 0 {
			failures = append(failures, res.String())
		}
	}
	close(stop)
	if n := <-renames; n == 0 {
		t.Fatal("the host rename loop never renamed anything")
	}
	if len(failures) > 0 {
		t.Fatalf("%d of 200 runs failed while the host renamed files, first: %s", len(failures), failures[0])
	}
}

// swapLoop exchanges the directory a and the symlink b (atomically, so
// that a is always either) until stop is closed, and returns the number
// of swaps.
func swapLoop(t *testing.T, a, b string, stop <-chan struct{}) <-chan int {
	done := make(chan int, 1)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				done <- n
				return
			default:
			}
			err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
			if errors.Is(err, unix.EBUSY) {
				// A container without a mount namespace has its rootfs
				// bind on a (moves refuse a mount point) right now.
				continue
			}
			if err != nil {
				t.Errorf("swap %s and %s: %v", a, b, err)
				done <- n
				return
			}
			n++
		}
	}()
	return done
}

// TestRootfsSymlinkSwapNeverRedirects: the bundle's author swaps the rootfs
// directory with a symlink to a decoy rootfs elsewhere on the host while
// containers are created from the bundle. create resolves root.path once,
// refusing symlinks, and uses that descriptor afterwards (with a mount
// namespace of the container's own and without one), so a run either
// fails or runs in the real rootfs: never in the decoy, and nothing is
// ever mounted there. Without a mount namespace the rootfs bind may end up
// under the swapped name: delete must find it there all the same and
// leave no mount anywhere in the bundle.
func TestRootfsSymlinkSwapNeverRedirects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits []func(*specs.Spec)
	}{
		{"own mount namespace", nil},
		{"no mount namespace", []func(*specs.Spec){withoutMountNamespace}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRuntime(t)
			b := newHostMountBundle(t, append(tc.edits, shell(`cat /which`))...)
			if tc.edits == nil {
				editBundle(t, b, func(s *specs.Spec) {
					s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.MountNamespace})
				})
			}
			rootfs := filepath.Join(b, "rootfs")
			decoy := filepath.Join(t.TempDir(), "decoy")
			if out, err := exec.Command("cp", "-a", rootfs, decoy).CombinedOutput(); err != nil {
				t.Fatalf("copy rootfs: %v\n%s", err, out)
			}
			must(t, os.WriteFile(filepath.Join(rootfs, "which"), []byte("real\n"), 0o644))
			must(t, os.WriteFile(filepath.Join(decoy, "which"), []byte("decoy\n"), 0o644))
			link := filepath.Join(b, "swap")
			must(t, os.Symlink(decoy, link))

			stop := make(chan struct{})
			swaps := swapLoop(t, rootfs, link, stop)
			var ran int
			var decoyRuns []string
			for i := 0; i < 100; i++ {
				res := runContainer(t, r, b)
				if strings.Contains(res.Stdout, "decoy") {
					decoyRuns = append(decoyRuns, res.String())
				}
				if res.Code == 0 && res.Stdout == "real\n" {
					ran++
				}
			}
			close(stop)
			n := <-swaps
			if len(decoyRuns) > 0 {
				t.Errorf("%d of 100 containers ran in the decoy, first: %s", len(decoyRuns), decoyRuns[0])
			}
			if left := mountsUnder(t, decoy); len(left) > 0 {
				t.Errorf("mounts left in the decoy: %v", left)
			}
			if left := mountsUnder(t, b); len(left) > 0 {
				t.Errorf("mounts left in the bundle after delete: %v", left)
			}
			if n < 1000 {
				t.Errorf("only %d swaps during the runs, want at least 1000 for the race to mean anything", n)
			}
			if ran == 0 {
				t.Error("no run got through to the real rootfs: the race was never lost by the swapper")
			}
			t.Logf("%d swaps, %d of 100 runs in the real rootfs, the rest refused", n, ran)
		})
	}
}

// TestNoPivotNoFreshProcfs: with --no-pivot the host's tree stays in the
// container's mount namespace below its root, and with it the host's
// whole procfs and sysfs. The kernel lets a user namespace mount a fresh
// procfs or sysfs (which shows everything the masked paths hide) only
// where one is already fully visible in its mount namespace, so a
// container process that creates a user namespace could mount an
// unmasked one there. runc hides the host's procfs and sysfs mounts
// before the root switch; what that guarantees is asserted here: in user,
// mount, pid and net namespaces made inside the container (unshare -r
// needs CAP_SETUID, CAP_SETGID and CAP_SETFCAP to map root, which Docker
// grants by default), both mounts fail with EPERM, as with pivot_root.
// (A container with CAP_SYS_ADMIN in the host's user namespace may mount
// any procfs, with runc too: the kernel checks visibility only in other
// user namespaces, so that is not what runc or this test can promise.)
//
// The container itself runs in the host's user namespace and in one of
// its own (where the host's mounts are locked and can only be covered).
func TestNoPivotNoFreshProcfs(t *testing.T) {
	t.Run("host user namespace", func(t *testing.T) { testNoFreshProcfs(t, newNoFreshProcfsBundle(t)) })
	t.Run("own user namespace", func(t *testing.T) {
		b := newNoFreshProcfsBundle(t, userNSSpec)
		openToUserNS(t, b)
		must(t, os.Chown(filepath.Join(b, "rootfs", "tmp"), 100000, 100000))
		testNoFreshProcfs(t, b)
	})
}

// newNoFreshProcfsBundle: the container tries both mounts in new user,
// mount, pid and net namespaces (procfs and sysfs need the latter two).
func newNoFreshProcfsBundle(t *testing.T, edits ...func(*specs.Spec)) string {
	return newBundle(t, append([]func(*specs.Spec){shell(`mkdir -p /tmp/p /tmp/s && unshare -Urmnpf sh -c 'mount -t proc proc /tmp/p && echo proc mounted; mount -t sysfs -o ro sysfs /tmp/s && echo sysfs mounted; true'`),
		func(s *specs.Spec) {
			s.Root.Readonly = false
			c := s.Process.Capabilities
			for _, set := range []*[]string{&c.Bounding, &c.Effective, &c.Permitted} {
				*set = append(*set, "CAP_SETUID", "CAP_SETGID", "CAP_SETFCAP")
			}
		}}, edits...)...)
}

func testNoFreshProcfs(t *testing.T, b string) {
	r := newRuntime(t)
	for _, flags := range [][]string{nil, {"--no-pivot"}} {
		res := runContainer(t, r, b, flags...)
		if res.Code != 0 {
			t.Fatalf("%v: %s", flags, res)
		}
		if strings.Contains(res.Stdout, "mounted") {
			t.Errorf("%v: %s: a user namespace in the container mounted a fresh procfs or sysfs", flags, res)
		}
		if strings.Count(res.Stderr, "permission denied") != 2 {
			t.Errorf("%v: %s: want both mounts refused", flags, res)
		}
	}
}
