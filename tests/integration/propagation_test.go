package integration

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestRootfsPropagationUnbindable (conformance program
// linux_rootfs_propagation): an unbindable rootfsPropagation must not stop the
// rootfs from being bound onto itself during create, and the container's /
// then shows as unbindable in its own mountinfo.
func TestRootfsPropagationUnbindable(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, shell("cat /proc/self/mountinfo"), func(s *specs.Spec) { s.Linux.RootfsPropagation = "unbindable" })
	var root string
	for _, line := range strings.Split(mustRun(t, r, b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == "/" {
			root = line
		}
	}
	if !strings.Contains(root, " unbindable ") {
		t.Errorf("rootfsPropagation unbindable: / is %q", root)
	}
}
