package configs

import (
	"errors"
	"net"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// onHost fixes the host facts validation reads: SELinux off, NUMA node 0
// only, no resctrl, network devices veth0 and veth1, the runtime in the
// host's user namespace.
func onHost(t *testing.T) {
	savedSE, savedNodes, savedRdt, savedLink, savedIDMap := selinuxEnabled, onlineNodes, resctrlRoot, hostLink, ownIDMap
	selinuxEnabled = func() bool { return false }
	onlineNodes = func() (string, error) { return "0\n", nil }
	resctrlRoot = func() (string, error) { return "", errors.New("no resctrl") }
	hostLink = func(name string) (*net.Interface, error) {
		if name == "veth0" || name == "veth1" {
			return &net.Interface{Name: name}, nil
		}
		return nil, errors.New("no such network interface")
	}
	ownIDMap = func(string) ([]byte, error) { return []byte("         0          0 4294967295\n"), nil }
	t.Cleanup(func() {
		selinuxEnabled, onlineNodes, resctrlRoot, hostLink, ownIDMap = savedSE, savedNodes, savedRdt, savedLink, savedIDMap
	})
}

// A runtime in a user namespace of its own, as rootless engines run it,
// can map only the ids its namespace has: create says which host id of
// which range it lacks, before the kernel refuses the map with words that
// name neither. The host's own map has every id.
func TestValidateHostIDMapsOfTheRuntimeNamespace(t *testing.T) {
	onHost(t)
	const inNamespace = "         0       1001          1\n         1     100000      65536\n"
	withMaps := func(uid, gid []specs.LinuxIDMapping) *specs.Spec {
		spec := DefaultSpec(false)
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		spec.Linux.UIDMappings, spec.Linux.GIDMappings = uid, gid
		return spec
	}
	all := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 65537}}
	if err := validateForCreate(withMaps([]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1001, Size: 65536}}, all)); err != nil {
		t.Fatalf("on the host's own map: %v", err)
	}
	inRuntimeNamespace := func(m string) {
		ownIDMap = func(name string) ([]byte, error) {
			if name != "uid_map" && name != "gid_map" {
				t.Errorf("read /proc/self/%s, want its uid_map or gid_map", name)
			}
			return []byte(m), nil
		}
	}
	inRuntimeNamespace(inNamespace)
	if err := validateForCreate(withMaps(all, all)); err != nil {
		t.Errorf("ids the namespace has, over two of its ranges: %v", err)
	}
	requireOneLineError(t, validateForCreate(withMaps([]specs.LinuxIDMapping{{ContainerID: 0, HostID: 70000, Size: 1}}, all)),
		"linux.uidMappings[0]: host id 70000 is not an id of the runtime's user namespace", `(its uid_map: "0 1001 1", "1 100000 65536")`)
	requireOneLineError(t, validateForCreate(withMaps(all, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: 1, HostID: 60000, Size: 6000}})),
		"linux.gidMappings[1]: host id 65537 is not an id of the runtime's user namespace", "cannot map it")
	// The config a user's spec --rootless writes, given to a runtime that
	// the same user runs as root of a namespace mapping it alone.
	inRuntimeNamespace("0 1001 1\n")
	requireOneLineError(t, validateForCreate(withMaps([]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1001, Size: 1}}, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 1}})),
		"linux.uidMappings[0]: host id 1001 is not an id of the runtime's user namespace", `(its uid_map: "0 1001 1")`)
	// A joined user namespace has its maps already.
	joined := DefaultSpec(false)
	joined.Linux.Namespaces = append(joined.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/1/ns/user"})
	ownIDMap = func(string) ([]byte, error) { return nil, errors.New("read a map for a joined namespace") }
	if err := validateIDMapsInRuntimeNamespace(joined); err != nil {
		t.Errorf("joined user namespace: %v", err)
	}
}

