package rootfs

import (
	"reflect"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
)

// TestHostKernelFilesystems: whole procfs and sysfs mounts of the host are
// picked; the container's own (below its root bind, 30), a procfs
// subdirectory bound elsewhere, and other filesystem types are not.
func TestHostKernelFilesystems(t *testing.T) {
	const mountinfoText = `1 1 0:1 / / rw - ext4 /dev/vda rw
21 1 0:20 / /proc rw,relatime - proc proc rw
22 1 0:21 / /sys rw,relatime shared:7 - sysfs sysfs rw
23 22 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw
24 21 0:23 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw
25 1 0:20 /sys /srv/procsys rw - proc proc rw
30 1 0:30 / /b/rootfs rw - ext4 /dev/vdb rw
31 30 0:31 / /b/rootfs/proc rw - proc proc rw
32 30 0:32 / /b/rootfs/sys ro - sysfs sysfs ro
33 31 0:33 / /b/rootfs/proc/acpi ro - tmpfs tmpfs ro
`
	nodes, err := mountinfo.GetMountsFromReader(strings.NewReader(mountinfoText), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, n := range hostKernelFilesystems(nodes, 30) {
		ids = append(ids, n.ID)
	}
	if want := []int{21, 22}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("picked %v, want %v", ids, want)
	}
}
