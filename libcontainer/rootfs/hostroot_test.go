package rootfs

import (
	"reflect"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
)

func TestSubtreeDeepestFirst(t *testing.T) {
	const mountinfoText = `1 1 0:1 / / rw - ext4 /dev/vda rw
20 1 0:20 / /b rw shared:1 - ext4 /dev/vdb rw
30 20 0:20 /b/rootfs /b/rootfs rw - ext4 /dev/vdb rw
31 30 0:31 / /b/rootfs/proc rw - proc proc rw
32 30 0:32 / /b/rootfs/dev rw - tmpfs tmpfs rw
33 32 0:33 / /b/rootfs/dev/pts rw - devpts devpts rw
34 33 0:34 / /b/rootfs/dev/pts rw - tmpfs tmpfs rw
40 20 0:40 / /b/rootfs/pre rw - tmpfs tmpfs rw
41 1 0:41 / /b/rootfs\040x rw - tmpfs tmpfs rw
`
	entries, err := mountinfo.GetMountsFromReader(strings.NewReader(mountinfoText), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := entries[8].Mountpoint; got != "/b/rootfs x" {
		t.Fatalf("escaped mount point read as %q", got)
	}
	var ids []int
	for _, e := range subtreeDeepestFirst(entries, 30, "/b/rootfs") {
		ids = append(ids, e.ID)
	}
	// 40 is below the rootfs path but under the host's mount, not under
	// the bind: it stays. 34 is stacked on 33 at the same path: first.
	want := []int{34, 33, 31, 32, 30}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("order %v, want %v", ids, want)
	}
	if got := subtreeDeepestFirst(entries, 30, "/b/other"); got != nil {
		t.Fatalf("a recorded ID at another path matched: %v", got)
	}
	if got := subtreeDeepestFirst(entries, 30, ""); len(got) != len(want) {
		t.Fatalf("the recorded ID looked up anywhere found %v", got)
	}
	if got := subtreeDeepestFirst(entries, 99, "/b/rootfs"); got != nil {
		t.Fatalf("an unknown ID matched: %v", got)
	}
}

func TestIsSelfBind(t *testing.T) {
	const mountinfoText = `1 0 8:1 / / rw - ext4 /dev/vda rw
20 1 8:2 /srv /data rw - ext4 /dev/vdb rw
30 20 8:2 /srv/c/rootfs /data/c/rootfs rw - ext4 /dev/vdb rw
40 1 0:40 / /tmp/decoy rw - tmpfs decoy rw
50 20 8:2 /srv/other /data/c2/rootfs rw - ext4 /dev/vdb rw
60 1 8:1 /tmp/x/rootfs /tmp/x/rootfs rw - ext4 /dev/vda rw
70 99 8:1 /y /y rw - ext4 /dev/vda rw
`
	entries, err := mountinfo.GetMountsFromReader(strings.NewReader(mountinfoText), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]bool{
		30: true,  // a directory of a bind, bound onto itself
		40: false, // another filesystem mounted at the path
		50: false, // another directory of the same filesystem bound there
		60: true,  // a directory of the root filesystem bound onto itself
		70: false, // no parent in the table
	}
	for _, e := range entries {
		if w, ok := want[e.ID]; ok && isSelfBind(entries, e) != w {
			t.Errorf("mount %d at %s: isSelfBind %t, want %t", e.ID, e.Mountpoint, !w, w)
		}
	}
}
