package devices

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups/internal/cgtest"
)

// The device filter tests run probes in a helper process inside a cgroup
// that carries the filter: the kernel's own enforcement is the oracle.
var helpers = map[string]func(){"probe": helperProbe, "loop": helperLoop}

func TestMain(m *testing.M) { cgtest.Main(m, helpers) }

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

// filterCgroup creates an empty test cgroup on the unified hierarchy and
// returns its directory, open for attaching filters and starting helpers.
func filterCgroup(t *testing.T, sub string) *os.File {
	t.Helper()
	root, path := cgtest.Cgroup2(t, sub)
	dir := filepath.Join(root, path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// setFilter replaces the cgroup's device filter as the v2 driver does,
// with a program loaded for it alone.
func setFilter(dir *os.File, rules []specs.LinuxDeviceCgroup) error {
	prog, err := filterLoader{}.loadRules(rules)
	if err != nil {
		return err
	}
	defer prog.Close()
	return Attach(int(dir.Fd()), prog)
}

func attached(t *testing.T, dir *os.File) []uint32 {
	t.Helper()
	ids, err := Attached(int(dir.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
