package integration

import (
	"fmt"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/tests/seccompprofile"
)

// TestExecUnderDockerProfile: exec works in a container under Docker's
// default profile, with the Docker capabilities (no CAP_SYS_ADMIN), with
// and without no_new_privs. Without it the exec init installs the filter
// while it still may and then starts the process under it (clone, the
// closing of its fds, setsid, execve must all pass the profile); with it
// the process installs the filter itself. Either way the exec'd process
// ends up with exactly the init's filter.
func TestExecUnderDockerProfile(t *testing.T) {
	prof, err := seccompprofile.DockerDefault()
	if err != nil {
		t.Fatal(err)
	}
	for _, nnp := range []bool{false, true} {
		t.Run(fmt.Sprintf("noNewPrivileges=%v", nnp), func(t *testing.T) {
			r := newRuntime(t)
			c := r.Create(newBundle(t, withSeccomp(prof), withArgs("sleep", "1000"), func(s *specs.Spec) {
				caps := s.Process.Capabilities
				caps.Bounding, caps.Effective, caps.Permitted = seccompprofile.DefaultCaps, seccompprofile.DefaultCaps, seccompprofile.DefaultCaps
				s.Process.NoNewPrivileges = nnp
			}))
			r.Must("start", c.ID)
			res := r.Run("exec", c.ID, "sh", "-c", grepStatus("Seccomp", "Seccomp_filters", "NoNewPrivs"))
			if res.Code != 0 {
				t.Fatalf("exec: %s", res)
			}
			got := statusMap(res.Stdout)
			init := statusMap(readFile(t, fmt.Sprintf("/proc/%d/status", c.Pid)))
			for _, key := range []string{"Seccomp", "Seccomp_filters", "NoNewPrivs"} {
				if got[key] == "" || got[key] != init[key] {
					t.Errorf("%s: exec'd %q, init %q", key, got[key], init[key])
				}
			}
		})
	}
}
