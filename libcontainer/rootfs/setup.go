package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/nsenter"
)

// Config is what Setup needs; the parent has validated the spec already.
type Config struct {
	Spec    *specs.Spec
	Rootfs  string // absolute host path of the rootfs, symlinks already resolved by the parent
	Bundle  string // relative bind sources are relative to it, as in runc
	NoPivot bool   // MS_MOVE + chroot instead of pivot_root (runc --no-pivot)
	// RootHandle is the rootfs as the parent opened and validated it, in
	// the runtime's mount namespace: the directory the container gets is
	// proven to be this one. Setup closes it.
	RootHandle *os.File
	// CgroupPath is the container's cgroup within the unified hierarchy;
	// the init may not be in it yet while it sets the rootfs up.
	CgroupPath string
	// OpenSource, set for a container in a user namespace, asks the
	// parent for the source of bind mount index (see OpenBindSource).
	OpenSource func(index int) (*os.File, error)
	// Idmap asks the parent to give the detached bind made for mount
	// index its idmapping (see Idmapper); nil refuses idmapped mounts.
	Idmap func(index int, mnt *os.File) error
	// CgroupV1 are the container's cgroup v1 hierarchies, on a host that
	// has them: a "cgroup" mount then shows them (mountCgroupV1).
	CgroupV1 []cgroups.MountedHierarchy
	// HostRoot is set when the container shares the runtime's mount
	// namespace: the rootfs bind the parent made with BindHostRootfs.
	// Setup mounts below it and chroots into it (NoPivot does not apply),
	// and closes it.
	HostRoot *os.File
	// ProcContexts, when not nil, are fresh fsopen("proc") contexts made
	// in the container's pid namespace, which the init is not in (it joins
	// an existing one only for the process it starts): the config's proc
	// mounts take them in order, as procfs shows the pid namespace of the
	// process that opened the context. Setup closes them.
	ProcContexts []*os.File
	// ProcContextsCreated: the contexts' filesystems are created already
	// (see nsenter.ProcfsRequest.Source), by a helper that had the right
	// to, which an init in a user namespace of its own lacks: Setup only
	// mounts them.
	ProcContextsCreated bool
	// MakeFilesystem, when set, makes each new filesystem of the
	// container (fsopen, settings, create) in place of this process: the
	// runtime that sets up a container with a user namespace of its own
	// from outside has the init make them, as the Go init would have, in
	// that user namespace (see nsenter.Conn.MakeFilesystem, whose results
	// it returns).
	MakeFilesystem func(fsType string, settings []nsenter.FilesystemSetting) (ctx *os.File, failed int, err error)
	// Sysctl, when not nil, are the sysctls Finish writes in place of
	// the spec's: the same, with ids given as the writer's user namespace
	// names them where it is not the container's.
	Sysctl map[string]string
	// Debugf, when set, logs a step at debug level (--debug).
	Debugf func(format string, args ...any)
}

func (cfg *Config) debugf(format string, args ...any) {
	if cfg.Debugf != nil {
		cfg.Debugf(format, args...)
	}
}

// Setup runs in init, inside the container's new mount namespace (or the
// runtime's, with cfg.HostRoot), as namespaced root. On return "/" is the
// container's root and every fd it opened, including cfg.HostRoot, is
// closed.
func Setup(cfg *Config, beforePivot func() error) error {
	if cfg.RootHandle != nil {
		defer cfg.RootHandle.Close()
	}
	defer func() {
		for _, ctx := range cfg.ProcContexts {
			ctx.Close()
		}
	}()
	if cfg.Spec == nil || cfg.Spec.Linux == nil {
		if cfg.HostRoot != nil {
			cfg.HostRoot.Close()
		}
		return errors.New("rootfs setup: spec has no linux section")
	}
	root, err := prepareRoot(cfg)
	if err != nil {
		return err
	}
	defer root.Close()

	var readOnlyLater []deferredReadOnly
	for i, m := range cfg.Spec.Mounts {
		later, err := mountOne(root, cfg, i, m)
		if err != nil {
			return fmt.Errorf("mount %s on %s: %w", mountSourceName(m), m.Destination, err)
		}
		if later != nil {
			readOnlyLater = append(readOnlyLater, *later)
		}
	}
	if needsDevSetup(cfg.Spec) {
		if err := setupDev(root, cfg.Spec); err != nil {
			return err
		}
	}
	for _, d := range readOnlyLater {
		if err := d.apply(root); err != nil {
			return err
		}
	}
	if beforePivot != nil {
		if err := beforePivot(); err != nil {
			return err
		}
	}
	switch {
	case cfg.HostRoot != nil:
		err = ChrootInto(root)
	case cfg.NoPivot:
		err = moveRoot(cfg, root)
	default:
		err = pivotRoot(root)
	}
	if err != nil {
		return fmt.Errorf("switch root to %s: %w", cfg.Rootfs, err)
	}
	return applyRootfsPropagation(cfg.Spec.Linux.RootfsPropagation)
}

