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
// init runs), the seccomp profile's rules (the program travels compiled,
// as initConfig.SeccompFilter) and the other platforms' sections. Each
// left-out field is hidden behind a field of the same JSON name and an
// empty type: encoding/json takes the shallower of two fields of one name
// and never looks at the type of the one it drops, and every field
// runtime-spec adds reaches the init through the embedding. Both ends
// convert, so the init's code keeps working on a *specs.Spec. exec reads
// the recorded config the same way (Container.ProcessSpec), through
// quickjson, which hides fields by the same rule: it is a fresh process
// too, and reads none of the left-out parts (with encoding/json the rules
// of Docker's default profile alone, some 400 names, cost it 1 to 2 ms of
// CPU); where it must compile the profile itself it decodes the rules
// apart (Container.recordedSeccomp).

// hidden is the type of a field that hides a left-out object of the same
// JSON name; the parent leaves it nil, so it is never sent.
type hidden *struct{}

// hiddenList hides a left-out list the same way: its elements decode into
// nothing.
type hiddenList []struct{}

// initSpec is specs.Spec with its linux section as initLinux and without
// the sections of other platforms.
type initSpec struct {
	specs.Spec
	Linux   *initLinux `json:"linux,omitempty"`
	Solaris hidden     `json:"solaris,omitempty"`
	Windows hidden     `json:"windows,omitempty"`
	VM      hidden     `json:"vm,omitempty"`
	ZOS     hidden     `json:"zos,omitempty"`
	FreeBSD hidden     `json:"freebsd,omitempty"`
}

// initLinux is specs.Linux without the cgroup resources, its seccomp
// profile as initSeccomp.
type initLinux struct {
	specs.Linux
	Resources hidden       `json:"resources,omitempty"`
	Seccomp   *initSeccomp `json:"seccomp,omitempty"`
}

// initSeccomp is specs.LinuxSeccomp without its rules.
type initSeccomp struct {
	specs.LinuxSeccomp
	Syscalls hiddenList `json:"syscalls,omitempty"`
}

func newInitSpec(s *specs.Spec) *initSpec {
	if s == nil {
		return nil
	}
	w := &initSpec{Spec: *s}
	if s.Linux != nil {
		w.Linux = &initLinux{Linux: *s.Linux}
		if s.Linux.Seccomp != nil {
			w.Linux.Seccomp = &initSeccomp{LinuxSeccomp: *s.Linux.Seccomp}
		}
	}
	return w
}

func (w *initSpec) spec() *specs.Spec {
	if w == nil {
		return nil
	}
	s := w.Spec
	s.Linux = nil
	if w.Linux != nil {
		linux := w.Linux.Linux
		linux.Seccomp = nil
		if w.Linux.Seccomp != nil {
			profile := w.Linux.Seccomp.LinuxSeccomp
			linux.Seccomp = &profile
		}
		s.Linux = &linux
	}
	return &s
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
