package proc

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/libcontainer/internal/openat2"
)

// ownProcfs, when set, is the procfs this process finds its own entries
// in. An exec'd process sets up outside the container's pid namespace,
// where a procfs it could mount itself would have to belong to the
// container's pid namespace (inside a user namespace the kernel allows
// no other), and that one does not show it. The runtime hands it its own
// procfs instead, opened where the container cannot reach.
var ownProcfs *os.File

// UseProcfs makes f, an O_PATH handle on a procfs of the pid namespace
// this process lives in, the one its /proc/thread-self entries are
// opened through.
func UseProcfs(f *os.File) error {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &fs); err != nil {
		return fmt.Errorf("procfs handle: %w", err)
	}
	if fs.Type != unix.PROC_SUPER_MAGIC {
		return errors.New("procfs handle: not a procfs")
	}
	ownProcfs = f
	return nil
}

// UsesOwnProcfs tells whether UseProcfs gave this process the procfs its
// own entries are opened through.
func UsesOwnProcfs() bool { return ownProcfs != nil }

// openThreadSelf opens /proc/thread-self/<subpath> with flags. Through
// ownProcfs the lookup may not leave that procfs mount nor follow a magic
// link, so nothing mounted or linked there can redirect it; otherwise
// through a private procfs handle, so a mount the container placed over
// /proc cannot redirect it (CVE-2025-52881). The caller must call the
// returned closer when done.
func openThreadSelf(subpath string, flags int) (*os.File, procfs.ProcThreadSelfCloser, error) {
	if ownProcfs != nil {
		f, err := openInOwnProcfs("thread-self/"+subpath, flags)
		return f, func() {}, err
	}
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return nil, nil, fmt.Errorf("open procfs: %w", err)
	}
	defer proc.Close()
	handle, closeThread, err := proc.OpenThreadSelf(subpath)
	if err != nil {
		return nil, nil, fmt.Errorf("open /proc/thread-self/%s: %w", subpath, err)
	}
	defer handle.Close()
	f, err := pathrs.Reopen(handle, flags)
	if err != nil {
		closeThread()
		return nil, nil, fmt.Errorf("open /proc/thread-self/%s: %w", subpath, err)
	}
	return f, closeThread, nil
}

// Reopen opens the file an O_PATH handle refers to with flags, through
// /proc/thread-self/fd: that of the procfs given to UseProcfs if any (an
// init outside the pid namespace the container's /proc shows, which in a
// joined user namespace may mount no procfs of its own).
func Reopen(handle *os.File, flags int) (*os.File, error) {
	if ownProcfs == nil {
		return pathrs.Reopen(handle, flags)
	}
	// The fd entry is a magic link, which the checked lookup would not
	// follow: only its directory is looked up that way.
	dir, err := openInOwnProcfs("thread-self/fd", unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	fd, err := unix.Openat(int(dir.Fd()), strconv.Itoa(int(handle.Fd())), flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "reopen", Path: handle.Name(), Err: err}
	}
	return os.NewFile(uintptr(fd), handle.Name()), nil
}

func openInOwnProcfs(path string, flags int) (*os.File, error) {
	fd, err := openat2.Open(int(ownProcfs.Fd()), path, &unix.OpenHow{
		Flags:   uint64(flags) | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) {
		// The container's seccomp filter may already be in place (without
		// no_new_privs it goes in while we are still privileged), and
		// profiles written before openat2 refuse it. A plain openat is as
		// safe here: this procfs is a detached instance of our own, which
		// nothing else can mount over, and the paths looked up in it
		// cross no magic link.
		fd, err = unix.Openat(int(ownProcfs.Fd()), path, flags|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: "/proc/" + path, Err: err}
	}
	return os.NewFile(uintptr(fd), "/proc/"+path), nil
}
