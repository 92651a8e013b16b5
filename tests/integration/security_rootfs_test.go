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
// ../run, a tmpfs is mounted on /var/run/x, the cwd and a masked path lie
// below it.
func TestLookupsCrossingDotDotSurviveHostRenames(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, shell(`test "$(pwd)" = /run/x`), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/var/run/x", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=755"}})
		s.Process.Cwd = "/var/run/x/../x"
		s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/var/run/x/../x/masked")
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
// ever mounted there.
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
