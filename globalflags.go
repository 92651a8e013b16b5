package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/cgroups/systemd"
)

// parseRootless reads --rootless as runc does: any boolean strconv
// accepts, or auto (also empty), returned as nil.
func parseRootless(value string) (*bool, error) {
	if value == "" || value == "auto" {
		return nil, nil
	}
	rootless, err := strconv.ParseBool(value)
	if err != nil {
		return nil, fmt.Errorf("invalid --rootless value %q: use true, false or auto", value)
	}
	return &rootless, nil
}

// rootlessCgroups resolves --rootless for a new container the way runc
// does: an explicit value is taken as given; auto means rootless for a
// non-root euid, and for euid 0 inside a user namespace unless the
// systemd cgroup manager is asked for and the systemd reached is the
// system's (root of a user namespace with cgroupfs cannot tell whether it
// may write the cgroup tree, so it assumes not; with a user's systemd, as
// under rootless Podman, the cgroups are the user's).
func rootlessCgroups(ctx *cli.Context) (bool, error) {
	explicit, err := parseRootless(ctx.String("rootless"))
	if err != nil || explicit != nil {
		return explicit != nil && *explicit, err
	}
	return autoRootless(os.Geteuid(), cgroups.InUserNamespace(), ctx.Bool("systemd-cgroup"), systemd.UserManager()), nil
}

// autoRootless is --rootless=auto for the given euid, user namespace,
// cgroup manager and kind of systemd (a user's manager or the system's).
func autoRootless(euid int, inUserNS, systemdCgroup, userManager bool) bool {
	switch {
	case euid != 0:
		return true
	case !inUserNS:
		return false
	default:
		return !systemdCgroup || userManager
	}
}
