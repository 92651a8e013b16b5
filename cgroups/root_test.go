package cgroups

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRelativeToRoot(t *testing.T) {
	for _, c := range []struct {
		path, rel string
		ok        bool
	}{
		{"/sys/fs/cgroup/memory/c", "memory/c", true},
		{"/sys/fs/cgroup/c", "c", true},
		{"/sys/fs/cgroup", "", false},
		{"/sys/fs/cgroup/", "", false},
		{"/sys/fs/cgroupx/c", "", false},
		{"/sys/fs/cgroup/../x", "", false},
		{"/sys/fs/cgroup/a/..", "", false},
		{"/sys/fs/cgroup/a/../b", "", false},
		{"/sys/fs/cgroup/a..b/c", "a..b/c", true},
		{"relative/c", "", false},
		{"/sys/fs/cgroup//c", "", false},
		{"/sys/fs/cgroup/./c", "", false},
		{"/sys/fs/cgroup/c/", "", false},
	} {
		if rel, ok := RelativeToRoot(c.path); rel != c.rel || ok != c.ok {
			t.Errorf("RelativeToRoot(%q) = %q, %v; want %q, %v", c.path, rel, ok, c.rel, c.ok)
		}
	}
}

// A path below the root is reached from the root, opened once; any other
// path as it is.
func TestAtStartsBelowTheRootFromItsFd(t *testing.T) {
	if _, err := os.Stat(Root); err != nil {
		t.Skipf("no %s: %v", Root, err)
	}
	fd, name := At(Root + "/memory/c")
	if fd == unix.AT_FDCWD || name != "memory/c" {
		t.Fatalf("At = %d, %q; want the root's fd and memory/c", fd, name)
	}
	if target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err != nil || target != Root {
		t.Fatalf("At's fd is %q (%v), want %s", target, err, Root)
	}
	if again, _ := At(Root + "/pids/c"); again != fd {
		t.Errorf("a second call opened the root again: fd %d, then %d", fd, again)
	}
	if fd, name := At("/proc/self/cgroup"); fd != unix.AT_FDCWD || name != "/proc/self/cgroup" {
		t.Errorf("At(/proc/self/cgroup) = %d, %q; want AT_FDCWD and the path", fd, name)
	}
}
