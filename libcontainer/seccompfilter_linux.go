package libcontainer

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/seccomp"
)

// The seccomp profile is compiled once, by create in the runtime: the
// program goes to the init in its config and into the state directory,
// where every exec finds it. Compiling Docker's default profile costs a
// few milliseconds of CPU, which each exec would pay again, and a node
// runs an exec for every probe of every container.

// seccompProfile is the config's seccomp profile, or nil.
func seccompProfile(spec *specs.Spec) *specs.LinuxSeccomp {
	if spec.Linux == nil {
		return nil
	}
	return spec.Linux.Seccomp
}

// encodedFilter compiles a seccomp profile, or returns nil for none.
func encodedFilter(profile *specs.LinuxSeccomp) ([]byte, error) {
	if profile == nil {
		return nil, nil
	}
	f, err := seccomp.Compile(profile)
	if err != nil {
		return nil, err
	}
	return f.MarshalBinary()
}

// execFilter returns the encoded seccomp filter of an exec'd process: the
// one create recorded, or, where there is no usable record (a container
// an earlier version created), the recorded profile compiled again.
func (c *Container) execFilter(spec *specs.Spec) ([]byte, error) {
	if seccompProfile(spec) == nil {
		return nil, nil
	}
	data, err := c.recordedFilter()
	if err == nil {
		return data, nil
	}
	debugf("exec %s: compiling the seccomp profile again: %v", c.State.ID, err)
	// spec, as exec reads the config, has the profile without its rules
	// (see initSpec).
	profile, err := c.recordedSeccomp()
	if err != nil {
		return nil, err
	}
	return encodedFilter(profile)
}

// recordedFilter is the program create recorded, read like every state
// file; a record that is missing, untrusted or damaged is an error.
func (c *Container) recordedFilter() ([]byte, error) {
	data, err := c.store.readRecord(c.State.ID, filterFile, "seccomp filter")
	if err != nil {
		return nil, err
	}
	if _, err := seccomp.UnmarshalFilter(data); err != nil {
		return nil, err
	}
	return data, nil
}

// recordedSeccomp decodes the whole seccomp profile of the recorded
// config, rules included.
func (c *Container) recordedSeccomp() (*specs.LinuxSeccomp, error) {
	var recorded struct {
		Linux *struct {
			Seccomp *specs.LinuxSeccomp `json:"seccomp"`
		} `json:"linux"`
	}
	if err := c.decodeConfig(&recorded); err != nil {
		return nil, err
	}
	if recorded.Linux == nil {
		return nil, nil
	}
	return recorded.Linux.Seccomp, nil
}
