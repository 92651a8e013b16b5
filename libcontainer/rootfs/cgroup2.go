package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/libcontainer/internal/openat2"
)

// initialCgroupNamespaceInode is the inode number the kernel gives its
// initial cgroup namespace (PROC_CGROUP_INIT_INO), fixed for every boot.
const initialCgroupNamespaceInode = 0xEFFFFFFB

// newCgroup2 gives the container the unified hierarchy at its
// /sys/fs/cgroup. Where a bind of the host's cgroup2 mount shows the same
// tree, it binds. A new cgroup2 mount made in the initial cgroup namespace
// applies its (empty) options to the whole hierarchy, which would silently
// clear the host's nsdelegate and memory_recursiveprot; and on recent
// kernels (6.18 here, not Debian's 6.1) it also write-locks the global
// cgroup_threadgroup_rwsem to apply favordynmods, which waits for an RCU
// grace period: a few milliseconds off the CPU where grace periods are not
// expedited. A bind does neither, nor does a new mount inside a cgroup
// namespace, which applies no options.
func newCgroup2(cfg *Config, m specs.Mount, opts mountOptions) (*os.File, error) {
	if sub, ok := cgroup2BindSource(cfg, opts); ok {
		if mountpoint, err := cgroups.Mountpoint(); err == nil {
			cfg.debugf("cgroup2 at %s: a bind of %s of the host's unified hierarchy", m.Destination, sub)
			return bindCgroup2(mountpoint, sub, opts)
		}
	}
	cfg.debugf("cgroup2 at %s: a new cgroup2 filesystem", m.Destination)
	mnt, err := newFilesystem(cfg, "cgroup2", m.Source, opts)
	if errors.Is(err, unix.EPERM) && !hasNamespace(cfg.Spec, specs.CgroupNamespace) {
		// In a user namespace without a cgroup namespace the kernel
		// refuses a new cgroup2 superblock; like runc, show the
		// container its own cgroup through a bind instead.
		if cfg.CgroupPath == "" {
			return nil, errors.New("bind the container's cgroup: its path is unknown")
		}
		mountpoint, err := cgroups.Mountpoint()
		if err != nil {
			return nil, err
		}
		cfg.debugf("cgroup2 at %s: refused (%v), a bind of %s instead", m.Destination, unix.EPERM, cfg.CgroupPath)
		return bindCgroup2(mountpoint, cfg.CgroupPath, opts)
	}
	return mnt, err
}

// cgroup2BindSource is the directory of the host's unified hierarchy whose
// bind shows exactly what a new cgroup2 mount would: in a new cgroup
// namespace (rooted at the container's cgroup) that cgroup; without one,
// or in the joined initial one (and without a user namespace), the
// hierarchy's root. Another joined cgroup namespace is rooted where only
// the kernel knows, and mount options cannot be applied to a bind: those
// get a new mount.
func cgroup2BindSource(cfg *Config, opts mountOptions) (string, bool) {
	if len(opts.data) > 0 {
		return "", false
	}
	for _, ns := range cfg.Spec.Linux.Namespaces {
		if ns.Type != specs.CgroupNamespace {
			continue
		}
		if ns.Path == "" {
			return cfg.CgroupPath, cfg.CgroupPath != ""
		}
		if !inInitialCgroupNamespace() {
			return "", false
		}
	}
	return "/", !hasNamespace(cfg.Spec, specs.UserNamespace)
}

// inInitialCgroupNamespace: whether the init, which has joined the
// container's namespaces, is in the kernel's initial cgroup namespace.
// The link is read from /proc/thread-self of the init's own view, which
// nothing of the container has been mounted over yet; a failure counts
// as "no", which keeps the new mount.
func inInitialCgroupNamespace() bool {
	link, err := os.Readlink("/proc/thread-self/ns/cgroup")
	return err == nil && link == fmt.Sprintf("cgroup:[%d]", initialCgroupNamespaceInode)
}

// bindCgroup2 clones the directory sub of the unified hierarchy mounted
// at mountpoint, with the mount's attributes. The directory is found
// through fds and the lookup may not leave that mount (no "..", symlink or
// mount on the way), so the clone is of the hierarchy's own directory,
// and shows nothing above it. Not recursively: nothing mounted below a
// cgroup directory belongs in the container.
func bindCgroup2(mountpoint, sub string, opts mountOptions) (*os.File, error) {
	top, err := os.OpenFile(mountpoint, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer top.Close()
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(top.Fd()), &fs); err != nil {
		return nil, os.NewSyscallError("fstatfs "+mountpoint, err)
	}
	if fs.Type != unix.CGROUP2_SUPER_MAGIC {
		return nil, fmt.Errorf("%s is not a cgroup2 filesystem", mountpoint)
	}
	rel := strings.TrimPrefix(sub, "/")
	if rel == "" {
		rel = "."
	}
	fd, err := openat2.Open(int(top.Fd()), rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, &os.PathError{Op: "openat2", Path: mountpoint + "/" + rel, Err: err}
	}
	dir := os.NewFile(uintptr(fd), mountpoint+"/"+rel)
	defer dir.Close()
	return bindCgroup(int(dir.Fd()), "", opts)
}
