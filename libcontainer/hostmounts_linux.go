package libcontainer

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/libcontainer/configs"
	"github.com/oci-rt/oci-rt/libcontainer/rootfs"
)

// bindHostRootfs prepares the root of a container that shares the
// runtime's mount namespace: the rootfs bound onto itself here, in the
// host's namespace, recorded in the state before it exists so that delete
// (also after a failed create or a killed runtime) unmounts it and every
// mount the init makes below it. It returns nil for a container with a
// mount namespace of its own. root is the rootfs as create opened it.
func bindHostRootfs(lock *Lock, st *State, spec *specs.Spec, noPivot bool, root *os.File) (*os.File, error) {
	if !configs.SharesRuntimeMountNamespace(spec) {
		return nil, nil
	}
	if noPivot {
		// As runc: MS_MOVE onto "/" would cover the host's root.
		return nil, errors.New("--no-pivot: needs the container's own mount namespace (the config shares the runtime's)")
	}
	return rootfs.BindHostRootfs(st.Rootfs, root, func(id rootfs.HostRootMount) error {
		st.HostRootfsMount = &id
		return lock.Save(st)
	})
}

// unmountHostRootfs undoes bindHostRootfs at delete. Mount IDs are
// reused across boots: the bind recorded in another boot is gone, and its
// ID may name another mount now.
func (c *Container) unmountHostRootfs() error {
	st := c.State
	if st.HostRootfsMount == nil || c.checkBoot() != nil {
		return nil
	}
	return rootfs.UnmountHostRootfs(st.Rootfs, *st.HostRootfsMount)
}

// openHostRoot opens the root an exec'd process chroots into when the
// container has no mount namespace of its own: the init's, which is the
// rootfs bind. The caller checks afterwards that the init is still the
// container's.
func openHostRoot(initPid int, spec *specs.Spec) (*os.File, error) {
	if !configs.SharesRuntimeMountNamespace(spec) {
		return nil, nil
	}
	f, err := os.OpenFile(initRoot(initPid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the container's root: %w", err)
	}
	return f, nil
}

// enterHostRoot is the exec'd process's side of openHostRoot.
func enterHostRoot(fd int) error {
	root := os.NewFile(uintptr(fd), "container root")
	defer root.Close()
	return rootfs.ChrootInto(root)
}
