package configs

import (
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// SharesRuntimeMountNamespace reports whether the container's mounts are
// made in the runtime's own mount namespace: the config lists no mount
// namespace, or joins the one oci-rt runs in. The rootfs is then set up
// where the host sees it and entered with chroot (pivot_root would move the
// root of every process on the host), as runc does.
func SharesRuntimeMountNamespace(spec *specs.Spec) bool {
	return !hasOwnNamespace(spec, specs.MountNamespace)
}

// validateSharedMountNamespace refuses what cannot be done to a rootfs
// that lives in the host's mount namespace. runc refuses maskedPaths and
// readonlyPaths there too ("unable to restrict sys entries without a
// private MNT namespace"); it silently ignores root.readonly and applies
// rootfsPropagation to the host's "/", both of which we refuse instead.
func validateSharedMountNamespace(spec *specs.Spec) error {
	if !SharesRuntimeMountNamespace(spec) {
		return nil
	}
	l := spec.Linux
	switch {
	case len(l.MaskedPaths) > 0:
		return errors.New("linux.maskedPaths: set, but masking needs the container's own mount namespace (the config shares the runtime's)")
	case len(l.ReadonlyPaths) > 0:
		return errors.New("linux.readonlyPaths: set, but read-only paths need the container's own mount namespace (the config shares the runtime's)")
	case spec.Root.Readonly:
		return errors.New("root.readonly: true, but a read-only root needs the container's own mount namespace (the config shares the runtime's)")
	case l.RootfsPropagation != "":
		return errors.New("linux.rootfsPropagation: set, but without the container's own mount namespace it would change the host's mount propagation")
	case hasOwnNamespace(spec, specs.UserNamespace):
		// Mounts in a mount namespace owned by the initial user namespace
		// need privilege there, which a new user namespace does not give.
		return errors.New("linux.namespaces: a user namespace needs the container's own mount namespace to set up the rootfs")
	}
	return nil
}
