package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/internal/sysfile"
)

// The state store decides which processes `kill` signals, which cgroup
// `delete` empties and removes, which mounts it takes down and which hooks
// it runs. Whoever can write it commands the runtime, so it is used only
// when the caller alone can: every directory and file of it is opened
// without following a symlink at its last component and checked on that
// descriptor (the object checked is the object read) to be owned by the
// caller and writable by nobody else.

// errUntrusted marks a refusal: delete --force leaves such a state in
// place rather than lose track of a container that may still run.
var errUntrusted = errors.New("refusing to trust it")

// openTrusted opens name (relative to dirfd, or a path with unix.AT_FDCWD)
// without following a final symlink and returns it once checkTrusted
// accepts it. what names it in errors.
func openTrusted(dirfd int, name, what string, dir bool) (*os.File, error) {
	fd, err := openTrustedFd(dirfd, name, what, dir)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), what), nil
}

// openTrustedFd is openTrusted with a bare fd.
func openTrustedFd(dirfd int, name, what string, dir bool) (int, error) {
	flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	if dir {
		flags |= unix.O_DIRECTORY
	} else {
		// A fifo planted in place of a file must not block the open.
		flags |= unix.O_NONBLOCK
	}
	fd, err := unix.Openat(dirfd, name, flags, 0)
	// A save rewriting the file in place holds a lease that turns such
	// an open away until the file is whole again (see rewriteInPlace).
	for tries := 0; errors.Is(err, unix.EWOULDBLOCK) && tries < 100; tries++ {
		time.Sleep(time.Millisecond)
		fd, err = unix.Openat(dirfd, name, flags, 0)
	}
	if errors.Is(err, unix.ELOOP) || (dir && errors.Is(err, unix.ENOTDIR)) {
		return -1, fmt.Errorf("%s is a symlink or not a %s: %w", what, kindName(dir), errUntrusted)
	}
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: what, Err: err}
	}
	if err := checkTrusted(fd, what, dir); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// checkTrusted refuses an object that is of the wrong kind, owned by
// another user, or writable by group or others.
func checkTrusted(fd int, what string, dir bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "fstat", Path: what, Err: err}
	}
	want := uint32(unix.S_IFREG)
	if dir {
		want = unix.S_IFDIR
	}
	if st.Mode&unix.S_IFMT != want {
		return fmt.Errorf("%s is not a %s: %w", what, kindName(dir), errUntrusted)
	}
	if uid := os.Geteuid(); st.Uid != uint32(uid) {
		return fmt.Errorf("%s is owned by uid %d, not by the caller (uid %d): %w", what, st.Uid, uid, errUntrusted)
	}
	if st.Mode&0o022 != 0 {
		return fmt.Errorf("%s is writable by group or others (mode %04o): %w", what, st.Mode&0o7777, errUntrusted)
	}
	return nil
}

func kindName(dir bool) string {
	if dir {
		return "directory"
	}
	return "regular file"
}

// readTrusted reads name in the directory dir once it passes checkTrusted.
func readTrusted(dir *os.File, name, what string) ([]byte, error) {
	fd, err := openTrustedFd(int(dir.Fd()), name, what, false)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	data, err := sysfile.ReadFd(fd)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: what, Err: err}
	}
	return data, nil
}
