package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/libcontainer/internal/openat2"
)

// A container that shares the runtime's mount namespace (no mount
// namespace in its config) has its rootfs set up where the host sees it.
// Everything oci-rt mounts for it then hangs below one mount: a bind of
// the rootfs onto itself that the runtime makes (BindHostRootfs)
// before the init runs, records in the container's state, and makes
// private, so that nothing mounted below it propagates anywhere else.
// UnmountHostRootfs takes that one subtree down again at delete.

// HostRootMount identifies the rootfs bind of such a container. ID is the
// mount ID of /proc/self/mountinfo (the kernel reuses those); UniqueID is
// the never-reused 64-bit ID (STATX_MNT_ID_UNIQUE, Linux 6.8), 0 where the
// kernel has none.
type HostRootMount struct {
	ID       uint64 `json:"id"`
	UniqueID uint64 `json:"uniqueId,omitempty"`
}

// BindHostRootfs binds rootfs onto itself in the runtime's mount
// namespace, the way the container's root is prepared without a mount
// namespace. record is called with the bind's identity before it is
// attached, so that a runtime killed at any later point has left behind
// what delete needs to find it. root is the rootfs as create opened it
// once: the bind is cloned from it and attached onto it, so no name is
// resolved again. The returned handle is the root of the attached bind:
// Setup mounts below it and chroots into it.
//
// The propagation of the host's "/" and of the mount holding the rootfs is
// left alone (runc makes "/" rslave and the parent private, in the host's
// namespace). If that parent is shared, the bind itself propagates to its
// peers, as any mount there would; our own copy is made private at once,
// before anything is mounted below it, and its unmount at delete
// propagates to those copies the same way.
func BindHostRootfs(rootfs string, root *os.File, record func(HostRootMount) error) (*os.File, error) {
	if err := refuseMountsBelow(rootfs); err != nil {
		return nil, err
	}
	// Not recursive: the kernel propagates the bind to the peers of a
	// shared parent, and it undoes such a copy at our unmount only while
	// the copy has no mounts below it.
	mnt, err := cloneTree(int(root.Fd()), "", false)
	if err != nil {
		return nil, fmt.Errorf("bind rootfs %s: %w", rootfs, err)
	}
	id, err := mountIdentity(int(mnt.Fd()))
	if err == nil {
		err = record(id)
	}
	if err == nil {
		err = attachMount(mnt, root)
	}
	if err == nil {
		err = setMountAttr(mnt, unix.MountAttr{Propagation: unix.MS_PRIVATE}, true)
	}
	if err != nil {
		mnt.Close()
		return nil, fmt.Errorf("bind rootfs %s onto itself: %w", rootfs, err)
	}
	return mnt, nil
}

// refuseMountsBelow: a mount the host has below the rootfs could only be
// carried into the container by a recursive bind, whose copies on the
// parent's peers the kernel would then leave behind at delete.
func refuseMountsBelow(rootfs string) error {
	below, err := mountinfo.GetMounts(func(m *mountinfo.Info) (skip, stop bool) {
		return !strings.HasPrefix(m.Mountpoint, rootfs+"/"), false
	})
	if err != nil {
		return err
	}
	if len(below) > 0 {
		return fmt.Errorf("rootfs %s has a mount below it on the host (%s): without a mount namespace of its own the container cannot have it", rootfs, below[0].Mountpoint)
	}
	return nil
}

func mountIdentity(fd int) (HostRootMount, error) {
	var id HostRootMount
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &stx); err != nil {
		return id, os.NewSyscallError("statx", err)
	}
	id.ID = stx.Mnt_id
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID_UNIQUE, &stx); err == nil && stx.Mask&unix.STATX_MNT_ID_UNIQUE != 0 {
		id.UniqueID = stx.Mnt_id
	}
	return id, nil
}

// subtreeDeepestFirst returns the mount with the given ID at mountPoint
// (anywhere, for "") and every mount below it, children before their
// parents (the root last), or nothing when no such mount exists (already
// unmounted).
func subtreeDeepestFirst(entries []*mountinfo.Info, rootID int, mountPoint string) []*mountinfo.Info {
	children := map[int][]*mountinfo.Info{}
	var root *mountinfo.Info
	for _, e := range entries {
		if e.ID == rootID && (mountPoint == "" || e.Mountpoint == mountPoint) {
			root = e
		} else if e.ID != e.Parent {
			children[e.Parent] = append(children[e.Parent], e)
		}
	}
	if root == nil {
		return nil
	}
	type leveled struct {
		*mountinfo.Info
		depth int
	}
	order := []leveled{{root, 0}}
	for i := 0; i < len(order); i++ {
		for _, c := range children[order[i].ID] {
			order = append(order, leveled{c, order[i].depth + 1})
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].depth > order[j].depth })
	out := make([]*mountinfo.Info, len(order))
	for i, l := range order {
		out[i] = l.Info
	}
	return out
}

