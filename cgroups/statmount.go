package cgroups

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/internal/sysfile"
)

// The v1 hierarchies are found in the kernel's mount table, and reading
// it through /proc/self/mountinfo makes the kernel render every mount of
// the namespace: on a node with a thousand mounts (each pod's volumes,
// secrets and overlays) that is about 1.5 ms of CPU in every runtime
// command, most of a `state` or `kill`. The hierarchies sit under
// /sys/fs/cgroup on every usual host, and listmount(2) and statmount(2)
// (Linux 6.8; a mount's options from 6.10) describe just those mounts.

// statmount(2) and listmount(2) take a struct mnt_id_req; its first
// published size is what both accept on every kernel that has them.
type mntIDReq struct {
	size  uint32
	_     uint32
	mntID uint64
	param uint64
}

const mntIDReqSizeVer0 = 24

// What statmount(2) is asked for (its mask bits) and where struct
// statmount keeps the answers: fixed fields at their offsets in the
// 512-byte header, strings as offsets into the area after it.
const (
	statmountSBBasic  = 0x1
	statmountMntRoot  = 0x8
	statmountMntPoint = 0x10
	statmountMntOpts  = 0x80

	smOffSize     = 0
	smOffMntOpts  = 4
	smOffMask     = 8
	smOffSBMagic  = 24
	smOffMntRoot  = 104
	smOffMntPoint = 108
	smHeaderSize  = 512
)

// maxCgroupRootMounts bounds the mounts listed under /sys/fs/cgroup: a
// host has about a dozen, and more than this is left to mountinfo.
const maxCgroupRootMounts = 64

// cgroupRootHierarchies finds the hierarchies mounted directly under
// /sys/fs/cgroup as parseV1Mounts finds them in mountinfo. ok is false
// when the kernel cannot tell (no listmount or statmount, or no mount
// options in its answers), when none is there, or when a hierarchy the
// caller is in (own, from /proc/self/cgroup) is not among them: one
// mounted elsewhere needs the whole mount table.
func cgroupRootHierarchies(own map[string]string) (hier map[string]Hierarchy, ok bool) {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, Root, unix.AT_STATX_SYNC_AS_STAT, unix.STATX_MNT_ID_UNIQUE, &stx); err != nil || stx.Mask&unix.STATX_MNT_ID_UNIQUE == 0 {
		return nil, false
	}
	ids, ok := listChildMounts(stx.Mnt_id)
	if !ok {
		return nil, false
	}
	var mounts []cgroupMount
	buf := make([]byte, 4096)
	for _, id := range ids {
		m, ok := statCgroupMount(id, buf)
		if !ok {
			return nil, false
		}
		if m.fsType != "" {
			mounts = append(mounts, m)
		}
	}
	hier = hierarchiesOf(mounts)
	if len(hier) == 0 || !coversOwn(hier, own) {
		return nil, false
	}
	return hier, true
}

// listChildMounts lists the mounts on top of mount id, in the order
// mountinfo shows them.
func listChildMounts(id uint64) ([]uint64, bool) {
	req := mntIDReq{size: mntIDReqSizeVer0, mntID: id}
	ids := make([]uint64, maxCgroupRootMounts)
	n, _, errno := unix.Syscall6(unix.SYS_LISTMOUNT, uintptr(unsafe.Pointer(&req)), uintptr(unsafe.Pointer(&ids[0])), uintptr(len(ids)), 0, 0, 0)
	if errno != 0 || int(n) >= len(ids) {
		return nil, false
	}
	return ids[:n], true
}

// statCgroupMount describes mount id when it is a cgroup or cgroup2
// mount; any other mount comes back with an empty fsType.
func statCgroupMount(id uint64, buf []byte) (cgroupMount, bool) {
	req := mntIDReq{size: mntIDReqSizeVer0, mntID: id, param: statmountSBBasic | statmountMntRoot | statmountMntPoint | statmountMntOpts}
	if _, _, errno := unix.Syscall6(unix.SYS_STATMOUNT, uintptr(unsafe.Pointer(&req)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0); errno != 0 {
		return cgroupMount{}, false
	}
	return decodeStatmount(buf)
}

// decodeStatmount reads a struct statmount for what parseV1Mounts needs.
func decodeStatmount(buf []byte) (cgroupMount, bool) {
	if len(buf) < smHeaderSize {
		return cgroupMount{}, false
	}
	ne := binary.NativeEndian
	size := int(ne.Uint32(buf[smOffSize:]))
	if size < smHeaderSize || size > len(buf) {
		return cgroupMount{}, false
	}
	buf = buf[:size]
	mask := ne.Uint64(buf[smOffMask:])
	if mask&(statmountSBBasic|statmountMntRoot|statmountMntPoint) != statmountSBBasic|statmountMntRoot|statmountMntPoint {
		return cgroupMount{}, false
	}
	str := func(off int) (string, bool) {
		start := smHeaderSize + int(ne.Uint32(buf[off:]))
		if start >= len(buf) {
			return "", false
		}
		end := bytes.IndexByte(buf[start:], 0)
		if end < 0 {
			return "", false
		}
		return string(buf[start : start+end]), true
	}
	var m cgroupMount
	switch ne.Uint64(buf[smOffSBMagic:]) {
	case unix.CGROUP_SUPER_MAGIC:
		// The controllers are among the mount's options: without them
		// the hierarchy is unknown.
		if mask&statmountMntOpts == 0 {
			return cgroupMount{}, false
		}
		opts, ok := str(smOffMntOpts)
		if !ok {
			return cgroupMount{}, false
		}
		m = cgroupMount{fsType: "cgroup", superOptions: opts}
	case unix.CGROUP2_SUPER_MAGIC:
		m = cgroupMount{fsType: "cgroup2"}
	default:
		return cgroupMount{}, true
	}
	var okRoot, okPoint bool
	m.root, okRoot = str(smOffMntRoot)
	m.mountpoint, okPoint = str(smOffMntPoint)
	return m, okRoot && okPoint
}

// coversOwn tells whether hier holds every v1 hierarchy of own (the
// caller's cgroups by controller) that a container joins.
func coversOwn(hier map[string]Hierarchy, own map[string]string) bool {
	for ctrl := range own {
		if !knownV1Controllers[ctrl] && !joinedNamed[ctrl] {
			continue
		}
		if _, ok := hier[ctrl]; !ok {
			return false
		}
	}
	return true
}

// readV1Hierarchies finds the hierarchies under /sys/fs/cgroup when the
// kernel can list them there, and in the whole mount table otherwise.
func readV1Hierarchies() (map[string]Hierarchy, error) {
	if own, err := ownV1Cgroups(); err == nil {
		if hier, ok := cgroupRootHierarchies(own); ok {
			return hier, nil
		}
	}
	data, err := sysfile.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	return parseV1Mounts(cgroupLines(data))
}
