package configs

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/libcontainer/rootfs"
)

// validateMounts leaves the mount rules (types, options, destinations,
// which mounts may carry idmaps) to the rootfs package that applies them,
// and adds the id-range rules shared with the container's own maps.
func validateMounts(spec *specs.Spec) error {
	for i, m := range spec.Mounts {
		field := fmt.Sprintf("mounts[%d]", i)
		if err := rootfs.ValidateMount(m); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		if err := validateIDMap(field+".uidMappings", m.UIDMappings); err != nil {
			return err
		}
		if err := validateIDMap(field+".gidMappings", m.GIDMappings); err != nil {
			return err
		}
	}
	return nil
}
