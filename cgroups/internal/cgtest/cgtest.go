// Package cgtest holds what the cgroup packages' tests share: the test
// binary doubling as a helper process placed in a test cgroup, and
// throw-away cgroups on the real unified hierarchy.
package cgtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
)

// The test binary doubles as the process placed in test cgroups: with
// helperEnv set it runs a helper instead of the tests.
const helperEnv = "OCI_RT_CGROUPS_TEST_HELPER"

// Main is a test package's TestMain: it runs the tests, or, in a process
// started by HelperCmd, the helper named there.
func Main(m *testing.M, helpers map[string]func()) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		os.Exit(m.Run())
	}
	h, ok := helpers[mode]
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown helper", mode)
		os.Exit(2)
	}
	h()
	os.Exit(0)
}

// HelperCmd prepares the test binary as the helper mode, started directly
// inside the cgroup open as dir (clone3 CLONE_INTO_CGROUP), as the runtime
// starts exec'd processes; with a nil dir, in the test's own cgroup.
func HelperCmd(dir *os.File, mode string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append(env, helperEnv+"="+mode)...)
	if dir != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	}
	cmd.Stderr = os.Stderr
	return cmd
}

// RequireRoot skips tests that need privileges the unprivileged developer
// running `go test` does not have; the skip is reported, never a pass.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

var seq atomic.Int64

// Cgroup2 names a fresh cgroup /oci-rt-test-<pid>-<n>/<sub> on the real
// unified hierarchy, for the test to create, and removes the whole
// /oci-rt-test-<pid>-<n> tree, with every process left in it, at the end
// of the test. It returns the hierarchy's mountpoint and the cgroup's path
// in it.
func Cgroup2(t *testing.T, sub string) (root, path string) {
	t.Helper()
	RequireRoot(t)
	root, err := cgroups.Mountpoint()
	if err != nil {
		t.Skipf("no cgroup2 hierarchy: %v", err)
	}
	top := fmt.Sprintf("/oci-rt-test-%d-%d", os.Getpid(), Seq())
	t.Cleanup(func() {
		// Kill first so that a failed test does not leave helpers behind
		// that keep the cgroup busy.
		dir := filepath.Join(root, top)
		if _, err := os.Stat(dir); err != nil {
			return
		}
		killAll(dir)
		if err := cgroups.RemoveTree(dir, time.Now().Add(cgroups.DestroyTimeout)); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return root, strings.TrimSuffix(top+"/"+sub, "/")
}

// killAll SIGKILLs every process in the cgroup at dir and below.
func killAll(dir string) {
	pids, _ := cgroups.PidsBelow(dir, dir)
	for _, pid := range pids {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
}

// Seq numbers the test cgroups of this process, for tests that make their
// own.
func Seq() int64 { return seq.Add(1) }

// Rule is a device rule for test tables: major or minor -2 leaves the
// field out (nil), -1 is the explicit wildcard.
func Rule(allow bool, typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	d := specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Access: access}
	if major != -2 {
		d.Major = &major
	}
	if minor != -2 {
		d.Minor = &minor
	}
	return d
}

// Ptr is &v, for the spec's optional fields in test tables.
func Ptr[T any](v T) *T { return &v }
