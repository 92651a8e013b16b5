package rootfs

import (
	"os"
	"runtime"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// TestMountRootOf: walking up from a directory by handle ends at the root
// of the mount it lies in, the directory mountinfo names as that mount's
// mount point.
func TestMountRootOf(t *testing.T) {
	// Other tests of the package move threads into mount namespaces of
	// their own: stay on one thread and read that thread's mountinfo.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, path := range []string{t.TempDir(), "/", "/proc/self"} {
		dir, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		root, id, err := mountRootOf(dir)
		dir.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var got unix.Stat_t
		err = unix.Fstat(int(root.Fd()), &got)
		root.Close()
		if err != nil {
			t.Fatal(err)
		}
		mountPoint := mountPointByID(t, id)
		var want unix.Stat_t
		if err := unix.Stat(mountPoint, &want); err != nil {
			t.Fatal(err)
		}
		if got.Dev != want.Dev || got.Ino != want.Ino {
			t.Errorf("%s: mount root found by handle is %d:%d, mountinfo's mount point %s of mount %d is %d:%d",
				path, got.Dev, got.Ino, mountPoint, id, want.Dev, want.Ino)
		}
	}
}

func mountPointByID(t *testing.T, id uint64) string {
	t.Helper()
	f, err := os.Open("/proc/thread-self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found, err := mountinfo.GetMountsFromReader(f, func(m *mountinfo.Info) (skip, stop bool) {
		match := uint64(m.ID) == id
		return !match, match
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) == 0 {
		t.Fatalf("mount %d not in mountinfo", id)
	}
	return found[0].Mountpoint
}
