package libcontainer

import (
	"encoding/json"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The init decodes its config in a fresh process, and the first decode of
// a type makes encoding/json build its caches for every type reachable
// from it, used or not: for specs.Spec that walk is most of the decode's
// cost (about 1.8 ms of CPU here against 1.2 ms without the parts below,
// and about 200 fewer page faults per `run` between the CLI's encode and
// the init's decode).
// So the spec travels to the init as initSpec, which leaves out what no
// init reads: the cgroup resources (the parent applies them before the
// init runs) and the other platforms' sections. Both ends convert, so
// the init's code keeps working on a *specs.Spec.

// initSpec is specs.Spec without the sections of other platforms.
type initSpec struct {
	Version     string            `json:"ociVersion"`
	Process     *specs.Process    `json:"process,omitempty"`
	Root        *specs.Root       `json:"root,omitempty"`
	Hostname    string            `json:"hostname,omitempty"`
	Domainname  string            `json:"domainname,omitempty"`
	Mounts      []specs.Mount     `json:"mounts,omitempty"`
	Hooks       *specs.Hooks      `json:"hooks,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Linux       *initLinux        `json:"linux,omitempty"`
}

// initLinux is specs.Linux without the cgroup resources.
type initLinux struct {
	UIDMappings       []specs.LinuxIDMapping           `json:"uidMappings,omitempty"`
	GIDMappings       []specs.LinuxIDMapping           `json:"gidMappings,omitempty"`
	Sysctl            map[string]string                `json:"sysctl,omitempty"`
	CgroupsPath       string                           `json:"cgroupsPath,omitempty"`
	Namespaces        []specs.LinuxNamespace           `json:"namespaces,omitempty"`
	Devices           []specs.LinuxDevice              `json:"devices,omitempty"`
	NetDevices        map[string]specs.LinuxNetDevice  `json:"netDevices,omitempty"`
	Seccomp           *specs.LinuxSeccomp              `json:"seccomp,omitempty"`
	RootfsPropagation string                           `json:"rootfsPropagation,omitempty"`
	MaskedPaths       []string                         `json:"maskedPaths,omitempty"`
	ReadonlyPaths     []string                         `json:"readonlyPaths,omitempty"`
	MountLabel        string                           `json:"mountLabel,omitempty"`
	IntelRdt          *specs.LinuxIntelRdt             `json:"intelRdt,omitempty"`
	MemoryPolicy      *specs.LinuxMemoryPolicy         `json:"memoryPolicy,omitempty"`
	Personality       *specs.LinuxPersonality          `json:"personality,omitempty"`
	TimeOffsets       map[string]specs.LinuxTimeOffset `json:"timeOffsets,omitempty"`
}

func newInitSpec(s *specs.Spec) *initSpec {
	if s == nil {
		return nil
	}
	w := &initSpec{
		Version:     s.Version,
		Process:     s.Process,
		Root:        s.Root,
		Hostname:    s.Hostname,
		Domainname:  s.Domainname,
		Mounts:      s.Mounts,
		Hooks:       s.Hooks,
		Annotations: s.Annotations,
	}
	if l := s.Linux; l != nil {
		w.Linux = &initLinux{
			UIDMappings:       l.UIDMappings,
			GIDMappings:       l.GIDMappings,
			Sysctl:            l.Sysctl,
			CgroupsPath:       l.CgroupsPath,
			Namespaces:        l.Namespaces,
			Devices:           l.Devices,
			NetDevices:        l.NetDevices,
			Seccomp:           l.Seccomp,
			RootfsPropagation: l.RootfsPropagation,
			MaskedPaths:       l.MaskedPaths,
			ReadonlyPaths:     l.ReadonlyPaths,
			MountLabel:        l.MountLabel,
			IntelRdt:          l.IntelRdt,
			MemoryPolicy:      l.MemoryPolicy,
			Personality:       l.Personality,
			TimeOffsets:       l.TimeOffsets,
		}
	}
	return w
}

func (w *initSpec) spec() *specs.Spec {
	if w == nil {
		return nil
	}
	s := &specs.Spec{
		Version:     w.Version,
		Process:     w.Process,
		Root:        w.Root,
		Hostname:    w.Hostname,
		Domainname:  w.Domainname,
		Mounts:      w.Mounts,
		Hooks:       w.Hooks,
		Annotations: w.Annotations,
	}
	if l := w.Linux; l != nil {
		s.Linux = &specs.Linux{
			UIDMappings:       l.UIDMappings,
			GIDMappings:       l.GIDMappings,
			Sysctl:            l.Sysctl,
			CgroupsPath:       l.CgroupsPath,
			Namespaces:        l.Namespaces,
			Devices:           l.Devices,
			NetDevices:        l.NetDevices,
			Seccomp:           l.Seccomp,
			RootfsPropagation: l.RootfsPropagation,
			MaskedPaths:       l.MaskedPaths,
			ReadonlyPaths:     l.ReadonlyPaths,
			MountLabel:        l.MountLabel,
			IntelRdt:          l.IntelRdt,
			MemoryPolicy:      l.MemoryPolicy,
			Personality:       l.Personality,
			TimeOffsets:       l.TimeOffsets,
		}
	}
	return s
}

// initConfigFields is initConfig without its methods, so that the
// methods below can use encoding/json on it.
type initConfigFields initConfig

// initConfigWire is how initConfig goes on the wire: its fields, with the
// spec as an initSpec. (The outer Spec shadows the embedded one.)
type initConfigWire struct {
	*initConfigFields
	Spec *initSpec `json:"spec"`
}

// MarshalJSON sends the spec as an initSpec.
func (c *initConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(initConfigWire{initConfigFields: (*initConfigFields)(c), Spec: newInitSpec(c.Spec)})
}

// UnmarshalJSON reads the spec as an initSpec.
func (c *initConfig) UnmarshalJSON(data []byte) error {
	wire := initConfigWire{initConfigFields: (*initConfigFields)(c)}
	if err := json.Unmarshal(data, &wire); err != nil {
		return err
	}
	c.Spec = wire.Spec.spec()
	return nil
}
