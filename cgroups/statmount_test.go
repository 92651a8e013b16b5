package cgroups

import (
	"encoding/binary"
	"maps"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// On a host with v1 hierarchies under /sys/fs/cgroup and a kernel that
// lists mounts, the hierarchies come from statmount(2), and they are the
// ones the whole mount table names.
func TestCgroupRootHierarchiesMatchMountinfo(t *testing.T) {
	mode, err := HostMode()
	if err != nil {
		t.Fatal(err)
	}
	if mode == ModeUnified {
		t.Skip("no v1 hierarchies on this host: the VM's legacy run covers them")
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	want, err := parseV1Mounts(cgroupLines(data))
	if err != nil {
		t.Fatal(err)
	}
	own, err := ownV1Cgroups()
	if err != nil {
		t.Fatal(err)
	}
	got, ok := cgroupRootHierarchies(own)
	if !ok {
		if statmountSupported() {
			t.Fatal("the kernel lists mounts, but the hierarchies under /sys/fs/cgroup were not found through it")
		}
		t.Skip("this kernel has no statmount(2) with mount options: mountinfo is read, as TestParseV1Mounts covers")
	}
	if !maps.Equal(got, want) {
		t.Errorf("statmount found\n%v\nmountinfo names\n%v", got, want)
	}
	// A hierarchy the caller is in but that is not under /sys/fs/cgroup
	// sends the lookup to the whole mount table.
	own["net_cls"] = "/"
	delete(got, "net_cls")
	if coversOwn(got, own) {
		t.Error("a missing hierarchy of the caller's was not noticed")
	}
}

// statmountSupported tells whether statmount(2) answers with a mount's
// options here (Linux 6.10 and later).
func statmountSupported() bool {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, "/", 0, unix.STATX_MNT_ID_UNIQUE, &stx); err != nil || stx.Mask&unix.STATX_MNT_ID_UNIQUE == 0 {
		return false
	}
	buf := make([]byte, 4096)
	_, ok := statCgroupMount(stx.Mnt_id, buf)
	return ok && binary.NativeEndian.Uint64(buf[smOffMask:])&statmountMntOpts != 0
}

func TestDecodeStatmount(t *testing.T) {
	ne := binary.NativeEndian
	build := func(magic uint64, mask uint64, strs ...string) []byte {
		buf := make([]byte, 1024)
		offs := []int{smOffMntOpts, smOffMntRoot, smOffMntPoint}
		pos := 0
		for i, s := range strs {
			ne.PutUint32(buf[offs[i]:], uint32(pos))
			copy(buf[smHeaderSize+pos:], s)
			pos += len(s) + 1
		}
		ne.PutUint32(buf[smOffSize:], uint32(smHeaderSize+pos))
		ne.PutUint64(buf[smOffMask:], mask)
		ne.PutUint64(buf[smOffSBMagic:], magic)
		return buf
	}
	all := uint64(statmountSBBasic | statmountMntRoot | statmountMntPoint | statmountMntOpts)
	m, ok := decodeStatmount(build(unix.CGROUP_SUPER_MAGIC, all, "cpu,cpuacct", "/", "/sys/fs/cgroup/cpu,cpuacct"))
	if want := (cgroupMount{fsType: "cgroup", superOptions: "cpu,cpuacct", root: "/", mountpoint: "/sys/fs/cgroup/cpu,cpuacct"}); !ok || m != want {
		t.Errorf("v1 mount: %+v %v, want %+v", m, ok, want)
	}
	m, ok = decodeStatmount(build(unix.CGROUP2_SUPER_MAGIC, all&^statmountMntOpts, "", "/", "/sys/fs/cgroup/unified"))
	if want := (cgroupMount{fsType: "cgroup2", root: "/", mountpoint: "/sys/fs/cgroup/unified"}); !ok || m != want {
		t.Errorf("cgroup2 mount: %+v %v, want %+v", m, ok, want)
	}
	if m, ok := decodeStatmount(build(unix.TMPFS_MAGIC, all, "", "/", "/sys/fs/cgroup/x")); !ok || m.fsType != "" {
		t.Errorf("tmpfs: %+v %v, want it passed over", m, ok)
	}
	// A kernel without mount options in statmount cannot name a v1
	// mount's controllers.
	if _, ok := decodeStatmount(build(unix.CGROUP_SUPER_MAGIC, all&^statmountMntOpts, "", "/", "/sys/fs/cgroup/memory")); ok {
		t.Error("a v1 mount without its options was taken")
	}
	truncated := build(unix.CGROUP_SUPER_MAGIC, all, "memory", "/", "/sys/fs/cgroup/memory")
	ne.PutUint32(truncated[smOffSize:], smHeaderSize+3)
	if _, ok := decodeStatmount(truncated); ok {
		t.Error("strings past the answer's size were read")
	}
}
