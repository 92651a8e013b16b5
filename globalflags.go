package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"github.com/urfave/cli/v2"
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
// systemd cgroup manager is asked for (which would know the owner of the
// session; root of a user namespace with cgroupfs cannot tell whether it
// may write the cgroup tree, so it assumes not).
func rootlessCgroups(ctx *cli.Context) (bool, error) {
	explicit, err := parseRootless(ctx.String("rootless"))
	if err != nil || explicit != nil {
		return explicit != nil && *explicit, err
	}
	return autoRootless(os.Geteuid(), inUserNamespace(), ctx.Bool("systemd-cgroup")), nil
}

// autoRootless is --rootless=auto for the given euid, user namespace and
// cgroup manager.
func autoRootless(euid int, inUserNS, systemdCgroup bool) bool {
	switch {
	case euid != 0:
		return true
	case !inUserNS:
		return false
	default:
		return !systemdCgroup
	}
}

// inUserNamespace tells whether this process runs in a user namespace
// other than the host's, whose uid map covers every id from 0.
func inUserNamespace() bool {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	fields := bytes.Fields(data)
	hostMap := len(fields) == 3 && string(fields[0]) == "0" && string(fields[1]) == "0" && string(fields[2]) == "4294967295"
	return !hostMap
}
