package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/nsenter"
)

// cloneTree makes a detached copy of the mount at dirfd/p (or of dirfd
// itself when p is empty), which can then be adjusted before anyone sees it.
func cloneTree(dirfd int, p string, recursive bool) (*os.File, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	if p == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	fd, err := unix.OpenTree(dirfd, p, flags)
	if err != nil {
		return nil, os.NewSyscallError("open_tree", err)
	}
	return os.NewFile(uintptr(fd), "clone of "+p), nil
}

func setMountAttr(mnt *os.File, attr unix.MountAttr, recursive bool) error {
	if attr == (unix.MountAttr{}) {
		return nil
	}
	flags := uint(unix.AT_EMPTY_PATH)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	if err := unix.MountSetattr(int(mnt.Fd()), "", flags, &attr); err != nil {
		return os.NewSyscallError("mount_setattr", err)
	}
	return nil
}

// applyAttrs sets the per-mount flags on the top mount only, as a bind
// remount does, then the r* flags on the whole tree.
func applyAttrs(mnt *os.File, opts mountOptions) error {
	if err := setMountAttr(mnt, unix.MountAttr{Attr_set: opts.attrSet, Attr_clr: opts.attrClr}, false); err != nil {
		return err
	}
	return setMountAttr(mnt, unix.MountAttr{Attr_set: opts.recAttrSet, Attr_clr: opts.recAttrClr}, true)
}

