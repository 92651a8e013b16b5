package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/libcontainer/internal/openat2"
)

// OpenRoot opens the container's rootfs once, for create to use through
// this handle only. path is the bundle loader's result, which names no
// symlink: following none now means that one swapped in since (the
// bundle's author racing create to pick another directory as the
// container's /) fails the create instead of redirecting it.
func OpenRoot(path string) (*os.File, error) {
	fd, err := openat2.Open(unix.AT_FDCWD, path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("rootfs %s: a symlink was put on its path while create resolved it", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open rootfs %s: %w", path, err)
	}
	root := os.NewFile(uintptr(fd), path)
	if err := refuseHostRoot(root); err != nil {
		root.Close()
		return nil, err
	}
	return root, nil
}

// refuseHostRoot: the host's own / as a container's root would hand the
// container the whole host.
func refuseHostRoot(root *os.File) error {
	var st, host unix.Stat_t
	if err := unix.Fstat(int(root.Fd()), &st); err != nil {
		return fmt.Errorf("stat rootfs %s: %w", root.Name(), err)
	}
	if err := unix.Stat("/", &host); err != nil {
		return fmt.Errorf("stat /: %w", err)
	}
	if st.Dev == host.Dev && st.Ino == host.Ino {
		return fmt.Errorf("rootfs %s is the host's /", root.Name())
	}
	return nil
}

// sameDirectory tells whether a and b are one directory (the same inode of
// the same filesystem), seen through any mount or namespace.
func sameDirectory(a, b *os.File) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Fstat(int(a.Fd()), &sa); err != nil {
		return false, err
	}
	if err := unix.Fstat(int(b.Fd()), &sb); err != nil {
		return false, err
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}

// locateRoot finds, in the init's new mount namespace, the rootfs the
// parent opened in the runtime's. The parent's handle cannot be mounted
// from here: the kernel clones no mount of another namespace, and a clone
// made by the parent would lack the locks a user namespace puts on the
// host's mounts (which keep the container from clearing their read-only
// or nosuid flags, or unmounting what covers a file). The namespace is a
// copy, so the same path, again following no symlink, reaches the same
// directory unless someone replaced it meanwhile, which the comparison
// with the parent's handle catches. The container is set up from this
// handle only.
func locateRoot(path string, validated *os.File) (*os.File, error) {
	fd, err := openat2.Open(unix.AT_FDCWD, path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, fmt.Errorf("open rootfs %s in the container's mount namespace: %w", path, err)
	}
	root := os.NewFile(uintptr(fd), path)
	same, err := sameDirectory(root, validated)
	if err == nil && !same {
		err = errors.New("it is no longer the directory create validated (replaced meanwhile)")
	}
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("rootfs %s: %w", path, err)
	}
	return root, nil
}
