package integration

import (
	"bytes"
	"os"
	"testing"
)

// TestRuntimeCarriesNoGlibcStartup: the runtime's C is linked with musl
// (see the Makefile). glibc's static start-up, whose CPU-feature probes
// trap to the hypervisor in a VM, would run in every runtime process, the
// CLI and each container init; its tunables parser, part of that start-up,
// names the variable it reads.
func TestRuntimeCarriesNoGlibcStartup(t *testing.T) {
	data, err := os.ReadFile(rtBinary)
	noErr(t, err)
	if bytes.Contains(data, []byte("GLIBC_TUNABLES")) {
		t.Errorf("%s carries glibc's start-up code: make build links the runtime with musl", rtBinary)
	}
}
