package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/libcontainer/proc"
)

// Unix98 pty slaves use majors 136-143.
const (
	ptySlaveMajorFirst = 136
	ptySlaveMajorLast  = 143
)

func openContainerRoot() (*os.File, error) {
	return os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// MountConsole bind-mounts the pty slave onto /dev/console. The slave comes
// as an fd (TIOCGPTPEER), never as a /dev/pts/N path the container could
// have replaced with a symlink to a file of its choosing, which the bind
// would then expose as its console.
func MountConsole(slave *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(slave.Fd()), &st); err != nil {
		return fmt.Errorf("mount console: stat pty: %w", err)
	}
	if major := unix.Major(st.Rdev); st.Mode&unix.S_IFMT != unix.S_IFCHR || major < ptySlaveMajorFirst || major > ptySlaveMajorLast {
		return errors.New("mount console: the given fd is not a pty slave")
	}
	root, err := openContainerRoot()
	if err != nil {
		return fmt.Errorf("mount console: %w", err)
	}
	defer root.Close()
	dev, err := ensureTarget(root, "/dev", targetDir)
	if err != nil {
		return fmt.Errorf("mount console: %w", err)
	}
	defer dev.Close()
	console, err := consoleTarget(dev)
	if err != nil {
		return fmt.Errorf("mount console: /dev/console: %w", err)
	}
	defer console.Close()
	src, err := cloneTree(int(slave.Fd()), "", false)
	if err != nil {
		return fmt.Errorf("mount console: %w", err)
	}
	defer src.Close()
	if err := attachMount(src, console); err != nil {
		return fmt.Errorf("mount console on /dev/console: %w", err)
	}
	return nil
}

// consoleTarget accepts an existing regular file or device node at
// /dev/console and replaces anything else, a symlink above all.
func consoleTarget(dev *os.File) (*os.File, error) {
	var st unix.Stat_t
	err := unix.Fstatat(int(dev.Fd()), "console", &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT):
	case err != nil:
		return nil, err
	case st.Mode&unix.S_IFMT == unix.S_IFREG, st.Mode&unix.S_IFMT == unix.S_IFCHR:
	default:
		if err := removeEntry(dev, "console"); err != nil {
			return nil, err
		}
	}
	if err := createEntry(dev, "console", targetFile); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, err
	}
	fd, err := unix.Openat(int(dev.Fd()), "console", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	target := os.NewFile(uintptr(fd), "/dev/console")
	if err := unix.Fstat(fd, &st); err != nil || (st.Mode&unix.S_IFMT != unix.S_IFREG && st.Mode&unix.S_IFMT != unix.S_IFCHR) {
		target.Close()
		return nil, errors.New("not a regular file or device after creation")
	}
	return target, nil
}

// Finish applies what must follow the root switch, in runc's order:
// sysctls, readonlyPaths, maskedPaths, then a read-only root.
func Finish(cfg *Config) error {
	linux := cfg.Spec.Linux
	sysctls := cfg.Sysctl
	if sysctls == nil {
		sysctls = linux.Sysctl
	}
	if err := writeSysctls(sysctls); err != nil {
		return err
	}
	root, err := openContainerRoot()
	if err != nil {
		return fmt.Errorf("open container root: %w", err)
	}
	defer root.Close()
	for _, p := range linux.ReadonlyPaths {
		if err := readonlyPath(root, p); err != nil {
			return fmt.Errorf("make %s read-only: %w", p, err)
		}
	}
	if len(linux.MaskedPaths) > 0 {
		// Without SELinux a mount label means nothing, and tmpfs would
		// refuse its context= option: it is dropped, as runc drops it.
		// Without a label SELinux is not asked: on a host without it the
		// library looks for selinuxfs through the whole mount table.
		mountLabel := linux.MountLabel
		if mountLabel != "" && !selinux.GetEnabled() {
			mountLabel = ""
		}
		if err := maskPaths(cfg, root, linux.MaskedPaths, mountLabel); err != nil {
			return err
		}
	}
	if cfg.Spec.Root != nil && cfg.Spec.Root.Readonly {
		if err := setMountAttr(root, unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}, false); err != nil {
			return fmt.Errorf("make / read-only: %w", err)
		}
	}
	return nil
}

