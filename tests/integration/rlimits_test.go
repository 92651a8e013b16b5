package integration

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/tests/seccompprofile"
)

// TestRlimitsBindOnlyTheProcess (conformance program process_rlimits): an
// address-space limit the runtime's own Go code cannot work under (compiling
// Docker's seccomp profile needs more heap than 64 MiB of address space
// allows: init died with "fatal error: runtime: cannot allocate memory") still
// gives a working container, and the process sees exactly the configured
// values in /proc/self/limits.
func TestRlimitsBindOnlyTheProcess(t *testing.T) {
	r := newRuntime(t)
	prof, err := seccompprofile.DockerDefault()
	if err != nil {
		t.Fatal(err)
	}
	const as = 64 << 20
	b := newBundle(t, shell("cat /proc/self/limits"), func(s *specs.Spec) {
		s.Linux.Seccomp = prof
		s.Process.Rlimits = append(s.Process.Rlimits,
			specs.POSIXRlimit{Type: "RLIMIT_AS", Soft: as, Hard: as},
			specs.POSIXRlimit{Type: "RLIMIT_CPU", Soft: 60, Hard: 120},
		)
	})
	out := mustRun(t, r, b)
	for _, want := range [][]string{
		{"Max", "address", "space", "67108864", "67108864", "bytes"},
		{"Max", "cpu", "time", "60", "120", "seconds"},
	} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			if strings.Join(strings.Fields(line), " ") == strings.Join(want, " ") {
				found = true
			}
		}
		if !found {
			t.Errorf("/proc/self/limits has no line %q:\n%s", strings.Join(want, " "), out)
		}
	}
}
