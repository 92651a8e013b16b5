package rootfs

import (
	"reflect"
	"strings"
	"testing"
)

func TestSubtreeDeepestFirst(t *testing.T) {
	const mountinfo = `1 1 0:1 / / rw - ext4 /dev/vda rw
20 1 0:20 / /b rw shared:1 - ext4 /dev/vdb rw
30 20 0:20 /b/rootfs /b/rootfs rw - ext4 /dev/vdb rw
31 30 0:31 / /b/rootfs/proc rw - proc proc rw
32 30 0:32 / /b/rootfs/dev rw - tmpfs tmpfs rw
33 32 0:33 / /b/rootfs/dev/pts rw - devpts devpts rw
34 33 0:34 / /b/rootfs/dev/pts rw - tmpfs tmpfs rw
40 20 0:40 / /b/rootfs/pre rw - tmpfs tmpfs rw
41 1 0:41 / /b/rootfs\040x rw - tmpfs tmpfs rw
`
	entries, err := readMountTree(strings.NewReader(mountinfo))
	if err != nil {
		t.Fatal(err)
	}
	if got := entries[8].mountPoint; got != "/b/rootfs x" {
		t.Fatalf("escaped mount point read as %q", got)
	}
	var ids []uint64
	for _, e := range subtreeDeepestFirst(entries, 30, "/b/rootfs") {
		ids = append(ids, e.id)
	}
	// 40 is below the rootfs path but under the host's mount, not under
	// the bind: it stays. 34 is stacked on 33 at the same path: first.
	if want := []uint64{34, 33, 31, 32, 30}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("order %v, want %v", ids, want)
	}
	if got := subtreeDeepestFirst(entries, 30, "/b/other"); got != nil {
		t.Fatalf("a recorded ID at another path matched: %v", got)
	}
	if got := subtreeDeepestFirst(entries, 99, "/b/rootfs"); got != nil {
		t.Fatalf("an unknown ID matched: %v", got)
	}
}

func TestReadMountTreeMalformed(t *testing.T) {
	for _, text := range []string{"x 1 0:1 / / rw - ext4 a rw\n", "1 1 0:1\n"} {
		if _, err := readMountTree(strings.NewReader(text)); err == nil {
			t.Errorf("%q: no error", text)
		}
	}
}
