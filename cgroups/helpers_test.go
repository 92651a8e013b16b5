package cgroups

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The test binary doubles as the process placed in test cgroups: with
// helperEnv set it runs a helper instead of the tests.
const helperEnv = "OCI_RT_CGROUPS_TEST_HELPER"

// helpers are the modes the test binary can run in instead of the tests;
// VM-only tests register more.
var helpers = map[string]func(){"probe": helperProbe, "loop": helperLoop}

func TestMain(m *testing.M) {
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

// probe is one device access attempted by a helper: open a node with the
// given access ("r", "w", "rw"), or mknod ("m") a node of that type/number.
type probe struct {
	Path  string `json:"path"`
	Type  string `json:"type"` // "c" or "b"
	Major uint32 `json:"major"`
	Minor uint32 `json:"minor"`
	Acc   string `json:"acc"`
}

func (p probe) String() string {
	return fmt.Sprintf("%s %s %d:%d", p.Acc, p.Type, p.Major, p.Minor)
}

// do returns nil, or the errno of the attempt.
func (p probe) do(scratch string) error {
	if p.Acc == "m" {
		mode := uint32(unix.S_IFCHR)
		if p.Type == "b" {
			mode = unix.S_IFBLK
		}
		node := filepath.Join(scratch, fmt.Sprintf("n%d", os.Getpid()))
		err := unix.Mknod(node, mode|0o600, int(unix.Mkdev(p.Major, p.Minor)))
		if err == nil {
			_ = unix.Unlink(node)
		}
		return err
	}
	flags := map[string]int{"r": unix.O_RDONLY, "w": unix.O_WRONLY, "rw": unix.O_RDWR}[p.Acc]
	fd, err := unix.Open(p.Path, flags|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

// helperProbe runs the probes given as JSON on stdin and prints, for each,
// the errno name or "ok".
func helperProbe() {
	var probes []probe
	if err := json.NewDecoder(os.Stdin).Decode(&probes); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	out := make([]string, len(probes))
	for i, p := range probes {
		out[i] = "ok"
		if err := p.do(os.Getenv("SCRATCH")); err != nil {
			out[i] = unix.ErrnoName(err.(syscall.Errno))
		}
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

// loopResult counts, per probe, how often it succeeded and how often it was
// refused with EPERM while a helperLoop ran.
type loopResult struct {
	Iterations int   `json:"iterations"`
	OK         []int `json:"ok"`
	EPERM      []int `json:"eperm"`
}

// helperLoop repeats the probes given in $PROBES until stdin is closed.
func helperLoop() {
	var probes []probe
	if err := json.Unmarshal([]byte(os.Getenv("PROBES")), &probes); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var stop atomic.Bool
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop.Store(true)
	}()
	res := loopResult{OK: make([]int, len(probes)), EPERM: make([]int, len(probes))}
	// Announce readiness so that the parent starts updating only once the
	// loop runs.
	os.Stdout.Write([]byte("ready\n"))
	for !stop.Load() {
		for i, p := range probes {
			switch err := p.do(""); {
			case err == nil:
				res.OK[i]++
			case errors.Is(err, unix.EPERM):
				res.EPERM[i]++
			}
		}
		res.Iterations++
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

// helperCmd prepares the test binary as a helper started directly inside
// the cgroup (clone3 CLONE_INTO_CGROUP), as the runtime starts exec'd
// processes.
func helperCmd(t *testing.T, m *Unified, mode string, env ...string) (*exec.Cmd, *os.File) {
	t.Helper()
	dir, err := m.OpenDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append(env, helperEnv+"="+mode)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	cmd.Stderr = os.Stderr
	return cmd, dir
}

// requireRoot skips tests that need privileges the unprivileged developer
// running `go test` does not have; the skip is reported, never a pass.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

var testCgroupSeq atomic.Int64

// testCgroup creates an empty cgroup /oci-rt-test-<pid>-<n>/<sub> on the real
// unified hierarchy and removes the whole /oci-rt-test-<pid>-<n> tree at the
// end of the test.
func testCgroup(t *testing.T, sub string) *Unified {
	t.Helper()
	requireRoot(t)
	root, err := Mountpoint()
	if err != nil {
		t.Skipf("no cgroup2 hierarchy: %v", err)
	}
	top := fmt.Sprintf("/oci-rt-test-%d-%d", os.Getpid(), testCgroupSeq.Add(1))
	topM, err := NewAt(root, top)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Kill first so that a failed test does not leave helpers behind
		// that keep the cgroup busy.
		if _, err := os.Stat(topM.Dir()); err == nil {
			_ = topM.Kill()
			if err := topM.Destroy(); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	m, err := NewAt(root, strings.TrimSuffix(top+"/"+sub, "/"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	return m
}
