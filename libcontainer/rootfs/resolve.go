package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/libcontainer/internal/openat2"
)

// maxResolveSteps bounds how many dangling symlinks and lost creation races
// one lookup tolerates, the same budget the kernel gives symlink chains.
const maxResolveSteps = 40

type targetKind int

const (
	targetDir targetKind = iota
	targetFile
)

// openInRoot resolves p with root as "/" for every symlink and "..", so no
// path, however hostile or however raced, leaves the rootfs. Magic links
// (/proc/self/fd/N and friends) are refused: they are exactly the way out.
func openInRoot(root *os.File, p string, flags uint64, extraResolve uint64) (*os.File, error) {
	fd, err := openat2.Open(int(root.Fd()), p, &unix.OpenHow{
		Flags:   flags | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | extraResolve,
	})
	if err != nil {
		return nil, &os.PathError{Op: "openat2", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

// ensureInRoot returns an O_PATH handle to p inside root, creating it (and
// its parents as directories) when missing. A dangling symlink is followed
// the way the kernel would, still inside root, so "/data -> /srv/data" makes
// the mount land on <rootfs>/srv/data, never on the host's /srv/data.
func ensureInRoot(root *os.File, p string, kind targetKind) (*os.File, error) {
	steps := maxResolveSteps
	return ensureInRootSteps(root, path.Clean("/"+p), kind, &steps)
}

func ensureInRootSteps(root *os.File, p string, kind targetKind, steps *int) (*os.File, error) {
	for ; *steps > 0; *steps-- {
		f, err := openInRoot(root, p, unix.O_PATH, 0)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, unix.ENOENT) || p == "/" {
			return nil, err
		}
		parentPath, name := path.Split(p)
		parent, err := ensureInRootSteps(root, path.Clean(parentPath), targetDir, steps)
		if err != nil {
			return nil, err
		}
		err = createEntry(parent, name, kind)
		if errors.Is(err, unix.EEXIST) {
			// Either a dangling symlink sits there, which we follow inside
			// root, or someone created the entry meanwhile and the next
			// lookup finds it.
			if link, linkErr := readlinkAt(parent, name); linkErr == nil {
				if !path.IsAbs(link) {
					link = path.Join(parentPath, link)
				}
				p = path.Clean("/" + link)
			}
			err = nil
		}
		parent.Close()
		if err != nil {
			return nil, err
		}
	}
	return nil, &os.PathError{Op: "resolve in rootfs", Path: p, Err: unix.ELOOP}
}

// createEntry never follows a symlink at name: mkdirat does not, and
// O_CREAT|O_EXCL fails on any existing entry, link or not.
func createEntry(parent *os.File, name string, kind targetKind) error {
	if kind == targetDir {
		if err := unix.Mkdirat(int(parent.Fd()), name, 0o755); err != nil {
			return &os.PathError{Op: "mkdirat", Path: path.Join(parent.Name(), name), Err: err}
		}
		return nil
	}
	fd, err := unix.Openat(int(parent.Fd()), name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return &os.PathError{Op: "create", Path: path.Join(parent.Name(), name), Err: err}
	}
	return unix.Close(fd)
}

func readlinkAt(dir *os.File, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(int(dir.Fd()), name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// ensureTarget is ensureInRoot plus a check that what exists there has the
// kind the mount needs: a directory cannot be mounted on a file or back.
func ensureTarget(root *os.File, p string, kind targetKind) (*os.File, error) {
	f, err := ensureInRoot(root, p, kind)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if isDir != (kind == targetDir) {
		f.Close()
		if isDir {
			return nil, fmt.Errorf("%s is a directory but the mount source is not", p)
		}
		return nil, fmt.Errorf("%s is not a directory but the mount source is", p)
	}
	return f, nil
}
