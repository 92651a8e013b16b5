package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
)

// mountCgroupV1 gives a container on a cgroup v1 host the layout runc
// gives it for a "cgroup" mount: a tmpfs at dest holding, under each
// hierarchy's host name, the container's own cgroup of that hierarchy, and
// for a co-mounted hierarchy one symlink per controller (cpu and cpuacct
// pointing at cpu,cpuacct), so that tools which look for a controller by
// its own name find it.
func mountCgroupV1(root *os.File, cfg *Config, dest string, opts mountOptions) error {
	readOnly := cgroupReadOnly(opts)
	tmpfs, err := newFilesystem(cfg, "tmpfs", "tmpfs", mountOptions{
		attrSet: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC,
		data:    withMountLabel([]string{"mode=755"}, "tmpfs", cfg.Spec.Linux.MountLabel),
	})
	if err != nil {
		return err
	}
	defer tmpfs.Close()
	target, err := ensureTarget(root, dest, targetDir)
	if err != nil {
		return err
	}
	defer target.Close()
	if err := refuseProcfsTarget(target, dest); err != nil {
		return err
	}
	// The tmpfs is filled once attached (the kernel may not let a mount
	// be attached inside a detached one), but before anything of the
	// container runs, and only through its own fd: nothing in it can
	// have been raced yet.
	if err := attachMount(tmpfs, target); err != nil {
		return err
	}
	newMount := hasNamespace(cfg.Spec, specs.CgroupNamespace)
	// The hierarchies' directories are found from the cgroup mount root,
	// opened once here, in the namespace the mounts are made in (see
	// cgroups.At).
	cgroupRoot := unix.AT_FDCWD
	if !newMount {
		fd, err := unix.Open(cgroups.Root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return os.NewSyscallError("open "+cgroups.Root, err)
		}
		defer unix.Close(fd)
		cgroupRoot = fd
	}
	for _, h := range cfg.CgroupV1 {
		if err := mountHierarchy(cfg, tmpfs, h, newMount, cgroupRoot, readOnly); err != nil {
			return fmt.Errorf("cgroup hierarchy %s: %w", h.Name, err)
		}
	}
	if err := linkCoMounted(tmpfs, cfg.CgroupV1); err != nil {
		return err
	}
	// runc leaves this tmpfs writable; a read-only cgroup mount keeps it
	// read-only too, so that the container can neither write its cgroups
	// nor anything that software looking for them would find first.
	if readOnly.attrSet&unix.MOUNT_ATTR_RDONLY != 0 {
		if err := setMountAttr(tmpfs, unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}, false); err != nil {
			return err
		}
	}
	return applyPropagation(tmpfs, opts)
}

// cgroupReadOnly: a container may not write its cgroups (it could raise
// its own limits) unless the config says "rw".
func cgroupReadOnly(opts mountOptions) mountOptions {
	if opts.attrClr&unix.MOUNT_ATTR_RDONLY == 0 {
		opts.attrSet |= unix.MOUNT_ATTR_RDONLY
	}
	return opts
}

// mountHierarchy puts the container's cgroup of one hierarchy at
// tmpfs/<name>: with a cgroup namespace a new cgroup mount, whose root is
// the namespace's (the container's cgroup); without one a bind of the
// cgroup's host directory, which cgroupRoot, the cgroup mount root or
// AT_FDCWD, leads to.
func mountHierarchy(cfg *Config, tmpfs *os.File, h cgroups.MountedHierarchy, newMount bool, cgroupRoot int, opts mountOptions) error {
	if !isPlainName(h.Name) {
		return fmt.Errorf("%q cannot name a directory", h.Name)
	}
	if err := unix.Mkdirat(int(tmpfs.Fd()), h.Name, 0o755); err != nil {
		return fmt.Errorf("mkdir: %w", err)
	}
	fd, err := unix.Openat(int(tmpfs.Fd()), h.Name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	dir := os.NewFile(uintptr(fd), h.Name)
	defer dir.Close()
	var mnt *os.File
	if newMount {
		mnt, err = newCgroupV1(cfg, h, opts)
	} else {
		dirFD, src := unix.AT_FDCWD, h.Dir
		if rel, ok := cgroups.RelativeToRoot(h.Dir); ok && cgroupRoot != unix.AT_FDCWD {
			dirFD, src = cgroupRoot, rel
		}
		mnt, err = bindCgroup(dirFD, src, opts)
	}
	if err != nil {
		return err
	}
	defer mnt.Close()
	if err := attachMount(mnt, dir); err != nil {
		return err
	}
	return applyPropagation(mnt, opts)
}

// newCgroupV1 mounts the hierarchy selected by its controllers. A named
// hierarchy takes its name as the source, as runc's does ("systemd").
func newCgroupV1(cfg *Config, h cgroups.MountedHierarchy, opts mountOptions) (*os.File, error) {
	source := "cgroup"
	if len(h.Controllers) == 1 {
		if name, ok := strings.CutPrefix(h.Controllers[0], "name="); ok {
			source = name
		}
	}
	opts.data = h.Controllers
	opts.superblockFlags = nil
	return newFilesystem(cfg, "cgroup", source, opts)
}

// linkCoMounted makes tmpfs/cpu and tmpfs/cpuacct point at cpu,cpuacct.
// The link is relative, so it resolves inside the container.
func linkCoMounted(tmpfs *os.File, hierarchies []cgroups.MountedHierarchy) error {
	for _, h := range hierarchies {
		if !strings.Contains(h.Name, ",") {
			continue
		}
		for _, name := range strings.Split(h.Name, ",") {
			if !isPlainName(name) {
				continue
			}
			err := unix.Symlinkat(h.Name, int(tmpfs.Fd()), name)
			if err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("symlink %s to %s: %w", name, h.Name, err)
			}
		}
	}
	return nil
}

// isPlainName: one path component that stays where it is.
func isPlainName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.Contains(name, "/")
}