// UnmountHostRootfs detaches the rootfs bind recorded at create and every
// mount below it, deepest first. Which mounts go is decided by the mount
// tree, not by path: only the recorded bind (found by its never-reused
// unique ID where the kernel has one, else by its ID at exactly the
// rootfs path) and its descendants, all of which the container's setup created or the
// container itself mounted inside its own root. A mount the host had below
// the rootfs before create is not among them: it sits under the bind, and
// only the bind's recursive copy of it is removed. Each mount is opened
// without following symlinks (the container may have planted some) and
// checked to be the expected mount before it is unmounted through that
// handle, so no path is resolved twice. MNT_DETACH: the container's
// processes are gone, but a hook or a stray fd may still hold a mount.
func UnmountHostRootfs(rootfs string, id HostRootMount) error {
	entries, err := mountinfo.GetMounts(nil)
	if err != nil {
		return fmt.Errorf("unmount rootfs %s: %w", rootfs, err)
	}
	// The bind stays on the directory create opened, but that directory
	// may carry another name by now: swapped with a symlink while create
	// ran, it is found at the symlink's old name. The never-reused ID,
	// where the kernel has one, finds the bind wherever it is (it is
	// checked again before the unmount); a reusable ID is trusted only at
	// the rootfs path.
	at := rootfs
	if id.UniqueID != 0 {
		at = ""
	}
	subtree := subtreeDeepestFirst(entries, int(id.ID), at)
	if len(subtree) > 0 && !isSelfBind(entries, subtree[len(subtree)-1]) {
		return fmt.Errorf("unmount rootfs %s: mount %d there is not a bind of the rootfs onto itself, left alone", rootfs, id.ID)
	}
	var errs []error
	for _, e := range subtree {
		isRoot := uint64(e.ID) == id.ID
		want := HostRootMount{ID: uint64(e.ID)}
		if isRoot {
			want = id
		}
		if err := unmountExact(e.Mountpoint, want, isRoot); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("unmount rootfs %s: %w", rootfs, err)
	}
	return nil
}

// isSelfBind tells whether m shows the very directory it is mounted on,
// as the rootfs bind does: the same device as the mount it covers, and the
// directory of that mount's device at m's mount point. A state that names
// any other mount at the rootfs path (a filesystem mounted there, a bind
// of something else) did not come from create.
func isSelfBind(entries []*mountinfo.Info, m *mountinfo.Info) bool {
	for _, p := range entries {
		if p.ID != m.Parent || p.ID == m.ID {
			continue
		}
		rel, err := filepath.Rel(p.Mountpoint, m.Mountpoint)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return false
		}
		return p.Major == m.Major && p.Minor == m.Minor && filepath.Join(p.Root, rel) == m.Root
	}
	return false
}

// unmountExact unmounts the mount at mountPoint if it is want. Below the
// root, another mount on top there (or none) is no error: the final detach
// of the rootfs bind takes the expected one along. For the root itself it
// is, as the bind could then not be reached.
func unmountExact(mountPoint string, want HostRootMount, isRoot bool) error {
	fd, err := openat2.Open(unix.AT_FDCWD, mountPoint, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOENT) {
		// A parent already went lazily, or the path was renamed away.
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "openat2", Path: mountPoint, Err: err}
	}
	defer unix.Close(fd)
	got, err := mountIdentity(fd)
	if err != nil {
		return err
	}
	// The never-reused ID, where the kernel has one, must match for the
	// rootfs bind; create recorded it.
	if got.ID != want.ID || ((isRoot || want.UniqueID != 0) && got.UniqueID != want.UniqueID) {
		if isRoot {
			return fmt.Errorf("%s: the mount on top is not the recorded rootfs bind, left alone", mountPoint)
		}
		return nil
	}
	if err := unix.Unmount("/proc/thread-self/fd/"+strconv.Itoa(fd), unix.MNT_DETACH); err != nil {
		return &os.PathError{Op: "umount", Path: mountPoint, Err: err}
	}
	return nil
}
