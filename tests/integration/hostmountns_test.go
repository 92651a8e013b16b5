package integration

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Containers whose config has no mount namespace (conformance program
// linux_ns_itype): they share the runtime's mount namespace, their mounts are
// made under the bundle's rootfs where the host sees them, and delete takes
// them all down again.

// withoutMountNamespace drops the mount namespace and what only a mount
// namespace of the container's own can do (refused otherwise).
func withoutMountNamespace(s *specs.Spec) {
	var kept []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != specs.MountNamespace {
			kept = append(kept, ns)
		}
	}
	s.Linux.Namespaces = kept
	s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
	s.Root.Readonly = false
}

// newHostMountBundle is newBundle without a mount namespace. Should the
// runtime leak mounts under the bundle (the tests below fail then), they
// are detached before the bundle is removed, deepest first.
func newHostMountBundle(t *testing.T, edits ...func(*specs.Spec)) string {
	t.Helper()
	b := newBundle(t, append([]func(*specs.Spec){withoutMountNamespace}, edits...)...)
	t.Cleanup(func() {
		left := mountsUnder(t, b)
		sort.Slice(left, func(i, j int) bool { return len(left[i]) > len(left[j]) })
		for _, m := range left {
			if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
				t.Errorf("cleanup: unmount %s: %v", m, err)
			}
		}
	})
	return b
}

// mountsUnder lists the test's (the host's) mount points at or below dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	var under []string
	for p := range hostMountPoints(t) {
		if underAny(p, dir) {
			under = append(under, p)
		}
	}
	return under
}

// propagationOf returns the optional fields (shared:N, master:N...) of
// the topmost mount at mountPoint in the host's mountinfo.
func propagationOf(t *testing.T, mountPoint string) string {
	t.Helper()
	var fields string
	for _, line := range strings.Split(readFile(t, "/proc/self/mountinfo"), "\n") {
		before, _, _ := strings.Cut(line, " - ")
		if f := strings.Fields(before); len(f) > 5 && f[4] == mountPoint {
			fields = strings.Join(f[6:], " ")
		}
	}
	return fields
}

// TestNoMountNamespaceLifecycle: from inside, the process is in the host's
// mount namespace, "/" is the bundle's rootfs, /proc is its own pid
// namespace's; an exec'd process is chrooted the same way. From the host,
// the container's mounts are below the rootfs while it runs, the
// propagation of "/" is unchanged, and after `delete --force` of the
// running container no mount is left under the bundle.
func TestNoMountNamespaceLifecycle(t *testing.T) {
	hostMnt, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	rootPropagation := propagationOf(t, "/")
	b := newHostMountBundle(t,
		shell(`readlink /proc/self/ns/mnt; cat /marker; echo "pid $$"; cat /proc/1/comm; echo ready; exec sleep 100`))
	if err := os.WriteFile(filepath.Join(b, "rootfs", "marker"), []byte("rootfs of "+b+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newRuntime(t)
	c := r.Create(b)
	r.Must("start", c.ID)
	waitFor(t, 10*time.Second, "the container's output", func() bool { return strings.Contains(c.ReadOutput(t), "ready") })

	want := hostMnt + "\nrootfs of " + b + "\npid 1\nsh\nready\n"
	if got := c.ReadOutput(t); got != want {
		t.Errorf("container output %q, want %q (host mount ns, the bundle's rootfs, its own pid namespace's /proc)", got, want)
	}
	rootfs := filepath.Join(b, "rootfs")
	during := mountsUnder(t, b)
	for _, p := range []string{rootfs, rootfs + "/proc", rootfs + "/dev", rootfs + "/dev/pts", rootfs + "/sys"} {
		if !contains(during, p) {
			t.Errorf("no host mount at %s while the container runs: %v", p, during)
		}
	}
	if got := propagationOf(t, "/"); got != rootPropagation {
		t.Errorf("propagation of the host's / changed from %q to %q", rootPropagation, got)
	}

	out := r.Must("exec", c.ID, "sh", "-c", "readlink /proc/self/ns/mnt; cat /marker; pwd")
	if want := hostMnt + "\nrootfs of " + b + "\n/\n"; out != want {
		t.Errorf("exec output %q, want %q (chrooted into the container's root)", out, want)
	}

	r.Must("delete", "--force", c.ID)
	if left := mountsUnder(t, b); len(left) > 0 {
		t.Errorf("mounts left under the bundle after delete --force: %v", left)
	}
}

// TestNoMountNamespaceDeleteStopped: plain delete of a container whose
// process has exited unmounts everything too.
func TestNoMountNamespaceDeleteStopped(t *testing.T) {
	b := newHostMountBundle(t, withArgs("true"))
	r := newRuntime(t)
	c := r.Create(b)
	if len(mountsUnder(t, b)) == 0 {
		t.Fatal("created container has no mount under its bundle")
	}
	r.Must("start", c.ID)
	if ws := c.Wait(t, 10*time.Second); ws.ExitStatus() != 0 {
		t.Fatalf("container exited with %v", ws)
	}
	r.Must("delete", c.ID)
	if left := mountsUnder(t, b); len(left) > 0 {
		t.Errorf("mounts left under the bundle after delete: %v", left)
	}
}

// TestNoMountNamespaceFailedCreate: a create that fails after some mounts
// were made (a bind source that does not exist, after /proc, /dev, /sys)
// leaves no mount and no container; settings that need a mount namespace
// of the container's own are refused before anything is mounted.
func TestNoMountNamespaceFailedCreate(t *testing.T) {
	r := newRuntime(t)
	for _, tc := range []struct {
		name    string
		edit    func(*specs.Spec)
		mention string
	}{
		{"missing bind source", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/nonexistent-oci-rt-source", Options: []string{"bind"}})
		}, "/nonexistent-oci-rt-source"},
		{"masked paths", func(s *specs.Spec) { s.Linux.MaskedPaths = []string{"/proc/kcore"} }, "linux.maskedPaths"},
		{"read-only root", func(s *specs.Spec) { s.Root.Readonly = true }, "root.readonly"},
		{"rootfs propagation", func(s *specs.Spec) { s.Linux.RootfsPropagation = "rprivate" }, "linux.rootfsPropagation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newHostMountBundle(t, withArgs("true"), tc.edit)
			res := r.Run("create", "--bundle", b, newID(t))
			if res.Code == 0 || !strings.Contains(res.Stderr, tc.mention) {
				t.Errorf("%s: want a failure naming %q", res, tc.mention)
			}
			if left := mountsUnder(t, b); len(left) > 0 {
				t.Errorf("mounts left under the bundle after the failed create: %v", left)
			}
			if entries, _ := os.ReadDir(r.Root); len(entries) > 0 {
				t.Errorf("state left behind: %v", entries)
			}
		})
	}
}

// TestNoMountNamespaceKilledCreate: a create killed after
// the rootfs bind exists (init spawned, or set up and waiting) leaves the
// bind and the init's mounts recorded well enough for delete --force to
// take them all down.
func TestNoMountNamespaceKilledCreate(t *testing.T) {
	for _, point := range []string{"spawned", "ready"} {
		t.Run(point, func(t *testing.T) {
			r := newRuntime(t)
			b := newHostMountBundle(t, withArgs("true"))
			id := newID(t)
			cmd := r.createStoppedAt(b, id, point)
			if len(mountsUnder(t, b)) == 0 {
				t.Errorf("at %s no mount under the bundle yet", point)
			}
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			r.Must("delete", "--force", id)
			if left := mountsUnder(t, b); len(left) > 0 {
				t.Errorf("mounts left under the bundle after delete --force of the killed create: %v", left)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
