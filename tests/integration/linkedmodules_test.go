package integration

import (
	"debug/buildinfo"
	"testing"
)

// Every process of the runtime, the container's init included, runs the
// package inits of everything linked into the binary and touches its
// code. Modules kept for the tests alone must not creep back into it:
// cilium/ebpf cost each process start about 1 ms of CPU and 45 page faults
// on the development host, so the device filter is written without it and
// the tests keep it as their oracle.
func TestBinaryLinksNoTestOnlyModules(t *testing.T) {
	info, err := buildinfo.ReadFile(rtBinary)
	if err != nil {
		t.Fatalf("read build info of %s: %v", rtBinary, err)
	}
	testOnly := map[string]bool{"github.com/cilium/ebpf": true}
	for _, dep := range info.Deps {
		if testOnly[dep.Path] {
			t.Errorf("%s links %s %s", rtBinary, dep.Path, dep.Version)
		}
	}
}
