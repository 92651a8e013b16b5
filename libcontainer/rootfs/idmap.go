package rootfs

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Idmapper runs in the parent, in the host's user namespace, and gives
// the detached binds the init made (in the container's view, so that they
// see the mounts before them) the idmapping their spec mounts ask for: an
// idmapped mount needs a user namespace fd carrying the mapping, and only
// the host can make one with arbitrary maps and has the right to apply it
// to a filesystem the host mounted.
type Idmapper struct {
	spec            *specs.Spec
	usernsByMapping map[string]*os.File
}

// NewIdmapper serves the idmapped mounts of spec; it makes no user
// namespace before one is needed.
func NewIdmapper(spec *specs.Spec) *Idmapper {
	return &Idmapper{spec: spec, usernsByMapping: map[string]*os.File{}}
}

// Close releases the user namespaces made for the mappings.
func (im *Idmapper) Close() {
	for _, f := range im.usernsByMapping {
		f.Close()
	}
}

// Idmap gives mnt, a detached bind made for spec mount index, that mount's
// idmapping.
func (im *Idmapper) Idmap(index int, mnt *os.File) error {
	if index < 0 || index >= len(im.spec.Mounts) {
		return fmt.Errorf("idmap: no mount %d in the config", index)
	}
	m := im.spec.Mounts[index]
	opts, err := parseMountOptions(m.Options)
	if err != nil {
		return err
	}
	if !isBind(m, opts) || (!opts.idmap && len(m.UIDMappings) == 0) {
		return fmt.Errorf("idmap: mount %d is no idmapped bind", index)
	}
	uidMaps, gidMaps := m.UIDMappings, m.GIDMappings
	if len(uidMaps) == 0 && im.spec.Linux != nil {
		// Without its own maps the mount takes the container's.
		uidMaps, gidMaps = im.spec.Linux.UIDMappings, im.spec.Linux.GIDMappings
	}
	if len(uidMaps) == 0 || len(gidMaps) == 0 {
		return errors.New("idmap needs uid and gid mappings, on the mount or for the container's user namespace")
	}
	key := fmt.Sprint(uidMaps, gidMaps)
	userns, ok := im.usernsByMapping[key]
	if !ok {
		if userns, err = newUserNamespace(uidMaps, gidMaps); err != nil {
			return err
		}
		im.usernsByMapping[key] = userns
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
	return setMountAttr(mnt, attr, opts.recursiveIdmap)
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