// prepareRoot returns the handle every later lookup is rooted at. In the
// container's own mount namespace it sets the propagation and binds the
// rootfs onto itself; in the runtime's, the parent made that bind and
// nothing outside the rootfs may change.
func prepareRoot(cfg *Config) (*os.File, error) {
	if cfg.HostRoot != nil {
		return cfg.HostRoot, nil
	}
	if cfg.RootHandle == nil {
		return nil, errors.New("rootfs setup: the parent passed no rootfs handle")
	}
	if err := setRootPropagation(cfg.Spec.Linux.RootfsPropagation); err != nil {
		return nil, err
	}
	target, err := locateRoot(cfg.Rootfs, cfg.RootHandle)
	if err != nil {
		return nil, err
	}
	defer target.Close()
	if mayLeaveMountsShared(cfg.Spec.Linux.RootfsPropagation) {
		if err := makeParentMountPrivate(target); err != nil {
			return nil, fmt.Errorf("make the mount above rootfs %s private: %w", cfg.Rootfs, err)
		}
	}
	root, err := bindRootfs(target)
	if err != nil {
		return nil, fmt.Errorf("bind rootfs %s onto itself: %w", cfg.Rootfs, err)
	}
	return root, nil
}

func mountSourceName(m specs.Mount) string {
	if m.Source != "" {
		return m.Source
	}
	return m.Type
}

func propagationOf(name string) (flag uint64, recursive bool, err error) {
	if name == "" {
		return unix.MS_SLAVE, true, nil
	}
	p, ok := propagationOptions[name]
	if !ok {
		return 0, false, fmt.Errorf("unknown rootfsPropagation %q", name)
	}
	return p.flag, p.recursive, nil
}

// setRootPropagation is what keeps container mounts from reaching the host
// (rslave by default) or lets them reach it when the config says shared.
// An unbindable rootfs could not be bound onto itself: until the root
// switch it is private, which keeps the host out just as well, and
// applyRootfsPropagation makes it unbindable after (program
// linux_rootfs_propagation).
func setRootPropagation(name string) error {
	flag, recursive, err := propagationOf(name)
	if err != nil {
		return err
	}
	if flag == unix.MS_UNBINDABLE {
		flag = unix.MS_PRIVATE
	}
	flags := uint(0)
	if recursive {
		flags = unix.AT_RECURSIVE
	}
	if err := unix.MountSetattr(unix.AT_FDCWD, "/", flags, &unix.MountAttr{Propagation: flag}); err != nil {
		return fmt.Errorf("set propagation of / to %s: %w", name, err)
	}
	return nil
}

// applyRootfsPropagation gives the new root the propagation the config asked
// for; without one the rslave set before the switch stands.
func applyRootfsPropagation(name string) error {
	if name == "" {
		return nil
	}
	flag, recursive, _ := propagationOf(name)
	flags := uint(0)
	if recursive {
		flags = unix.AT_RECURSIVE
	}
	if err := unix.MountSetattr(unix.AT_FDCWD, "/", flags, &unix.MountAttr{Propagation: flag}); err != nil {
		return fmt.Errorf("set rootfsPropagation %s: %w", name, err)
	}
	return nil
}

