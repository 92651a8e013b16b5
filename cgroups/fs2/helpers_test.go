package fs2

import (
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/oci-rt/oci-rt/cgroups/internal/cgtest"
)

// helpers are the modes the test binary can run in instead of the tests;
// VM-only tests register more.
var helpers = map[string]func(){"spin": helperSpin}

func TestMain(m *testing.M) { cgtest.Main(m, helpers) }

// helperSpin burns CPU until stdin is closed.
func helperSpin() {
	var stop atomic.Bool
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop.Store(true)
	}()
	for !stop.Load() {
		runtime.Gosched() // busy: the tests measure the CPU it uses
	}
}

// helperCmd prepares the test binary as a helper started directly inside
// the cgroup, as the runtime starts exec'd processes.
func helperCmd(t *testing.T, m *Manager, mode string, env ...string) (*exec.Cmd, *os.File) {
	t.Helper()
	dir, err := m.OpenDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	return cgtest.HelperCmd(dir, mode, env...), dir
}

// testCgroup creates an empty cgroup <test-top>/<sub> on the real unified
// hierarchy (see cgtest.Cgroup2), controllers enabled as for a container.
func testCgroup(t *testing.T, sub string) *Manager {
	t.Helper()
	root, path := cgtest.Cgroup2(t, sub)
	m, err := NewAt(root, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	return m
}
