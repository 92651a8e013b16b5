package integration

import (
	"os/exec"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCapabilitiesNotHeldFailCreate (conformance program
// process_capabilities): a process asking for a capability the runtime itself
// lacks (oci-rt started with CAP_SYS_NICE dropped from its bounding set, as
// this host's root lacks CAP_SYS_RESOURCE) fails create with one line naming
// it, not start with a bare EPERM, and leaves nothing.
func TestCapabilitiesNotHeldFailCreate(t *testing.T) {
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Fatalf("setpriv (util-linux) is needed: %v", err)
	}
	r := newRuntime(t)
	b := newBundle(t, withArgs("true"), func(s *specs.Spec) {
		c := s.Process.Capabilities
		c.Bounding = append(c.Bounding, "CAP_SYS_NICE")
		c.Permitted = append(c.Permitted, "CAP_SYS_NICE")
		c.Effective = append(c.Effective, "CAP_SYS_NICE")
	})
	id := newID(t)
	cmd := r.Command("create", "--bundle", b, id)
	cmd.Args = append([]string{"setpriv", "--bounding-set", "-sys_nice", cmd.Path}, cmd.Args[1:]...)
	cmd.Path = "/usr/bin/setpriv"
	res := r.RunCmd(cmd)
	checkFailure(t, res, "capabilities CAP_SYS_NICE requested, but the runtime does not hold them")
	checkNothingLeft(t, r, id)

	// The same config is fine for a runtime that holds the capability.
	r.Must("create", "--bundle", b, id)
}