func TestValidateHostSupportRefuses(t *testing.T) {
	onHost(t)
	policy := func(mode specs.MemoryPolicyModeType, nodes string, flags ...specs.MemoryPolicyFlagType) func(*specs.Spec) {
		return func(s *specs.Spec) {
			s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: mode, Nodes: nodes, Flags: flags}
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*specs.Spec)
		want   []string
	}{
		{"process label without SELinux", func(s *specs.Spec) { s.Process.SelinuxLabel = "u:r:t:s0" }, []string{"selinux label is specified in config, but selinux is disabled"}},
		{"mount label without SELinux", func(s *specs.Spec) { s.Linux.MountLabel = "u:object_r:t:s0" }, []string{"linux.mountLabel", "selinux is disabled"}},
		{"unknown policy mode", policy("MPOL_SOMETIMES", "0"), []string{"linux.memoryPolicy", `mode "MPOL_SOMETIMES"`}},
		{"unknown policy flag", policy(specs.MpolBind, "0", "MPOL_F_FAST"), []string{"linux.memoryPolicy", `"MPOL_F_FAST"`}},
		{"bind without nodes", policy(specs.MpolBind, ""), []string{"linux.memoryPolicy", "needs at least one node"}},
		{"default with nodes", policy(specs.MpolDefault, "0"), []string{"linux.memoryPolicy", "takes no nodes"}},
		{"node list syntax", policy(specs.MpolInterleave, "0-"), []string{"linux.memoryPolicy", `nodes "0-"`}},
		{"backwards range", policy(specs.MpolInterleave, "3-1"), []string{"runs backwards"}},
		{"node beyond the kernel", policy(specs.MpolBind, "4096"), []string{"node 4096 is beyond the last supported, 1023"}},
		{"node not on this host", policy(specs.MpolBind, "0,1"), []string{"linux.memoryPolicy.nodes", "node 1 does not exist"}},
		{"net device without a netns", func(s *specs.Spec) {
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"veth0": {}}
			s.Linux.Namespaces = removeNamespace(s.Linux.Namespaces, specs.NetworkNamespace)
		}, []string{"linux.netDevices", "new network namespace"}},
		{"net device missing on the host", func(s *specs.Spec) {
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"veth9": {Name: "eth1"}}
		}, []string{`linux.netDevices["veth9"]`, "no such network device on the host"}},
		{"net device name too long", func(s *specs.Spec) {
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"veth0": {Name: "a-very-long-name0"}}
		}, []string{`linux.netDevices["veth0"].name`, "longer than 15 bytes"}},
		{"net device name with a slash", func(s *specs.Spec) {
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"veth0": {Name: "eth/1"}}
		}, []string{`linux.netDevices["veth0"].name`, "cannot have"}},
		{"two net devices, one name", func(s *specs.Spec) {
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"veth0": {Name: "eth1"}, "veth1": {Name: "eth1"}}
		}, []string{"linux.netDevices", `name "eth1"`, "under that name too"}},
		{"intelRdt without resctrl", func(s *specs.Spec) { s.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "gold"} }, []string{"intelRdt is specified in config, but Intel RDT is not supported or enabled"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := DefaultSpec(false)
			tc.mutate(spec)
			requireOneLineError(t, validateForCreate(spec), tc.want...)
		})
	}
}

func TestValidateHostSupportAccepts(t *testing.T) {
	onHost(t)
	for _, p := range []specs.LinuxMemoryPolicy{
		{Mode: specs.MpolDefault},
		{Mode: specs.MpolLocal},
		{Mode: specs.MpolBind, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}},
		{Mode: specs.MpolInterleave, Nodes: "0-0"},
		// Relative nodes are positions in the allowed set, not node ids.
		{Mode: specs.MpolPreferredMany, Nodes: "1", Flags: []specs.MemoryPolicyFlagType{specs.MpolFRelativeNodes}},
	} {
		spec := DefaultSpec(false)
		spec.Linux.MemoryPolicy = &p
		if err := validateForCreate(spec); err != nil {
			t.Errorf("memoryPolicy %+v: %v", p, err)
		}
	}
	spec := DefaultSpec(false)
	spec.Process.SelinuxLabel, spec.Linux.MountLabel = "", ""
	if err := validateForCreate(spec); err != nil {
		t.Errorf("empty SELinux labels on a host without SELinux: %v", err)
	}
}

func removeNamespace(list []specs.LinuxNamespace, kind specs.LinuxNamespaceType) []specs.LinuxNamespace {
	var out []specs.LinuxNamespace
	for _, ns := range list {
		if ns.Type != kind {
			out = append(out, ns)
		}
	}
	return out
}

// validateForCreate is what create checks: the config, then the host.
func validateForCreate(spec *specs.Spec) error {
	if err := Validate(spec); err != nil {
		return err
	}
	return ValidateHost(spec)
}
