package rootfs

import (
	"os"

	"golang.org/x/sys/unix"
)

// mountRootOf returns a handle on the root of the mount dir lies in, and
// that mount's ID, going up by ".." from dir while the mount stays the
// same: ".." from a mount's root leads into the mount above, and from the
// process's root to itself. Nothing is resolved by name from / .
func mountRootOf(dir *os.File) (*os.File, uint64, error) {
	id, ino, err := mountAndInode(int(dir.Fd()))
	if err != nil {
		return nil, 0, err
	}
	cur, err := reopenPath(dir)
	if err != nil {
		return nil, 0, err
	}
	for {
		fd, err := unix.Openat(int(cur.Fd()), "..", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			cur.Close()
			return nil, 0, &os.PathError{Op: "openat", Path: cur.Name() + "/..", Err: err}
		}
		parentID, parentIno, err := mountAndInode(fd)
		if err != nil || parentID != id || parentIno == ino {
			unix.Close(fd)
			if err != nil {
				cur.Close()
				return nil, 0, err
			}
			return cur, id, nil
		}
		cur.Close()
		cur, ino = os.NewFile(uintptr(fd), cur.Name()+"/.."), parentIno
	}
}

// reopenPath gives an O_PATH handle of its own on the directory dir
// refers to, which the caller may close independently of dir.
func reopenPath(dir *os.File) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: dir.Name(), Err: err}
	}
	return os.NewFile(uintptr(fd), dir.Name()), nil
}

// mountAndInode: the mount a handle lies in, and its inode there (the
// root of the process's / is its own parent).
func mountAndInode(fd int) (mountID, ino uint64, err error) {
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID|unix.STATX_INO, &stx); err != nil {
		return 0, 0, os.NewSyscallError("statx", err)
	}
	return stx.Mnt_id, stx.Ino, nil
}
