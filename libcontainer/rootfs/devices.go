package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var defaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

var devSymlinks = [][2]string{
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
}

// needsDevSetup follows runc: a /dev bind-mounted from the host already has
// its nodes, and creating ours in it would write to the host.
func needsDevSetup(spec *specs.Spec) bool {
	for _, m := range spec.Mounts {
		if path.Clean(m.Destination) != "/dev" {
			continue
		}
		if opts, err := parseMountOptions(m.Options); err == nil && isBind(m, opts) {
			return false
		}
	}
	return true
}

func hasNamespace(spec *specs.Spec, nsType specs.LinuxNamespaceType) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == nsType {
			return true
		}
	}
	return false
}

func setupDev(root *os.File, spec *specs.Spec) error {
	// The spec's fileMode is the final mode; no umask may narrow it.
	oldUmask := unix.Umask(0)
	defer unix.Umask(oldUmask)

	inUserNS := hasNamespace(spec, specs.UserNamespace)
	devices := append(append([]specs.LinuxDevice{}, defaultDevices...), spec.Linux.Devices...)
	for _, d := range devices {
		if err := createDevice(root, d, inUserNS); err != nil {
			return fmt.Errorf("create device %s: %w", d.Path, err)
		}
	}
	dev, err := ensureTarget(root, "/dev", targetDir)
	if err != nil {
		return fmt.Errorf("open /dev: %w", err)
	}
	defer dev.Close()
	links := devSymlinks
	if _, err := os.Stat("/proc/kcore"); err == nil {
		links = append(links, [2]string{"core", "/proc/kcore"})
	}
	for _, link := range links {
		if err := unix.Symlinkat(link[1], int(dev.Fd()), link[0]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("symlink /dev/%s -> %s: %w", link[0], link[1], err)
		}
	}
	// ptmx must be the devpts instance's, never a host-wide node.
	if err := removeEntry(dev, "ptmx"); err != nil {
		return fmt.Errorf("replace /dev/ptmx: %w", err)
	}
	if err := unix.Symlinkat("pts/ptmx", int(dev.Fd()), "ptmx"); err != nil {
		return fmt.Errorf("symlink /dev/ptmx -> pts/ptmx: %w", err)
	}
	return nil
}

func deviceFileType(d specs.LinuxDevice) (uint32, error) {
	switch d.Type {
	case "c", "u":
		return unix.S_IFCHR, nil
	case "b":
		return unix.S_IFBLK, nil
	case "p":
		return unix.S_IFIFO, nil
	}
	return 0, fmt.Errorf("unknown device type %q", d.Type)
}

// createDevice replaces whatever the image has at the device path: a
// hostile rootfs could ship /dev/null as a symlink or regular file.
func createDevice(root *os.File, d specs.LinuxDevice, inUserNS bool) error {
	fileType, err := deviceFileType(d)
	if err != nil {
		return err
	}
	devPath := path.Clean("/" + d.Path)
	parentPath, name := path.Split(devPath)
	parent, err := ensureTarget(root, parentPath, targetDir)
	if err != nil {
		return err
	}
	defer parent.Close()
	if err := removeEntry(parent, name); err != nil {
		return err
	}
	if !inUserNS {
		err = mknodDevice(parent, name, d, fileType)
		if !errors.Is(err, unix.EPERM) {
			return err
		}
	}
	// A user namespace may not mknod; bind the host's node instead.
	return bindHostDevice(parent, name, devPath, d, fileType)
}

func mknodDevice(parent *os.File, name string, d specs.LinuxDevice, fileType uint32) error {
	mode := uint32(0o666)
	if d.FileMode != nil {
		// Validation let through only type bits that agree with d.Type.
		mode = uint32(*d.FileMode) & 0o7777
	}
	dev := int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))
	if err := unix.Mknodat(int(parent.Fd()), name, mode|fileType, dev); err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	uid, gid := 0, 0
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if err := unix.Fchownat(int(parent.Fd()), name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	return nil
}

func bindHostDevice(parent *os.File, name, hostPath string, d specs.LinuxDevice, fileType uint32) error {
	src, err := cloneTree(unix.AT_FDCWD, hostPath, false)
	if err != nil {
		return fmt.Errorf("bind host %s: %w", hostPath, err)
	}
	defer src.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != fileType || (fileType != unix.S_IFIFO && st.Rdev != unix.Mkdev(uint32(d.Major), uint32(d.Minor))) {
		return fmt.Errorf("host %s is not device %s %d:%d", hostPath, d.Type, d.Major, d.Minor)
	}
	if err := createEntry(parent, name, targetFile); err != nil {
		return err
	}
	fd, err := unix.Openat(int(parent.Fd()), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	target := os.NewFile(uintptr(fd), name)
	defer target.Close()
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%s was replaced while creating it", hostPath)
	}
	return attachMount(src, target)
}

// removeEntry clears the way for a node we create; a directory there is an
// error rather than something to delete recursively.
func removeEntry(parent *os.File, name string) error {
	err := unix.Unlinkat(int(parent.Fd()), name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return fmt.Errorf("remove existing %s: %w", name, err)
}
