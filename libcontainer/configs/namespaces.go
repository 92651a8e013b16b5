package configs

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// procNamespaceNames maps each runtime-spec namespace type to its name under
// /proc/<pid>/ns.
var procNamespaceNames = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace:     "pid",
	specs.NetworkNamespace: "net",
	specs.MountNamespace:   "mnt",
	specs.IPCNamespace:     "ipc",
	specs.UTSNamespace:     "uts",
	specs.UserNamespace:    "user",
	specs.CgroupNamespace:  "cgroup",
	specs.TimeNamespace:    "time",
}

// ProcNamespaceName is the name of a namespace type under /proc/<pid>/ns,
// or "" for a type runtime-spec does not define.
func ProcNamespaceName(t specs.LinuxNamespaceType) string {
	return procNamespaceNames[t]
}

func validateNamespaces(spec *specs.Spec) error {
	seen := make(map[specs.LinuxNamespaceType]bool)
	for i, ns := range spec.Linux.Namespaces {
		field := fmt.Sprintf("linux.namespaces[%d]", i)
		if ProcNamespaceName(ns.Type) == "" {
			return fmt.Errorf("%s: unknown namespace type %q", field, ns.Type)
		}
		if seen[ns.Type] {
			return fmt.Errorf("%s: namespace type %q is listed more than once", field, ns.Type)
		}
		seen[ns.Type] = true
		if ns.Path != "" {
			if err := requireAbsolute(field+".path", ns.Path); err != nil {
				return err
			}
		}
	}
	return validateTimeOffsets(spec)
}

// namespaceEntry returns the spec's entry for a namespace type, if any.
func namespaceEntry(spec *specs.Spec, nsType specs.LinuxNamespaceType) (specs.LinuxNamespace, bool) {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == nsType {
			return ns, true
		}
	}
	return specs.LinuxNamespace{}, false
}

// createsNamespace reports whether the container gets a fresh namespace of
// this type rather than joining one.
func createsNamespace(spec *specs.Spec, nsType specs.LinuxNamespaceType) bool {
	ns, ok := namespaceEntry(spec, nsType)
	return ok && ns.Path == ""
}

// hasOwnNamespace reports whether the container's namespace of this type is
// not the runtime's: either a new one, or a joined path that is not the one
// oci-rt itself runs in (a config may name /proc/1/ns/net to smuggle a
// host-wide sysctl through).
func hasOwnNamespace(spec *specs.Spec, nsType specs.LinuxNamespaceType) bool {
	ns, ok := namespaceEntry(spec, nsType)
	if !ok {
		return false
	}
	if ns.Path == "" {
		return true
	}
	var joined, own unix.Stat_t
	if unix.Stat(ns.Path, &joined) != nil {
		// Joining will fail with a clearer error than a guess here.
		return true
	}
	if unix.Stat("/proc/self/ns/"+procNamespaceNames[nsType], &own) != nil {
		return true
	}
	return joined.Dev != own.Dev || joined.Ino != own.Ino
}

// timeClocks are the clocks a time namespace can offset.
var timeClocks = map[string]bool{"monotonic": true, "boottime": true}

func validateTimeOffsets(spec *specs.Spec) error {
	if len(spec.Linux.TimeOffsets) == 0 {
		return nil
	}
	// The offsets can only be written before any process enters the
	// namespace, which rules out a joined one.
	if !createsNamespace(spec, specs.TimeNamespace) {
		return errors.New("linux.timeOffsets: set, but the config does not create a new time namespace")
	}
	for _, clock := range slices.Sorted(maps.Keys(spec.Linux.TimeOffsets)) {
		offset := spec.Linux.TimeOffsets[clock]
		if !timeClocks[clock] {
			return fmt.Errorf("linux.timeOffsets: unknown clock %q (monotonic or boottime)", clock)
		}
		if offset.Nanosecs >= 1e9 {
			return fmt.Errorf("linux.timeOffsets.%s.nanosecs %d: not below one second", clock, offset.Nanosecs)
		}
	}
	return nil
}

// maxIDMapLines is the kernel's limit on lines in uid_map/gid_map.
const maxIDMapLines = 340

func validateIDMappings(spec *specs.Spec) error {
	l := spec.Linux
	_, hasUserNS := namespaceEntry(spec, specs.UserNamespace)
	if !hasUserNS {
		if len(l.UIDMappings) > 0 {
			return errors.New("linux.uidMappings: set, but the config has no user namespace")
		}
		if len(l.GIDMappings) > 0 {
			return errors.New("linux.gidMappings: set, but the config has no user namespace")
		}
		return nil
	}
	if createsNamespace(spec, specs.UserNamespace) {
		if len(l.UIDMappings) == 0 {
			return errors.New("linux.uidMappings: empty, but a new user namespace needs a uid mapping")
		}
		if len(l.GIDMappings) == 0 {
			return errors.New("linux.gidMappings: empty, but a new user namespace needs a gid mapping")
		}
	}
	if err := validateIDMap("linux.uidMappings", l.UIDMappings); err != nil {
		return err
	}
	return validateIDMap("linux.gidMappings", l.GIDMappings)
}