// writeSysctls goes through a private procfs instance: the container's
// /proc may already carry mounts that redirect a write onto a host file.
func writeSysctls(sysctls map[string]string) error {
	if len(sysctls) == 0 {
		return nil
	}
	procRoot, err := procfs.OpenUnsafeProcRoot()
	if err != nil {
		return fmt.Errorf("open private procfs: %w", err)
	}
	defer procRoot.Close()
	for key, value := range sysctls {
		if err := writeSysctl(procRoot, key, value); err != nil {
			return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
		}
	}
	return nil
}

// sysctlPath maps "net.ipv4.conf.eth0/1.forwarding" to
// "sys/net/ipv4/conf/eth0.1/forwarding": in sysctl(8) syntax "/" stands for
// a dot inside one component.
func sysctlPath(key string) (string, error) {
	mapped := strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, key)
	for _, part := range strings.Split(mapped, "/") {
		if part == "" || part == "." || part == ".." {
			return "", fmt.Errorf("invalid sysctl name %q", key)
		}
	}
	return "sys/" + mapped, nil
}

func writeSysctl(procRoot *procfs.Handle, key, value string) error {
	rel, err := sysctlPath(key)
	if err != nil {
		return err
	}
	handle, err := procRoot.OpenRoot(rel)
	if err != nil {
		return err
	}
	defer handle.Close()
	f, err := reopenForWrite(procRoot, handle)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(value)
	return err
}

// reopenForWrite turns an O_PATH handle into a writable file through
// thread-self/fd of procRoot, our own private procfs, so the container's
// /proc never takes part; or, for a setup that runs outside the
// container's pid namespace with the runtime's procfs (proc.UseProcfs),
// through that one. Where no private procfs can be made (a runtime in a
// user namespace) procRoot is the container's, which does not show such
// a setup at all.
func reopenForWrite(procRoot *procfs.Handle, handle *os.File) (*os.File, error) {
	if proc.UsesOwnProcfs() {
		return proc.Reopen(handle, unix.O_WRONLY)
	}
	fdDir, unlock, err := procRoot.OpenThreadSelf("fd/")
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer fdDir.Close()
	fd, err := unix.Openat(int(fdDir.Fd()), strconv.Itoa(int(handle.Fd())), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("reopen %s: %w", handle.Name(), err)
	}
	return os.NewFile(uintptr(fd), handle.Name()), nil
}

// readonlyPath covers p with a recursive read-only bind of itself.
func readonlyPath(root *os.File, p string) error {
	target, err := openInRoot(root, p, unix.O_PATH, 0)
	if isNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer target.Close()
	mnt, err := cloneTree(int(target.Fd()), "", true)
	if err != nil {
		return err
	}
	defer mnt.Close()
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC}
	if err := setMountAttr(mnt, attr, true); err != nil {
		return err
	}
	return attachMount(mnt, target)
}

// maskPaths hides files behind /dev/null and directories behind an empty
// read-only tmpfs. /dev/null belongs to the container, so it is opened once
// and proven to be the real 1:3 node; a fake (a symlink to a procfs file,
// a regular file) fails closed instead of being bound over what it should
// hide.
func maskPaths(cfg *Config, root *os.File, paths []string, mountLabel string) error {
	null, err := openVerifiedNull(root)
	if err != nil {
		return fmt.Errorf("mask paths: %w", err)
	}
	defer null.Close()
	for _, p := range paths {
		if err := maskPath(cfg, root, null, p, mountLabel); err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	return nil
}

func openVerifiedNull(root *os.File) (*os.File, error) {
	null, err := openInRoot(root, "/dev/null", unix.O_PATH|unix.O_NOFOLLOW, unix.RESOLVE_NO_SYMLINKS)
	if err != nil {
		return nil, fmt.Errorf("open /dev/null: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(null.Fd()), &st); err != nil {
		null.Close()
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		null.Close()
		return nil, errors.New("/dev/null is not the null device (char 1:3)")
	}
	return null, nil
}

func maskPath(cfg *Config, root, null *os.File, p, mountLabel string) error {
	target, err := openInRoot(root, p, unix.O_PATH, 0)
	if isNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer target.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(target.Fd()), &st); err != nil {
		return err
	}
	var mnt *os.File
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		var data []string
		if mountLabel != "" {
			data = append(data, "context="+mountLabel)
		}
		mnt, err = newFilesystem(cfg, "tmpfs", "tmpfs", mountOptions{attrSet: unix.MOUNT_ATTR_RDONLY, data: data})
	} else {
		mnt, err = cloneTree(int(null.Fd()), "", false)
	}
	if err != nil {
		return err
	}
	defer mnt.Close()
	return attachMount(mnt, target)
}
