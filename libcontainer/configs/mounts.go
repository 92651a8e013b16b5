package configs

import (
	"errors"
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func validateMounts(spec *specs.Spec) error {
	for i, m := range spec.Mounts {
		if err := validateMount(m); err != nil {
			return fmt.Errorf("mounts[%d] (destination %q): %w", i, m.Destination, err)
		}
	}
	return nil
}

// validateMount is the single place a mount entry is checked.
//
// WIRING PENDING: libcontainer/rootfs (written concurrently) will provide
// rootfs.ValidateMount, which owns the mount rules (types, options,
// destinations). Once it exists, call it here and drop the interim checks
// below that it covers.
func validateMount(m specs.Mount) error {
	if err := requireAbsolute("destination", m.Destination); err != nil {
		return err
	}
	if hasDotDot(m.Destination) {
		return errors.New("destination must not contain \"..\"")
	}
	idmapped := len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 ||
		slices.Contains(m.Options, "idmap") || slices.Contains(m.Options, "ridmap")
	isBind := slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
	if idmapped && !isBind {
		return errors.New("an idmapped mount must be a bind mount")
	}
	if err := validateIDMap("uidMappings", m.UIDMappings); err != nil {
		return err
	}
	return validateIDMap("gidMappings", m.GIDMappings)
}
