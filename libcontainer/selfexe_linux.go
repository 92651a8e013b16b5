package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// The container's init and every exec'd process start as our own binary,
// and until their execve a process in the container can reach that binary
// through /proc/<pid>/exe, /proc/<pid>/map_files or a reopened O_PATH
// handle. If it can write through any of them it replaces the runtime the
// host runs next (CVE-2019-5736). A read-only mount is not enough: a
// detached mount lives in an anonymous mount namespace whose flags anyone
// with CAP_SYS_ADMIN can change with mount_setattr, and fspick on the
// binary's own bind mount reconfigures the host filesystem underneath. So
// the file the child runs must sit where no capability can make it
// writable: on an overlay without an upper layer, whose superblock is
// read-only for good (overlay refuses to be reconfigured read-write
// without one), or, where the kernel cannot build that overlay, in a
// sealed memfd.

// openSealedSelf returns a read-only handle on our own binary that no
// process, whatever its capabilities, can make writable. base is a
// directory of the runtime's own (the state root) that the overlay stacks
// under the binary's directory (see openSelfOnOverlay).
func openSealedSelf(base string) (*os.File, error) {
	f, overlayErr := openSelfOnOverlay(base)
	if overlayErr == nil {
		debugf("the runtime binary runs from a read-only overlay")
		return f, nil
	}
	f, err := copySelfToSealedMemfd()
	if err != nil {
		return nil, fmt.Errorf("protect the runtime binary: %w (read-only overlay: %v)", err, overlayErr)
	}
	debugf("the runtime binary runs from a sealed memfd copy: the read-only overlay failed: %v", overlayErr)
	return f, nil
}

// openSelfOnOverlay opens our binary through a private overlay mount of
// its directory that has no upper layer. Such an overlay is read-only in
// its superblock, not just in its mount flags, and files mapped from it
// are backed by overlay's internal read-only clone of the lower mount,
// which mount_setattr and remount cannot reach. It costs a few syscalls
// and no copy.
//
// Without an upper layer overlay wants two lower ones, the binary's
// directory above a second that hides nothing of it; sameFile checks that
// what the overlay shows under the binary's name is the binary we run.
// The second is base, which every kernel with fsopen takes: older kernels
// (6.1 for one) refuse a layer outside the caller's mount namespace, such
// as a detached empty tmpfs, and those before 6.8 know no "lowerdir+".
// Overlay refuses layers of which one contains the other, after about a
// millisecond of CPU time, so where base lies within the binary's
// directory (or the other way round) a detached empty tmpfs is the second
// layer, on the kernels that take one.
func openSelfOnOverlay(base string) (*os.File, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(exe)
	base, err = filepath.Abs(base)
	if err != nil {
		return nil, err
	}
	var baseErr error
	if nested(dir, base) {
		baseErr = errors.New(dir + " and " + base + " lie one within the other")
	} else {
		f, err := openOnOverlay(exe, "lowerdir", overlayLowerDirs(dir, base))
		if err == nil {
			return f, nil
		}
		baseErr = err
	}
	empty, err := newEmptyTmpfs()
	if err != nil {
		return nil, fmt.Errorf("%v; %w", baseErr, err)
	}
	defer unix.Close(empty)
	f, err := openOnOverlay(exe, "lowerdir+", dir, fmt.Sprintf("/proc/self/fd/%d", empty))
	if err != nil {
		return nil, fmt.Errorf("%v; over an empty tmpfs: %w", baseErr, err)
	}
	return f, nil
}

// nested tells whether one of the clean absolute paths a and b is the
// other or lies within it.
func nested(a, b string) bool {
	within := func(p, dir string) bool { return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/") }
	return within(a, b) || within(b, a)
}

// openOnOverlay opens exe on a read-only overlay without an upper layer
// whose lower layers are the values of key.
func openOnOverlay(exe, key string, values ...string) (*os.File, error) {
	ctx, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(ctx)
	for _, v := range values {
		if err := unix.FsconfigSetString(ctx, key, v); err != nil {
			return nil, fmt.Errorf("overlay %s %s: %w", key, v, err)
		}
	}
	if err := unix.FsconfigCreate(ctx); err != nil {
		return nil, fmt.Errorf("create overlay of %s: %w", strings.Join(values, " "), err)
	}
	mnt, err := unix.Fsmount(ctx, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return nil, fmt.Errorf("mount overlay: %w", err)
	}
	defer unix.Close(mnt)
	fd, err := unix.Openat(mnt, filepath.Base(exe), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("open the runtime binary on the overlay: %w", err)
	}
	f := os.NewFile(uintptr(fd), "oci-rt")
	// The path may name another file by now (an upgrade replaced it): the
	// child must run the binary we are, or it speaks another protocol.
	if err := sameFile(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// newEmptyTmpfs returns a detached, read-only, empty tmpfs mount.
func newEmptyTmpfs() (int, error) {
	ctx, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen tmpfs: %w", err)
	}
	defer unix.Close(ctx)
	if err := unix.FsconfigCreate(ctx); err != nil {
		return -1, fmt.Errorf("create tmpfs: %w", err)
	}
	mnt, err := unix.Fsmount(ctx, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return -1, fmt.Errorf("mount tmpfs: %w", err)
	}
	return mnt, nil
}

// overlayLowerDirs is overlay's "lowerdir" value for dirs, uppermost
// first: overlay splits it at colons and takes a backslash as an escape.
func overlayLowerDirs(dirs ...string) string {
	escape := strings.NewReplacer(`\`, `\\`, `:`, `\:`)
	escaped := make([]string, len(dirs))
	for i, d := range dirs {
		escaped[i] = escape.Replace(d)
	}
	return strings.Join(escaped, ":")
}

// sameFile checks that f has the inode and size of the binary we run
// (overlay shows a lower file's inode number unchanged).
func sameFile(f *os.File) error {
	var self, got unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &self); err != nil {
		return err
	}
	if err := unix.Fstat(int(f.Fd()), &got); err != nil {
		return err
	}
	if got.Ino != self.Ino || got.Size != self.Size {
		return errors.New("the runtime binary's path names another file now")
	}
	return nil
}

// copySelfToSealedMemfd copies our binary into a memfd sealed against any
// change. It costs a copy of the binary per container start (and that
// much memory while the child runs it), which is why the overlay comes
// first.
func copySelfToSealedMemfd() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	defer src.Close()
	// Where vm.memfd_noexec is 1 (it is per pid namespace), a memfd that
	// does not ask for MFD_EXEC is sealed non-executable and the child's
	// execve fails with EACCES. Kernels before 6.3 know no MFD_EXEC
	// (EINVAL); their memfds are executable anyway.
	fd, err := unix.MemfdCreate("oci-rt", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate("oci-rt", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "oci-rt")
	if err := sendAll(fd, int(src.Fd())); err != nil {
		f.Close()
		return nil, fmt.Errorf("copy the runtime binary: %w", err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal the runtime binary's copy: %w", err)
	}
	return f, nil
}

// sendAll copies the rest of file src to dst with sendfile(2), in the
// kernel and in pieces as large as it takes. io.Copy would try
// copy_file_range, which a memfd on another filesystem refuses (EXDEV),
// and then move 32 KiB per read and write: some 450 system calls for our
// binary, each a trap that an emulated or nested machine makes dear.
func sendAll(dst, src int) error {
	for {
		n, err := unix.Sendfile(dst, src, nil, 1<<30)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}