// validateIDMap applies the kernel's rules for a uid_map or gid_map: no
// empty or wrapping ranges, and no two ranges overlapping on either side.
func validateIDMap(field string, mappings []specs.LinuxIDMapping) error {
	if len(mappings) > maxIDMapLines {
		return fmt.Errorf("%s: %d ranges, more than the kernel's %d", field, len(mappings), maxIDMapLines)
	}
	for i, m := range mappings {
		if m.Size == 0 {
			return fmt.Errorf("%s[%d]: size is 0", field, i)
		}
		if uint64(m.ContainerID)+uint64(m.Size) > 1<<32 || uint64(m.HostID)+uint64(m.Size) > 1<<32 {
			return fmt.Errorf("%s[%d]: range runs past id 4294967295", field, i)
		}
		for j := range i {
			other := mappings[j]
			if rangesOverlap(m.ContainerID, other.ContainerID, m.Size, other.Size) {
				return fmt.Errorf("%s[%d]: container ids %d-%d overlap %s[%d]", field, i, m.ContainerID, uint64(m.ContainerID)+uint64(m.Size)-1, field, j)
			}
			if rangesOverlap(m.HostID, other.HostID, m.Size, other.Size) {
				return fmt.Errorf("%s[%d]: host ids %d-%d overlap %s[%d]", field, i, m.HostID, uint64(m.HostID)+uint64(m.Size)-1, field, j)
			}
		}
	}
	return nil
}

func rangesOverlap(startA, startB, sizeA, sizeB uint32) bool {
	return uint64(startA) < uint64(startB)+uint64(sizeB) && uint64(startB) < uint64(startA)+uint64(sizeA)
}

// ipcSysctls are the kernel.* sysctls that belong to the IPC namespace;
// fs.mqueue.* does too.
var ipcSysctls = map[string]bool{
	"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true,
	"kernel.sem": true, "kernel.shmall": true, "kernel.shmmax": true,
	"kernel.shmmni": true, "kernel.shm_rmid_forced": true,
}

var utsSysctls = map[string]bool{"kernel.hostname": true, "kernel.domainname": true}

// validateSysctls allows only sysctls that are namespaced, and only when the
// container has its own namespace of that kind: anything else would change
// the host (kernel.core_pattern runs a host program as root).
func validateSysctls(spec *specs.Spec) error {
	for _, key := range slices.Sorted(maps.Keys(spec.Linux.Sysctl)) {
		if err := validateSysctlKey(key); err != nil {
			return fmt.Errorf("linux.sysctl %q: %w", key, err)
		}
		var nsType specs.LinuxNamespaceType
		switch {
		case ipcSysctls[key] || strings.HasPrefix(key, "fs.mqueue."):
			nsType = specs.IPCNamespace
		case utsSysctls[key]:
			nsType = specs.UTSNamespace
		case strings.HasPrefix(key, "net."):
			nsType = specs.NetworkNamespace
		default:
			return fmt.Errorf("linux.sysctl %q: not a namespaced sysctl, setting it would change the host", key)
		}
		if !hasOwnNamespace(spec, nsType) {
			return fmt.Errorf("linux.sysctl %q: needs the container's own %s namespace, which the config does not give it", key, nsType)
		}
	}
	return nil
}

// validateSysctlKey keeps the key a plain dotted name: it becomes a path
// under /proc/sys, so '/', empty components and ".." must not reach it.
func validateSysctlKey(key string) error {
	for component := range strings.SplitSeq(key, ".") {
		if component == "" {
			return errors.New("empty component in the name")
		}
		for _, c := range []byte(component) {
			if !isSysctlByte(c) {
				return fmt.Errorf("character %q not allowed in a sysctl name", c)
			}
		}
	}
	return nil
}

func isSysctlByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c == '_' || c == '-'
}

// validateHostname: sethostname/setdomainname in the runtime's own UTS
// namespace would rename the host.
func validateHostname(spec *specs.Spec) error {
	for _, name := range []struct{ field, value string }{
		{"hostname", spec.Hostname},
		{"domainname", spec.Domainname},
	} {
		if name.value == "" {
			continue
		}
		if !hasOwnNamespace(spec, specs.UTSNamespace) {
			return fmt.Errorf("%s %q: setting it needs the container's own uts namespace", name.field, name.value)
		}
		if len(name.value) > 64 {
			return fmt.Errorf("%s %q: longer than the kernel's 64 bytes", name.field, name.value)
		}
		if strings.IndexByte(name.value, 0) >= 0 {
			return fmt.Errorf("%s %q: contains a NUL byte", name.field, name.value)
		}
	}
	return nil
}

func validatePaths(spec *specs.Spec) error {
	for _, list := range []struct {
		field string
		paths []string
	}{
		{"linux.maskedPaths", spec.Linux.MaskedPaths},
		{"linux.readonlyPaths", spec.Linux.ReadonlyPaths},
	} {
		for i, p := range list.paths {
			field := fmt.Sprintf("%s[%d]", list.field, i)
			if err := requireAbsolute(field, p); err != nil {
				return err
			}
			// The path is resolved inside the rootfs; ".." has no business
			// in a path that names a fixed place there.
			if slices.Contains(strings.Split(p, "/"), "..") {
				return fmt.Errorf("%s %q: \"..\" components are not allowed", field, p)
			}
		}
	}
	switch spec.Linux.RootfsPropagation {
	case "", "shared", "slave", "private", "unbindable",
		"rshared", "rslave", "rprivate", "runbindable":
		return nil
	}
	return fmt.Errorf("linux.rootfsPropagation %q: unknown propagation", spec.Linux.RootfsPropagation)
}
