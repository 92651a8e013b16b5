package rootfs

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// inPrivateMountNS runs f on a thread of its own in a new mount namespace,
// which stands in for the host's: nothing it mounts is seen outside. The
// thread is never handed back to the Go scheduler.
func inPrivateMountNS(t *testing.T, f func() error) {
	t.Helper()
	requireRoot(t)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS); err != nil {
			errc <- err
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func mountPointsUnder(t *testing.T, dir string) []string {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		t.Error(err)
		return nil
	}
	var under []string
	for _, m := range mounts {
		under = append(under, m.Mountpoint)
	}
	return under
}

// TestHostRootfsBindAndUnmount: a rootfs with a host mount below it is
// refused; the bind is private (a mount below it does not reach the peer
// of the shared mount that holds the rootfs); the cleanup leaves nothing
// of ours, on our side or the peer's.
func TestHostRootfsBindAndUnmount(t *testing.T) {
	base := t.TempDir()
	inPrivateMountNS(t, func() error {
		shared, peer := filepath.Join(base, "shared"), filepath.Join(base, "peer")
		for _, d := range []string{shared, peer} {
			if err := os.Mkdir(d, 0o755); err != nil {
				return err
			}
		}
		if err := unix.Mount("tmpfs", shared, "tmpfs", 0, ""); err != nil {
			return err
		}
		if err := unix.Mount("", shared, "", unix.MS_SHARED, ""); err != nil {
			return err
		}
		if err := unix.Mount(shared, peer, "", unix.MS_BIND, ""); err != nil {
			return err
		}
		rootfs := filepath.Join(shared, "rootfs")
		for _, d := range []string{"pre", "proc", "dev"} {
			if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
				return err
			}
		}
		if err := unix.Mount("tmpfs", filepath.Join(rootfs, "pre"), "tmpfs", 0, ""); err != nil {
			return err
		}
		handle, err := OpenRoot(rootfs)
		if err != nil {
			return err
		}
		defer handle.Close()
		_, err = BindHostRootfs(rootfs, handle, func(HostRootMount) error { return nil })
		if err == nil || !strings.Contains(err.Error(), rootfs+"/pre") {
			t.Errorf("bind over a rootfs with a host mount below it: err = %v, want it refused naming %s/pre", err, rootfs)
		}
		if err := unix.Unmount(filepath.Join(rootfs, "pre"), 0); err != nil {
			return err
		}
		before := mountPointsUnder(t, base)

		var recorded HostRootMount
		root, err := BindHostRootfs(rootfs, handle, func(id HostRootMount) error { recorded = id; return nil })
		if err != nil {
			return err
		}
		defer root.Close()
		for _, d := range []string{"proc", "dev"} {
			target, err := openInRoot(root, d, unix.O_PATH, 0)
			if err != nil {
				return err
			}
			fsType := map[string]string{"proc": "proc", "dev": "tmpfs"}[d]
			mnt, err := newFilesystem(&Config{}, fsType, fsType, mountOptions{})
			if err == nil {
				err = attachMount(mnt, target)
				mnt.Close()
			}
			target.Close()
			if err != nil {
				return err
			}
		}
		during := mountPointsUnder(t, base)
		for _, want := range []string{rootfs, rootfs + "/proc", rootfs + "/dev", peer + "/rootfs"} {
			if !contains(during, want) {
				t.Errorf("after setup, no mount at %s: %v", want, during)
			}
		}
		if contains(during, peer+"/rootfs/proc") {
			t.Errorf("a mount below the bind propagated to the shared parent's peer: %v", during)
		}

		if err := UnmountHostRootfs(rootfs, recorded); err != nil {
			return err
		}
		if after := mountPointsUnder(t, base); strings.Join(after, " ") != strings.Join(before, " ") {
			t.Errorf("mounts after the cleanup %v, before the bind %v", after, before)
		}
		// Gone already: a second cleanup finds nothing and is no error.
		return UnmountHostRootfs(rootfs, recorded)
	})
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
