package rootfs

import (
	"errors"
	"fmt"
	"os"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/libcontainer/internal/openat2"
)

// hideHostKernelFilesystems takes the host's whole procfs and sysfs mounts
// out of the container's mount namespace before a --no-pivot root switch,
// which leaves the host's tree in that namespace, below the container's
// root. The kernel lets a user namespace mount a fresh procfs or sysfs,
// which shows everything the masked paths hide, only where the mount
// namespace already holds a whole one that nothing locked covers: with the
// host's left there, any process of the container could create a user
// namespace and mount an unmasked one. pivot_root detaches the host's tree
// and so these with it. Mounts of the container's own (below root) stay.
func hideHostKernelFilesystems(cfg *Config, root *os.File) error {
	rootMount, err := mountIdentity(int(root.Fd()))
	if err != nil {
		return err
	}
	nodes, err := mountinfo.GetMounts(nil)
	if err != nil {
		return err
	}
	for _, n := range hostKernelFilesystems(nodes, int(rootMount.ID)) {
		if err := hideMount(cfg, n); err != nil {
			return fmt.Errorf("hide the host's %s on %s before the root switch: %w", n.FSType, n.Mountpoint, err)
		}
	}
	return nil
}

// hostKernelFilesystems picks the whole procfs and sysfs mounts (their
// filesystem's root mounted) that are not the container's: not rootID or
// below it.
func hostKernelFilesystems(nodes []*mountinfo.Info, rootID int) []*mountinfo.Info {
	parentOf := make(map[int]int, len(nodes))
	for _, n := range nodes {
		parentOf[n.ID] = n.Parent
	}
	isContainers := func(id int) bool {
		for steps := 0; steps <= len(nodes); steps++ {
			if id == rootID {
				return true
			}
			parent, ok := parentOf[id]
			if !ok || parent == id {
				return false
			}
			id = parent
		}
		return false
	}
	var picked []*mountinfo.Info
	for _, n := range nodes {
		if (n.FSType == "proc" || n.FSType == "sysfs") && n.Root == "/" && !isContainers(n.ID) {
			picked = append(picked, n)
		}
	}
	return picked
}

// hideMount detaches the mount n, or, where the namespace locks it (a user
// namespace may not uncover what the host mounted), covers it with an
// empty read-only tmpfs, which makes it just as unusable to the kernel's
// check. The mount point is opened following no symlink and must be n:
// one already gone with a detached parent, or covered by another mount, is
// left.
func hideMount(cfg *Config, n *mountinfo.Info) error {
	fd, err := openat2.Open(unix.AT_FDCWD, n.Mountpoint, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "openat2", Path: n.Mountpoint, Err: err}
	}
	mnt := os.NewFile(uintptr(fd), n.Mountpoint)
	defer mnt.Close()
	got, err := mountIdentity(fd)
	if err != nil {
		return err
	}
	if got.ID != uint64(n.ID) {
		return nil
	}
	// The unmount must not propagate to the host's copy.
	if err := setMountAttr(mnt, unix.MountAttr{Propagation: unix.MS_SLAVE}, true); err != nil {
		return err
	}
	if err := unix.Fchdir(fd); err != nil {
		return err
	}
	err = unix.Unmount(".", unix.MNT_DETACH)
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EPERM) {
		return err
	}
	cover, err := newFilesystem(cfg, "tmpfs", "tmpfs", mountOptions{attrSet: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC})
	if err != nil {
		return err
	}
	defer cover.Close()
	return attachMount(cover, mnt)
}