// mayLeaveMountsShared tells whether the rootfs propagation set on / can
// leave the mount above the rootfs shared: a shared one, or one that
// changes / alone. The default rslave, rprivate and runbindable turn every
// mount of the namespace into a non-shared one, and checking would read
// mountinfo, a line per mount of the host, at every create.
func mayLeaveMountsShared(name string) bool {
	flag, recursive, _ := propagationOf(name)
	return flag == unix.MS_SHARED || !recursive
}

// makeParentMountPrivate: pivot_root refuses a new root whose parent mount
// is shared, which it is once rootfsPropagation asks for shared. The mount
// is changed through a handle on its root found from the rootfs handle,
// never through the mount point mountinfo names: in a user namespace the
// walk from / to that name is made as the namespace's root, which may not
// enter directories on the way (another engine's state), and the name may
// lead to a different mount stacked there meanwhile.
func makeParentMountPrivate(rootfs *os.File) error {
	mountRoot, mountID, err := mountRootOf(rootfs)
	if err != nil {
		return err
	}
	defer mountRoot.Close()
	shared, err := isSharedMount(mountID)
	if err != nil || !shared {
		return err
	}
	return unix.MountSetattr(int(mountRoot.Fd()), "", unix.AT_EMPTY_PATH, &unix.MountAttr{Propagation: unix.MS_PRIVATE})
}

// isSharedMount reads the mountinfo of the container's mount namespace
// (this runs before the root switch, before anything changed it) for the
// propagation of the mount with the given ID.
func isSharedMount(mountID uint64) (bool, error) {
	f, err := os.Open("/proc/thread-self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	found, err := mountinfo.GetMountsFromReader(f, func(m *mountinfo.Info) (skip, stop bool) {
		match := uint64(m.ID) == mountID
		return !match, match
	})
	if err != nil {
		return false, err
	}
	if len(found) == 0 {
		return false, fmt.Errorf("mount id %d not in mountinfo", mountID)
	}
	return strings.Contains(found[0].Optional, "shared:"), nil
}

// bindRootfs binds the directory target refers to onto itself, handle to
// handle, and returns the handle every later lookup is rooted at: the root
// of the new bind mount itself, not the directory below it.
func bindRootfs(target *os.File) (*os.File, error) {
	mnt, err := cloneTree(int(target.Fd()), "", true)
	if err != nil {
		return nil, err
	}
	if err := attachMount(mnt, target); err != nil {
		mnt.Close()
		return nil, err
	}
	return mnt, nil
}

// deferredReadOnly is a mount made writable that becomes read-only once
// everything below it exists.
type deferredReadOnly struct {
	dest string
	opts mountOptions // the read-only flags only
}

func (d deferredReadOnly) apply(root *os.File) error {
	target, err := openInRoot(root, d.dest, unix.O_PATH, 0)
	if err != nil {
		return fmt.Errorf("make %s read-only: %w", d.dest, err)
	}
	defer target.Close()
	if err := applyAttrs(target, d.opts); err != nil {
		return fmt.Errorf("make %s read-only: %w", d.dest, err)
	}
	return nil
}

// mountOne makes one spec mount. A read-only /dev is returned as later:
// its submounts' mountpoints and the device nodes are still to be made in
// it, so, as with runc, it is made read-only last.
func mountOne(root *os.File, cfg *Config, index int, m specs.Mount) (later *deferredReadOnly, err error) {
	// Setup's caller already names the mount; the bare reason is enough.
	if err := validateMount(m); err != nil {
		return nil, err
	}
	opts, err := parseMountOptions(m.Options)
	if err != nil {
		return nil, err
	}
	dest := path.Clean(m.Destination)
	if opts.remount {
		return nil, remountExisting(root, dest, opts)
	}
	if m.Type == "cgroup" && len(cfg.CgroupV1) > 0 && !isBind(m, opts) {
		return nil, mountCgroupV1(root, cfg, dest, opts)
	}
	newFS := !isBind(m, opts)
	if newFS && m.Type == "tmpfs" {
		opts.data = inheritMountpointMode(root, dest, opts.data)
	}
	// A tmpfs to be filled, and /dev, start writable: the copy, or the
	// device nodes and the submounts' mountpoints, go in first.
	createOpts := opts
	if fillsTmpfs(m, opts) || (newFS && dest == "/dev") {
		createOpts.attrSet &^= unix.MOUNT_ATTR_RDONLY
		createOpts.recAttrSet &^= unix.MOUNT_ATTR_RDONLY
	}
	if newFS && dest == "/dev" && (opts.attrSet|opts.recAttrSet)&unix.MOUNT_ATTR_RDONLY != 0 {
		later = &deferredReadOnly{dest: dest, opts: mountOptions{
			attrSet:    opts.attrSet & unix.MOUNT_ATTR_RDONLY,
			recAttrSet: opts.recAttrSet & unix.MOUNT_ATTR_RDONLY,
		}}
	}
	return later, makeMount(root, cfg, index, m, dest, opts, createOpts)
}