// bindRemountAttrs maps runc's flag word to the mount attributes.
var bindRemountAttrs = []struct{ ms, attr uint64 }{
	{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY},
	{unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
	{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV},
	{unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
	{unix.MS_NOSYMFOLLOW, unix.MOUNT_ATTR_NOSYMFOLLOW},
}

const atimeFlags = unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME

// bindRemountAttr is what runc's bind-then-remount leaves on a bind, which
// clients and users rely on: with no flag in the options there is no
// remount and the bind keeps the source's flags (a bind of a read-only
// source stays read-only even with "rw"). With some, the remount sets the
// read-only, suid, dev, exec and symfollow flags to exactly the options'.
// The kernel keeps the source's atime flags unless an option names one;
// then relatime is the default, noatime or strictatime replace it.
func bindRemountAttr(flags uint64) unix.MountAttr {
	var attr unix.MountAttr
	if flags == 0 {
		return attr
	}
	for _, f := range bindRemountAttrs {
		if flags&f.ms != 0 {
			attr.Attr_set |= f.attr
		} else {
			attr.Attr_clr |= f.attr
		}
	}
	if flags&atimeFlags == 0 {
		return attr
	}
	attr.Attr_clr |= unix.MOUNT_ATTR__ATIME | unix.MOUNT_ATTR_NODIRATIME
	switch {
	case flags&unix.MS_STRICTATIME != 0:
		attr.Attr_set |= unix.MOUNT_ATTR_STRICTATIME
	case flags&unix.MS_NOATIME != 0:
		attr.Attr_set |= unix.MOUNT_ATTR_NOATIME
	}
	if flags&unix.MS_NODIRATIME != 0 {
		attr.Attr_set |= unix.MOUNT_ATTR_NODIRATIME
		attr.Attr_clr &^= unix.MOUNT_ATTR_NODIRATIME
	}
	return attr
}

// lockableFlags are the flags of a mount that a user namespace's copy of
// it may not clear, as statfs reports them.
var lockableFlags = []struct{ st, attr uint64 }{
	{unix.ST_RDONLY, unix.MOUNT_ATTR_RDONLY},
	{unix.ST_NOSUID, unix.MOUNT_ATTR_NOSUID},
	{unix.ST_NODEV, unix.MOUNT_ATTR_NODEV},
	{unix.ST_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
}

// applyBindAttrs gives a bind runc's flags for its options (see
// bindRemountAttr), then the r* flags to the whole tree. In a user
// namespace the kernel refuses to clear a flag the source's mount has
// locked; then, as runc retries such a remount read-only, the bind keeps
// the source's read-only, suid, dev, exec and atime flags instead of
// failing.
func applyBindAttrs(mnt *os.File, opts mountOptions) error {
	attr := bindRemountAttr(opts.remountFlags)
	err := setMountAttr(mnt, attr, false)
	if errors.Is(err, unix.EPERM) {
		var st unix.Statfs_t
		if statErr := unix.Fstatfs(int(mnt.Fd()), &st); statErr != nil {
			return err
		}
		for _, f := range lockableFlags {
			if uint64(st.Flags)&f.st != 0 {
				attr.Attr_set |= f.attr
				attr.Attr_clr &^= f.attr
			}
		}
		attr.Attr_set &^= unix.MOUNT_ATTR__ATIME | unix.MOUNT_ATTR_NODIRATIME
		attr.Attr_clr &^= unix.MOUNT_ATTR__ATIME | unix.MOUNT_ATTR_NODIRATIME
		err = setMountAttr(mnt, attr, false)
	}
	if err != nil {
		return err
	}
	return setMountAttr(mnt, unix.MountAttr{Attr_set: opts.recAttrSet, Attr_clr: opts.recAttrClr}, true)
}

// applyPropagation runs after attaching: a detached mount has no peers to
// share with yet.
func applyPropagation(mnt *os.File, opts mountOptions) error {
	if opts.propagation == 0 {
		return nil
	}
	return setMountAttr(mnt, unix.MountAttr{Propagation: opts.propagation}, opts.recursivePropagation)
}

// attachMount moves a detached (or attached) mount onto exactly the inode
// target refers to; no path is looked up again, so nothing can be swapped
// underneath.
func attachMount(mnt, target *os.File) error {
	err := unix.MoveMount(int(mnt.Fd()), "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	if err != nil {
		return os.NewSyscallError("move_mount", err)
	}
	return nil
}

// newFilesystem creates a detached mount of a fresh filesystem instance,
// made by cfg.MakeFilesystem where that is set.
func newFilesystem(cfg *Config, fsType, source string, opts mountOptions) (*os.File, error) {
	settings := filesystemSettings(source, opts)
	makeFS := makeFilesystem
	if cfg.MakeFilesystem != nil {
		makeFS = cfg.MakeFilesystem
	}
	ctx, failed, err := makeFS(fsType, settings)
	if ctx == nil {
		return nil, os.NewSyscallError("fsopen "+fsType, err)
	}
	defer ctx.Close()
	return mountMade(ctx, fsType, settings, failed, err, opts)
}

// makeFilesystem makes a filesystem of fsType as this process: fsopen,
// then configureFilesystem. It returns what Config.MakeFilesystem does.
func makeFilesystem(fsType string, settings []nsenter.FilesystemSetting) (*os.File, int, error) {
	fsfd, err := unix.Fsopen(fsType, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, 0, err
	}
	failed, err := configureFilesystem(fsfd, settings)
	return os.NewFile(uintptr(fsfd), "fscontext "+fsType), failed, err
}

// filesystemSettings are the fsconfig calls that give a new filesystem
// source and opts' filesystem options, in order.
func filesystemSettings(source string, opts mountOptions) []nsenter.FilesystemSetting {
	var settings []nsenter.FilesystemSetting
	if source != "" {
		settings = append(settings, nsenter.FilesystemSetting{Key: "source", Value: source})
	}
	for _, flag := range opts.superblockFlags {
		settings = append(settings, nsenter.FilesystemSetting{Key: flag, Flag: true})
	}
	for _, item := range opts.data {
		key, value, hasValue := strings.Cut(item, "=")
		settings = append(settings, nsenter.FilesystemSetting{Key: key, Value: value, Flag: !hasValue})
	}
	return settings
}

// configureFilesystem applies settings to the fresh context fsfd and
// creates the filesystem. On failure it returns which setting failed
// (len(settings): the create) and the errno.
func configureFilesystem(fsfd int, settings []nsenter.FilesystemSetting) (int, error) {
	for i, s := range settings {
		var err error
		if s.Flag {
			err = unix.FsconfigSetFlag(fsfd, s.Key)
		} else {
			err = unix.FsconfigSetString(fsfd, s.Key, s.Value)
		}
		if err != nil {
			return i, err
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return len(settings), err
	}
	return 0, nil
}

// mountMade mounts the filesystem made in ctx with settings, or, when
// making it failed at setting failed with err, says so with the
// filesystem's own explanation.
func mountMade(ctx *os.File, fsType string, settings []nsenter.FilesystemSetting, failed int, err error, opts mountOptions) (*os.File, error) {
	if err != nil {
		what := "create"
		if failed < len(settings) {
			what = settings[failed].String()
		}
		return nil, fsconfigError(int(ctx.Fd()), what, err)
	}
	return mountFresh(int(ctx.Fd()), fsType, opts)
}

// mountCreated mounts the filesystem someone else configured and created
// in ctx, which must have had none of opts' filesystem options to honour.
func mountCreated(ctx *os.File, fsType string, opts mountOptions) (*os.File, error) {
	if len(opts.superblockFlags) > 0 || len(opts.data) > 0 {
		return nil, fmt.Errorf("%s mount: options %s cannot be given to a filesystem made outside the container's user namespace", fsType, strings.Join(append(opts.superblockFlags, opts.data...), ","))
	}
	return mountFresh(int(ctx.Fd()), fsType, opts)
}

// mountFresh mounts the filesystem created in the context fsfd.
func mountFresh(fsfd int, fsType string, opts mountOptions) (*os.File, error) {
	// A fresh filesystem has no submounts, so the r* flags mean the same as
	// the plain ones here.
	attrs := (opts.attrSet &^ opts.recAttrClr) | opts.recAttrSet
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, int(attrs))
	if err != nil {
		return nil, fsconfigError(fsfd, "fsmount", err)
	}
	return os.NewFile(uintptr(mfd), fsType), nil
}

// fsconfigError adds the filesystem's own explanation, which the kernel
// queues on the context fd, to the bare errno.
func fsconfigError(fsfd int, what string, err error) error {
	var messages []string
	buf := make([]byte, 1024)
	for {
		n, readErr := unix.Read(fsfd, buf)
		if readErr != nil || n <= 0 {
			break
		}
		messages = append(messages, strings.TrimSpace(string(buf[:n])))
	}
	if len(messages) > 0 {
		return fmt.Errorf("%s: %w (%s)", what, err, strings.Join(messages, "; "))
	}
	return fmt.Errorf("%s: %w", what, err)
}

func isNotExist(err error) bool {
	return errors.Is(err, unix.ENOENT)
}
