package integration

import (
	"bytes"
	"debug/buildinfo"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
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

// TestRuntimeDecodesJSONWithV2: every command decodes the spec or the
// state once, and the first decode of a type is where encoding/json spends
// its time; built on json v2 it costs about half (see the Makefile). A
// build that lost the setting would still pass every other test.
func TestRuntimeDecodesJSONWithV2(t *testing.T) {
	info, err := buildinfo.ReadFile(rtBinary)
	noErr(t, err)
	for _, s := range info.Settings {
		if s.Key == "GOEXPERIMENT" && slices.Contains(strings.Split(s.Value, ","), "jsonv2") {
			return
		}
	}
	t.Errorf("%s was built without GOEXPERIMENT=jsonv2 (build settings %v): make build sets it", rtBinary, info.Settings)
}

// TestInitStartsWithoutHeapProfile: the Go runtime of a container's init
// files an allocation in the heap profile while it starts, before any of
// the init's code can turn sampling off; only its environment reaches it
// that early. The setting is the init's own: the container's process gets
// the environment of its spec and nothing else.
func TestInitStartsWithoutHeapProfile(t *testing.T) {
	r := newRuntime(t)
	specEnv := []string{"PATH=/usr/bin:/bin", "HOME=/root", "MARK=container"}
	c := r.Create(newBundle(t, withArgs("sleep", "1000"), func(s *specs.Spec) { s.Process.Env = specEnv }))
	initEnv := procEnviron(t, c.Pid)
	if !slices.Contains(initEnv, "GODEBUG=memprofilerate=0") {
		t.Errorf("the created container's init (pid %d) starts with environment %q: want GODEBUG=memprofilerate=0 in it", c.Pid, initEnv)
	}
	r.Must("start", c.ID)
	waitFor(t, 10*time.Second, "the container's process to replace its init", func() bool {
		return strings.HasPrefix(readFile(t, fmt.Sprintf("/proc/%d/cmdline", c.Pid)), "sleep\x00")
	})
	got := procEnviron(t, c.Pid)
	if !slices.Equal(got, specEnv) {
		t.Errorf("the container's process has environment %q, want its spec's %q", got, specEnv)
	}
}