// fillsTmpfs: tmpcopyup on a new tmpfs.
func fillsTmpfs(m specs.Mount, opts mountOptions) bool {
	return opts.copyUp && m.Type == "tmpfs" && !isBind(m, opts)
}

// makeMount creates the mount with createOpts and attaches it at dest;
// a filled tmpfs gets the flags of opts after the copy.
func makeMount(root *os.File, cfg *Config, index int, m specs.Mount, dest string, opts, createOpts mountOptions) error {
	fillTmpfs := fillsTmpfs(m, opts)
	mnt, err := prepareMount(root, cfg, index, m, createOpts)
	if err != nil {
		return err
	}
	defer mnt.Close()

	var target *os.File
	if m.Type == "proc" || m.Type == "sysfs" {
		target, err = plainDirTarget(root, dest, m.Type)
	} else {
		target, err = ensureTarget(root, dest, kindOf(mnt))
	}
	if err != nil {
		return err
	}
	defer target.Close()
	if m.Type != "proc" && !procOvermountAllowed[dest] {
		if err := refuseProcfsTarget(target, dest); err != nil {
			return err
		}
	}
	if fillTmpfs {
		if err := copyUp(target, mnt); err != nil {
			return err
		}
		if err := applyAttrs(mnt, opts); err != nil {
			return err
		}
	}
	if err := attachMount(mnt, target); err != nil {
		return err
	}
	return applyPropagation(mnt, opts)
}

// prepareMount builds the mount detached, flags and all, so it is complete
// the moment it appears in the container.
func prepareMount(root *os.File, cfg *Config, index int, m specs.Mount, opts mountOptions) (*os.File, error) {
	if !isBind(m, opts) {
		fsType := m.Type
		if fsType == "cgroup" {
			// On a cgroup v2 host a cgroup mount is the unified
			// hierarchy.
			fsType = "cgroup2"
		}
		if fsType == "cgroup2" {
			opts = cgroupReadOnly(opts)
		}
		if fsType == "cgroup2" {
			return newCgroup2(cfg, m, opts)
		}
		opts.data = withMountLabel(opts.data, fsType, cfg.Spec.Linux.MountLabel)
		if fsType == "proc" && cfg.ProcContexts != nil {
			return createProc(cfg, m.Source, opts)
		}
		if fsType == "sysfs" {
			return newSysfs(cfg, m.Source, opts)
		}
		return newFilesystem(cfg, fsType, m.Source, opts)
	}
	mnt, err := cloneBindSource(cfg, root, index, m, opts.recursiveBind)
	if err != nil {
		return nil, err
	}
	if err := idmapBind(cfg, index, m, opts, mnt); err != nil {
		mnt.Close()
		return nil, err
	}
	if err := applyBindAttrs(mnt, opts); err != nil {
		mnt.Close()
		return nil, err
	}
	return mnt, nil
}

