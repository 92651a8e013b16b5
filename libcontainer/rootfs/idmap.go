package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// PrepareMountFDs runs in the parent, in the host namespaces: an idmapped
// mount needs a user namespace fd carrying the mapping, and the host is
// where one can be made with arbitrary maps. Each returned fd is a detached
// idmapped bind, keyed by the mount's index in spec.Mounts.
func PrepareMountFDs(spec *specs.Spec, bundle string) (_ map[int]*os.File, err error) {
	fds := map[int]*os.File{}
	defer func() {
		if err != nil {
			closeMountFDs(fds)
		}
	}()
	usernsByMapping := map[string]*os.File{}
	defer func() {
		for _, f := range usernsByMapping {
			f.Close()
		}
	}()
	for i, m := range spec.Mounts {
		opts, err := parseMountOptions(m.Options)
		if err != nil {
			return nil, fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
		}
		if !opts.idmap && len(m.UIDMappings) == 0 {
			continue
		}
		mnt, err := idmappedMount(spec, bundle, m, opts, usernsByMapping)
		if err != nil {
			return nil, fmt.Errorf("idmapped mount %s on %s: %w", m.Source, m.Destination, err)
		}
		fds[i] = mnt
	}
	return fds, nil
}

func idmappedMount(spec *specs.Spec, bundle string, m specs.Mount, opts mountOptions, usernsByMapping map[string]*os.File) (*os.File, error) {
	if !isBind(m, opts) {
		return nil, errors.New("idmap is only allowed on bind mounts")
	}
	uidMaps, gidMaps := m.UIDMappings, m.GIDMappings
	if len(uidMaps) == 0 && spec.Linux != nil {
		// Without its own maps the mount takes the container's.
		uidMaps, gidMaps = spec.Linux.UIDMappings, spec.Linux.GIDMappings
	}
	if len(uidMaps) == 0 || len(gidMaps) == 0 {
		return nil, errors.New("idmap needs uid and gid mappings, on the mount or for the container's user namespace")
	}
	key := fmt.Sprint(uidMaps, gidMaps)
	userns, ok := usernsByMapping[key]
	if !ok {
		var err error
		if userns, err = newUserNamespace(uidMaps, gidMaps); err != nil {
			return nil, err
		}
		usernsByMapping[key] = userns
	}
	source := m.Source
	if !filepath.IsAbs(source) {
		source = filepath.Join(bundle, source)
	}
	mnt, err := cloneTree(unix.AT_FDCWD, source, opts.recursiveBind)
	if err != nil {
		return nil, err
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
	if err := setMountAttr(mnt, attr, opts.recursiveIdmap); err != nil {
		mnt.Close()
		return nil, err
	}
	return mnt, nil
}

func toSyscallMaps(maps []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(maps))
	for i, m := range maps {
		out[i] = syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)}
	}
	return out
}

// newUserNamespace returns an fd to a fresh user namespace with the given
// maps. A namespace needs a process to be born in; this one is traced, so
// it stops at its execve before running a single instruction of the program
// and is killed as soon as its namespace is pinned by the fd.
func newUserNamespace(uidMaps, gidMaps []specs.LinuxIDMapping) (*os.File, error) {
	// The tracer is this thread; if it exited, the stopped child would
	// be released into the program.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	proc, err := os.StartProcess("/proc/self/exe", []string{"oci-rt-userns-holder"}, &os.ProcAttr{
		Sys: &syscall.SysProcAttr{
			Cloneflags:  unix.CLONE_NEWUSER,
			UidMappings: toSyscallMaps(uidMaps),
			GidMappings: toSyscallMaps(gidMaps),
			Ptrace:      true,
			Pdeathsig:   unix.SIGKILL,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("start user namespace holder: %w", err)
	}
	defer func() {
		_ = proc.Kill()
		_, _ = proc.Wait()
	}()
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", proc.Pid))
	if err != nil {
		return nil, fmt.Errorf("open user namespace: %w", err)
	}
	nsType, err := unix.IoctlRetInt(int(ns.Fd()), unix.NS_GET_NSTYPE)
	if err != nil || nsType != unix.CLONE_NEWUSER {
		ns.Close()
		return nil, errors.New("opened a user namespace handle that is not one")
	}
	return ns, nil
}
