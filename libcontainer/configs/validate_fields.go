package configs

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/internal/idmap"
	"github.com/oci-rt/oci-rt/internal/sysfile"
	"github.com/oci-rt/oci-rt/libcontainer/intelrdt"
	"github.com/oci-rt/oci-rt/libcontainer/proc"
)

// Host facts validation depends on, replaceable by tests.
var (
	selinuxEnabled = selinux.GetEnabled
	onlineNodes    = proc.OnlineNodes
	resctrlRoot    = func() (string, error) { return intelrdt.FindRoot("/proc/self/mountinfo") }
	hostLink       = net.InterfaceByName
	ownIDMap       = func(name string) ([]byte, error) { return sysfile.ReadFile("/proc/self/" + name) }
)

// ValidateHost refuses, at create, what this host cannot honour for a
// config Validate accepted: silently dropping a label, a memory policy, a
// device move or a cache allocation would run the container with less
// isolation or a different shape than it asked for, with exit code 0.
// exec does not repeat it: the container already has all of these.
func ValidateHost(spec *specs.Spec) error {
	for _, check := range []func(*specs.Spec) error{
		validateSELinuxSupport,
		validateMemoryPolicy,
		validateNetDevices,
		validateIntelRdt,
		validateIDMapsInRuntimeNamespace,
	} {
		if err := check(spec); err != nil {
			return presentable(err)
		}
	}
	return nil
}

// validateIDMapsInRuntimeNamespace refuses at create a map the kernel
// would refuse later, in words that name it. The host ids of the config's
// maps are ids of the runtime's own user namespace, and a runtime that runs
// in one (as rootless engines run it, root of a namespace of their own) can
// map only the ids that namespace has. The kernel's refusal comes late and
// names neither: a chown of the exec fifo failing with "invalid argument",
// or a write of the map with "operation not permitted".
func validateIDMapsInRuntimeNamespace(spec *specs.Spec) error {
	if !createsNamespace(spec, specs.UserNamespace) {
		return nil
	}
	for _, m := range []struct {
		field, file string
		mappings    []specs.LinuxIDMapping
	}{
		{"linux.uidMappings", "uid_map", spec.Linux.UIDMappings},
		{"linux.gidMappings", "gid_map", spec.Linux.GIDMappings},
	} {
		own, err := ownIDMap(m.file)
		if err != nil {
			return fmt.Errorf("%s: read the runtime's own %s: %w", m.field, m.file, err)
		}
		for i, mapping := range m.mappings {
			id, unmapped, err := idmap.FirstUnmapped(string(own), mapping.HostID, mapping.Size)
			if err != nil {
				return fmt.Errorf("%s: the runtime's own %s: %w", m.field, m.file, err)
			}
			if unmapped {
				return fmt.Errorf("%s[%d]: host id %d is not an id of the runtime's user namespace (its %s: %s), so the runtime cannot map it",
					m.field, i, id, m.file, mapLines(own))
			}
		}
	}
	return nil
}

// mapLines shows an id map on one line: each range's three ids, quoted.
func mapLines(m []byte) string {
	var lines []string
	for _, line := range strings.Split(string(m), "\n") {
		if fields := strings.Fields(line); len(fields) > 0 {
			lines = append(lines, strconv.Quote(strings.Join(fields, " ")))
		}
	}
	return strings.Join(lines, ", ")
}

// validateSELinuxSupport follows runc: a process label where SELinux is
// disabled is refused with its words, and so is a mount label, which runc
// only finds out about when the kernel rejects the first mount's context=.
func validateSELinuxSupport(spec *specs.Spec) error {
	if spec.Process.SelinuxLabel != "" && !selinuxEnabled() {
		return proc.ErrSELinuxDisabled
	}
	if spec.Linux.MountLabel != "" && !selinuxEnabled() {
		return fmt.Errorf("linux.mountLabel %q: selinux is disabled or not supported on this host", spec.Linux.MountLabel)
	}
	return nil
}

func validateMemoryPolicy(spec *specs.Spec) error {
	p := spec.Linux.MemoryPolicy
	if p == nil {
		return nil
	}
	policy, err := proc.ParseMemoryPolicy(p)
	if err != nil {
		return fmt.Errorf("linux.memoryPolicy: %w", err)
	}
	if len(policy.Nodes) == 0 {
		return nil
	}
	online, err := onlineNodes()
	if err != nil {
		return fmt.Errorf("linux.memoryPolicy: %w", err)
	}
	if err := proc.CheckNodesOnline(policy, online); err != nil {
		return fmt.Errorf("linux.memoryPolicy.nodes %q: %w", p.Nodes, err)
	}
	return nil
}

func validateNetDevices(spec *specs.Spec) error {
	if len(spec.Linux.NetDevices) == 0 {
		return nil
	}
	if !hasNewNamespace(spec, specs.NetworkNamespace) {
		return errors.New("linux.netDevices: needs a new network namespace to move the devices into")
	}
	names := make(map[string]string, len(spec.Linux.NetDevices))
	// In key order, so that the same config always gets the same error.
	for _, hostName := range slices.Sorted(maps.Keys(spec.Linux.NetDevices)) {
		dev := spec.Linux.NetDevices[hostName]
		field := fmt.Sprintf("linux.netDevices[%q]", hostName)
		if err := checkLinkName(hostName); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		name := dev.Name
		if name == "" {
			name = hostName
		}
		if err := checkLinkName(name); err != nil {
			return fmt.Errorf("%s.name: %w", field, err)
		}
		if other, taken := names[name]; taken {
			return fmt.Errorf("%s.name %q: %s is moved under that name too", field, name, other)
		}
		names[name] = hostName
		if _, err := hostLink(hostName); err != nil {
			return fmt.Errorf("%s: no such network device on the host: %w", field, err)
		}
	}
	return nil
}

// checkLinkName applies the kernel's rules for an interface name.
func checkLinkName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("%q is not a network device name", name)
	case len(name) >= unix.IFNAMSIZ:
		return fmt.Errorf("%q is longer than %d bytes", name, unix.IFNAMSIZ-1)
	case strings.ContainsAny(name, "/: \t\n\x00"):
		return fmt.Errorf("%q contains a character a network device name cannot have", name)
	}
	return nil
}

func validateIntelRdt(spec *specs.Spec) error {
	cfg := spec.Linux.IntelRdt
	if cfg == nil {
		return nil
	}
	root, err := resctrlRoot()
	if err != nil {
		return intelrdt.ErrNotEnabled
	}
	return intelrdt.Check(cfg, root)
}

// hasNewNamespace tells whether the config creates a namespace of kind
// (listed without a path).
func hasNewNamespace(spec *specs.Spec, kind specs.LinuxNamespaceType) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == kind && ns.Path == "" {
			return true
		}
	}
	return false
}

// Warnings names what a config asks for that this runtime accepts and
// leaves alone, as runc does: the sections for other platforms, which a
// portable config may carry, and Windows' process.commandLine.
func Warnings(spec *specs.Spec) []string {
	var warnings []string
	for _, section := range []struct {
		name string
		set  bool
	}{
		{"windows", spec.Windows != nil},
		{"solaris", spec.Solaris != nil},
		{"vm", spec.VM != nil},
		{"zos", spec.ZOS != nil},
		{"freebsd", spec.FreeBSD != nil},
	} {
		if section.set {
			warnings = append(warnings, fmt.Sprintf("config: the %s section is for another platform and is ignored", section.name))
		}
	}
	if spec.Process != nil && spec.Process.CommandLine != "" {
		warnings = append(warnings, "config: process.commandLine is for Windows and is ignored; process.args is run")
	}
	return warnings
}
