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

// encodedFilter compiles the config's seccomp profile, or returns nil when
// it has none.
func encodedFilter(spec *specs.Spec) ([]byte, error) {
	if spec.Linux == nil || spec.Linux.Seccomp == nil {
		return nil, nil
	}
	f, err := seccomp.Compile(spec.Linux.Seccomp)
	if err != nil {
		return nil, err
	}
	return f.MarshalBinary()
}

// execFilter returns the encoded seccomp filter of an exec'd process: the
// one create recorded, or, where there is no usable record (a container
// an earlier version created), the profile compiled again.
func (c *Container) execFilter(spec *specs.Spec) ([]byte, error) {
	if spec.Linux == nil || spec.Linux.Seccomp == nil {
		return nil, nil
	}
	data, err := c.recordedFilter()
	if err == nil {
		return data, nil
	}
	debugf("exec %s: compiling the seccomp profile again: %v", c.State.ID, err)
	return encodedFilter(spec)
}

func (c *Container) recordedFilter() ([]byte, error) {
	d, err := c.store.openDir(c.State.ID)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	data, err := readTrusted(d, filterFile, "seccomp filter of container "+c.State.ID)
	if err != nil {
		return nil, err
	}
	if _, err := seccomp.UnmarshalFilter(data); err != nil {
		return nil, err
	}
	return data, nil
}