// newSysfs creates a fresh sysfs or, where the kernel refuses one (a
// user namespace that does not own the network namespace, as in rootless
// mode), binds the host's /sys with its submounts instead, as `spec
// --rootless` writes it: the container then runs with the host's view of
// /sys rather than failing. The mount's restrictions (read-only, nosuid,
// nodev, noexec) go on every submount too, so that none of them is more
// open than the mount asked for.
func newSysfs(cfg *Config, source string, opts mountOptions) (*os.File, error) {
	mnt, err := newFilesystem(cfg, "sysfs", source, opts)
	if !errors.Is(err, unix.EPERM) {
		return mnt, err
	}
	fd, bindErr := unix.OpenTree(unix.AT_FDCWD, "/sys", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if bindErr != nil {
		return nil, fmt.Errorf("%w (and a bind of the host's /sys: %w)", err, os.NewSyscallError("open_tree /sys", bindErr))
	}
	bind := os.NewFile(uintptr(fd), "/sys")
	// What a fresh sysfs would have got (see mountFresh), restrictions
	// only: the host's submounts may be locked, and clearing a flag on
	// them would be refused.
	attrs := (opts.attrSet &^ opts.recAttrClr) | opts.recAttrSet
	restrict := unix.MountAttr{Attr_set: attrs & (unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC)}
	if err := setMountAttr(bind, restrict, true); err != nil {
		bind.Close()
		return nil, fmt.Errorf("bind of the host's /sys for sysfs: %w", err)
	}
	return bind, nil
}

// createProc creates a proc mount from the next of cfg.ProcContexts.
func createProc(cfg *Config, source string, opts mountOptions) (*os.File, error) {
	if len(cfg.ProcContexts) == 0 {
		return nil, errors.New("proc mount: no procfs context of the container's pid namespace left")
	}
	ctx := cfg.ProcContexts[0]
	cfg.ProcContexts = cfg.ProcContexts[1:]
	defer ctx.Close()
	var mnt *os.File
	var err error
	if cfg.ProcContextsCreated {
		mnt, err = mountCreated(ctx, "proc", opts)
	} else {
		settings := filesystemSettings(source, opts)
		failed, configErr := configureFilesystem(int(ctx.Fd()), settings)
		mnt, err = mountMade(ctx, "proc", settings, failed, configErr, opts)
	}
	if err != nil {
		return nil, err
	}
	// The helper that opened the context was, for a moment, in the
	// joined pid namespace, where others could have made it send us
	// something else.
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(mnt.Fd()), &fs); err != nil || fs.Type != unix.PROC_SUPER_MAGIC {
		mnt.Close()
		return nil, errors.New("proc mount: the context from the joined pid namespace is not a procfs")
	}
	return mnt, nil
}

func idmapBind(cfg *Config, index int, m specs.Mount, opts mountOptions, mnt *os.File) error {
	if !opts.idmap && len(m.UIDMappings) == 0 {
		return nil
	}
	if cfg.Idmap == nil {
		return errors.New("idmapped mounts are not available here")
	}
	return cfg.Idmap(index, mnt)
}

// inheritMountpointMode gives a tmpfs without mode= the mode of the
// directory it covers, as runc does: an image's 1777 /tmp or 0700
// private directory keeps its meaning under the mount. A mountpoint that
// does not exist yet is created later, and the tmpfs keeps its default.
func inheritMountpointMode(root *os.File, dest string, data []string) []string {
	for _, item := range data {
		if strings.HasPrefix(item, "mode=") {
			return data
		}
	}
	dir, err := openInRoot(root, dest, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		// Missing (the tmpfs keeps its default) or not a directory
		// (ensureTarget reports it).
		return data
	}
	defer dir.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(dir.Fd()), &st); err != nil {
		return data
	}
	return append([]string{fmt.Sprintf("mode=%o", st.Mode&0o7777)}, data...)
}

// bindCgroup clones the cgroup directory dir (relative to dirfd) with the
// mount's attributes. Not recursively: nothing mounted below a cgroup
// directory belongs in the container.
func bindCgroup(dirfd int, dir string, opts mountOptions) (*os.File, error) {
	mnt, err := cloneTree(dirfd, dir, false)
	if err != nil {
		return nil, err
	}
	if err := applyAttrs(mnt, opts); err != nil {
		mnt.Close()
		return nil, err
	}
	return mnt, nil
}

func kindOf(mnt *os.File) targetKind {
	var st unix.Stat_t
	if err := unix.Fstat(int(mnt.Fd()), &st); err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return targetFile
	}
	return targetDir
}

