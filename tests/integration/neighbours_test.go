package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// sharedNeighbour sets up, below a fresh directory, the mounts an engine
// keeps on a node: a directory bound onto itself and made shared (Docker's
// data root, a volume with rshared propagation), a peer of it inside a
// directory only host root may enter (an engine's private state), and a
// container rootfs below the shared mount that is itself a shared mount
// point with a peer of its own (a snapshot mounted at the rootfs). It
// returns the shared directory; everything is unmounted at cleanup.
func sharedNeighbour(t *testing.T) (shared string, rootfsMount func(bundle string)) {
	t.Helper()
	base := t.TempDir()
	noErr(t, os.Chmod(base, 0o755))
	for dir := filepath.Dir(base); dir != os.TempDir() && dir != "/"; dir = filepath.Dir(dir) {
		noErr(t, os.Chmod(dir, 0o755))
	}
	shared = filepath.Join(base, "engine")
	private := filepath.Join(base, "private")
	noErr(t, os.MkdirAll(shared, 0o755))
	noErr(t, os.MkdirAll(filepath.Join(private, "peer"), 0o700))
	noErr(t, os.Chmod(private, 0o700))
	var mounted []string
	t.Cleanup(func() {
		for i := len(mounted) - 1; i >= 0; i-- {
			if err := unix.Unmount(mounted[i], unix.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", mounted[i], err)
			}
		}
	})
	bind := func(src, dst string) {
		t.Helper()
		noErr(t, unix.Mount(src, dst, "", unix.MS_BIND, ""))
		mounted = append(mounted, dst)
	}
	bind(shared, shared)
	noErr(t, unix.Mount("", shared, "", unix.MS_SHARED, ""))
	bind(shared, filepath.Join(private, "peer"))
	return shared, func(bundle string) {
		t.Helper()
		rootfs := filepath.Join(bundle, "rootfs")
		bind(rootfs, rootfs)
		noErr(t, unix.Mount("", rootfs, "", unix.MS_SHARED, ""))
		peer := filepath.Join(private, "rootfs-peer")
		noErr(t, os.MkdirAll(peer, 0o700))
		bind(rootfs, peer)
	}
}

// bundleIn copies a user-namespace bundle into dir.
func bundleIn(t *testing.T, dir string, edits ...func(*specs.Spec)) string {
	t.Helper()
	src := userNSBundle(t, edits...)
	dst := filepath.Join(dir, filepath.Base(filepath.Dir(src)))
	noErr(t, os.MkdirAll(dst, 0o755))
	dst = filepath.Join(dst, "bundle")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("copy bundle: %v\n%s", err, out)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(dst)) })
	return dst
}

// TestUserNamespaceBesideSharedMounts: a container in a user namespace
// starts while another engine's shared mounts and their peer groups are on
// the host, with its bundle on such a mount, its rootfs a shared mount
// point, and every rootfsPropagation. The runtime makes the mount holding
// the rootfs private through the handle it holds, so it neither resolves
// a mount point by name (a walk the namespace's root may not be allowed)
// nor picks another mount listed under that name.
func TestUserNamespaceBesideSharedMounts(t *testing.T) {
	for _, rootfsIsMount := range []bool{false, true} {
		for _, propagation := range []string{"", "shared", "rshared", "private", "slave"} {
			name := "propagation=" + propagation
			if propagation == "" {
				name = "propagation=default"
			}
			if rootfsIsMount {
				name += "/rootfs-mount"
			}
			t.Run(name, func(t *testing.T) {
				shared, mountRootfs := sharedNeighbour(t)
				b := bundleIn(t, shared, shell("cat /proc/self/uid_map; id -u"), func(s *specs.Spec) {
					s.Linux.RootfsPropagation = propagation
				})
				if rootfsIsMount {
					mountRootfs(b)
				}
				out := mustRun(t, newRuntime(t), b)
				if fields := strings.Fields(out); len(fields) != 4 || fields[1] != "100000" || fields[3] != "0" {
					t.Errorf("container output %q, want the uid map 0 100000 65536 and uid 0", out)
				}
			})
		}
	}
}
