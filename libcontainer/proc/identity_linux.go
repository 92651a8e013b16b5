package proc

import (
	"bytes"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SwitchIdentity makes the calling thread the configured process: rlimits,
// groups, uid/gid, the five capability sets, umask and the final CPU
// affinity. Caps, ids and affinity are set on this thread only, so the
// caller must have locked its OS thread and execve from it. A nil caps
// keeps no capability. Once the rlimits are set it makes raw system calls
// only (rawsys_linux.go), and so must the caller until execve.
func SwitchIdentity(p *specs.Process, id *Identity, caps *CapSets) error {
	if caps == nil {
		caps = &CapSets{}
	}
	setgroups, err := setgroupsAllowed(id.AdditionalGids)
	if err != nil {
		return err
	}
	// Before the capabilities go: raising a limit needs CAP_SYS_RESOURCE.
	if err := SetRlimits(p.Rlimits); err != nil {
		return err
	}
	// Without KEEPCAPS the switch away from uid 0 would clear the permitted
	// set before capset could choose what stays.
	if err := rawPrctl(unix.PR_SET_KEEPCAPS, 1, 0); err != nil {
		return fmt.Errorf("set keep-capabilities: %w", err)
	}
	// Dropping from the bounding set needs CAP_SETPCAP, which the process may
	// not keep.
	if err := dropBoundingSet(caps.Bounding); err != nil {
		return err
	}
	if setgroups {
		if err := setGroups(id.AdditionalGids); err != nil {
			return err
		}
	}
	if err := rawSetresid(unix.SYS_SETRESGID, id.GID); err != nil {
		return fmt.Errorf("setresgid %d: %w", id.GID, err)
	}
	if err := rawSetresid(unix.SYS_SETRESUID, id.UID); err != nil {
		return fmt.Errorf("setresuid %d: %w", id.UID, err)
	}
	if err := setCapabilities(caps); err != nil {
		return err
	}
	if err := rawPrctl(unix.PR_SET_KEEPCAPS, 0, 0); err != nil {
		return fmt.Errorf("clear keep-capabilities: %w", err)
	}
	// The uid switch clears the ambient set, so it is raised only now.
	if err := raiseAmbient(caps.Ambient); err != nil {
		return err
	}
	if id.Umask != nil {
		unix.Umask(int(*id.Umask))
	}
	if p.ExecCPUAffinity != nil && p.ExecCPUAffinity.Final != "" {
		if err := setCPUAffinity(p.ExecCPUAffinity.Final); err != nil {
			return fmt.Errorf("execCPUAffinity.final: %w", err)
		}
	}
	return nil
}

// setgroupsAllowed tells whether setgroups(2) may be called. In a user
// namespace whose setgroups file says "deny" it always fails; with no
// groups wanted there is nothing to do then, and with groups wanted that is
// an error.
func setgroupsAllowed(gids []uint32) (bool, error) {
	policy, err := readProcThreadSelf("setgroups")
	if err != nil {
		return false, fmt.Errorf("read setgroups policy: %w", err)
	}
	if !bytes.HasPrefix(policy, []byte("deny")) {
		return true, nil
	}
	if len(gids) > 0 {
		return false, fmt.Errorf("additional gids %v requested but setgroups is denied in this user namespace", gids)
	}
	return false, nil
}

// setGroups sets this thread's supplementary groups (unix.Setgroups is a
// raw, per-thread call).
func setGroups(gids []uint32) error {
	groups := make([]int, len(gids))
	for i, gid := range gids {
		groups[i] = int(gid)
	}
	if err := unix.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups %v: %w", gids, err)
	}
	return nil
}

// NoNewPrivileges sets PR_SET_NO_NEW_PRIVS when the spec asks for it.
func NoNewPrivileges(p *specs.Process) error {
	if !p.NoNewPrivileges {
		return nil
	}
	if err := rawPrctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	return nil
}