// plainDirTarget is for /proc and /sys: a symlink anywhere on the way would
// let the container choose where procfs or sysfs lands. The errors keep runc's
// words, which users search for.
func plainDirTarget(root *os.File, dest, fstype string) (*os.File, error) {
	lookup := func() (*os.File, error) {
		return openInRoot(root, dest, unix.O_PATH|unix.O_NOFOLLOW, unix.RESOLVE_NO_SYMLINKS)
	}
	target, err := lookup()
	if isNotExist(err) {
		var created *os.File
		if created, err = ensureInRoot(root, dest, targetDir); err == nil {
			created.Close()
			target, err = lookup()
		}
	}
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("filesystem %q must be mounted on ordinary directory: %s must not be reached through a symlink", fstype, dest)
	}
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(target.Fd()), &st); err != nil {
		target.Close()
		return nil, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return target, nil
	case unix.S_IFLNK:
		target.Close()
		return nil, fmt.Errorf("filesystem %q must be mounted on ordinary directory: %s is a symlink", fstype, dest)
	default:
		target.Close()
		return nil, fmt.Errorf("filesystem %q must be mounted on ordinary directory: %s is not a directory", fstype, dest)
	}
}

// refuseProcfsTarget catches a destination that only reaches procfs through
// a symlink (for example /etc/x -> /proc/sys/kernel/core_pattern): covering
// procfs files is allowed only at the lexically checked places.
func refuseProcfsTarget(target *os.File, dest string) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(target.Fd()), &st); err != nil {
		return fmt.Errorf("statfs %s: %w", dest, err)
	}
	if st.Type == unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("%s resolves into procfs, where this mount is not allowed", dest)
	}
	return nil
}

// remountExisting changes the flags of a mount already at dest.
func remountExisting(root *os.File, dest string, opts mountOptions) error {
	target, err := openInRoot(root, dest, unix.O_PATH, 0)
	if err != nil {
		return err
	}
	defer target.Close()
	if err := applyAttrs(target, opts); err != nil {
		return err
	}
	return applyPropagation(target, opts)
}

// pivotRoot uses the "pivot_root(".", ".")" idiom: no path names, and the
// old root ends up stacked on the new one where it can be lazily detached.
func pivotRoot(root *os.File) error {
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open old root: %w", err)
	}
	defer unix.Close(oldRoot)
	if err := unix.Fchdir(int(root.Fd())); err != nil {
		return fmt.Errorf("chdir to rootfs: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Fchdir(oldRoot); err != nil {
		return fmt.Errorf("chdir to old root: %w", err)
	}
	// Detaching the old root must not propagate an unmount to the host.
	if err := unix.MountSetattr(unix.AT_FDCWD, ".", unix.AT_RECURSIVE, &unix.MountAttr{Propagation: unix.MS_SLAVE}); err != nil {
		return fmt.Errorf("make old root rslave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	return unix.Chdir("/")
}

// moveRoot is --no-pivot: for roots pivot_root cannot leave (initramfs).
// The host tree stays underneath, reachable only by a process that can
// escape a chroot, which is why it is opt-in. Its procfs and sysfs are
// hidden first (see hideHostKernelFilesystems).
func moveRoot(cfg *Config, root *os.File) error {
	if err := hideHostKernelFilesystems(cfg, root); err != nil {
		return err
	}
	if err := unix.MoveMount(int(root.Fd()), "", unix.AT_FDCWD, "/", unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move rootfs to /: %w", err)
	}
	if err := unix.Fchdir(int(root.Fd())); err != nil {
		return fmt.Errorf("chdir to rootfs: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	return unix.Chdir("/")
}

// ChrootInto is the root switch in the runtime's mount namespace (Setup
// for create, the exec'd process for exec), where
// pivot_root would move the root of every host process that shares "/"
// and MS_MOVE would cover the host's "/". As with runc, a process that
// keeps CAP_SYS_CHROOT can leave a chroot: a container without a mount
// namespace is not isolated from the host's filesystem.
func ChrootInto(root *os.File) error {
	if err := unix.Fchdir(int(root.Fd())); err != nil {
		return fmt.Errorf("chdir to rootfs: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	return unix.Chdir("/")
}
