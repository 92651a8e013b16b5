package rootfs

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// copyUp fills a new, still detached tmpfs with what the image has at the
// mount's destination (the tmpcopyup option): Podman's --read-only puts
// tmpfs on /tmp, /var/tmp and /run and expects the image's files to still be
// there. The tmpfs root takes the mode of the directory it covers, as runc
// gives it. The image is the container's, so the walk follows no symlink and
// never leaves the directory it started from: every step is an *at call on
// an fd with O_NOFOLLOW.
func copyUp(target, mnt *os.File) error {
	src, err := unix.Openat(int(target.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tmpcopyup: open the covered directory: %w", err)
	}
	defer unix.Close(src)
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return fmt.Errorf("tmpcopyup: %w", err)
	}
	if err := copyDirContents(src, int(mnt.Fd()), "."); err != nil {
		return fmt.Errorf("tmpcopyup: %w", err)
	}
	if err := unix.Fchmodat(int(mnt.Fd()), ".", st.Mode&0o7777, 0); err != nil {
		return fmt.Errorf("tmpcopyup: chmod the new tmpfs: %w", err)
	}
	return nil
}

// copyDirContents copies every entry of the directory src into dst; where
// names the directory in errors.
func copyDirContents(src, dst int, where string) error {
	names, err := readDirNames(src, where)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := copyEntry(src, dst, name, where+"/"+name); err != nil {
			return err
		}
	}
	return nil
}

// readDirNames lists src through a duplicate fd, so that closing the listing
// leaves the caller's fd (and its offset, still at the start) alone.
func readDirNames(src int, where string) ([]string, error) {
	dup, err := unix.Openat(src, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", where, err)
	}
	dir := os.NewFile(uintptr(dup), where)
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", where, err)
	}
	return names, nil
}

func copyEntry(src, dst int, name, where string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(src, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat %s: %w", where, err)
	}
	var err error
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		err = copyDir(src, dst, name, where)
	case unix.S_IFREG:
		err = copyRegular(src, dst, name, st)
	case unix.S_IFLNK:
		err = copySymlink(src, dst, name)
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		err = unix.Mknodat(dst, name, st.Mode, int(st.Rdev))
	default:
		// A socket is only a name without its listener; there is nothing
		// to copy.
		return nil
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", where, err)
	}
	if err := copyMetadata(dst, name, st); err != nil {
		return fmt.Errorf("copy %s: %w", where, err)
	}
	return nil
}

func copyDir(src, dst int, name, where string) error {
	if err := unix.Mkdirat(dst, name, 0o700); err != nil {
		return err
	}
	from, err := unix.Openat(src, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(from)
	to, err := unix.Openat(dst, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(to)
	return copyDirContents(from, to, where)
}

func copyRegular(src, dst int, name string, st unix.Stat_t) error {
	fromFD, err := unix.Openat(src, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	from := os.NewFile(uintptr(fromFD), name)
	defer from.Close()
	var opened unix.Stat_t
	if err := unix.Fstat(fromFD, &opened); err != nil {
		return err
	}
	if opened.Ino != st.Ino || opened.Dev != st.Dev {
		return errors.New("replaced while being copied")
	}
	toFD, err := unix.Openat(dst, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	to := os.NewFile(uintptr(toFD), name)
	if _, err := io.Copy(to, from); err != nil {
		to.Close()
		return err
	}
	return to.Close()
}

func copySymlink(src, dst int, name string) error {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(src, name, buf)
	if err != nil {
		return err
	}
	return unix.Symlinkat(string(buf[:n]), dst, name)
}

// copyMetadata gives the copy the original's owner, mode and times; the
// mode comes after the owner because chown clears set-id bits.
func copyMetadata(dst int, name string, st unix.Stat_t) error {
	if err := unix.Fchownat(dst, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Fchmodat(dst, name, st.Mode&0o7777, 0); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	times := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(dst, name, times, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}
