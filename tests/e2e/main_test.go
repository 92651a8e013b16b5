//go:build e2e

// Package e2e drives real container engines (containerd through ctr and
// through CRI with crictl, Podman, Docker) on oci-rt, or on runc with
// RUNTIME=runc, each engine running as a private daemon with its own state,
// data and socket directories that the suite removes afterwards. Every check
// looks at the effect in the kernel (cgroup files, /proc), not only at the
// client's exit code.
package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	// runtimeName is "oci-rt" or "runc"; runtimeBinary its absolute path.
	runtimeName   string
	runtimeBinary string
	// workDir holds every engine's directories and the image archive.
	workDir      string
	imageArchive string
	cacheDir     string

	results   = map[string]string{} // "engine/check" -> PASS, FAIL, N/A
	resultsMu sync.Mutex
	baseline  map[string]string // runc's results on this host, if recorded
)

// errNotApplicable marks an operation an engine's client has no command for
// (ctr has no logs or update, CRI has no pause): reported as N/A, never as
// a pass.
var errNotApplicable = errors.New("not offered by this client")

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "e2e: must run as root (it starts container engines)")
		return 1
	}
	var err error
	cacheDir, err = filepath.Abs(".cache")
	if err == nil {
		err = os.MkdirAll(cacheDir, 0o755)
	}
	if err == nil {
		err = selectRuntime()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if runtimeName != "runc" {
		baseline = readResults(filepath.Join(cacheDir, "results-runc.txt"))
	}
	workDir, err = os.MkdirTemp("/var/tmp", "oci-rt-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(workDir)
	if err := os.Chmod(workDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	imageArchive = filepath.Join(workDir, "images.tar")
	if err := buildImageArchive(imageArchive); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build image:", err)
		return 1
	}
	code := m.Run()
	writeResults(filepath.Join(cacheDir, "results-"+runtimeName+".txt"))
	return code
}

func selectRuntime() error {
	runtimeName = os.Getenv("RUNTIME")
	switch runtimeName {
	case "", "oci-rt":
		runtimeName = "oci-rt"
		bin := os.Getenv("OCIRT_BINARY")
		if bin == "" {
			bin = "../../oci-rt"
		}
		abs, err := filepath.Abs(bin)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("build oci-rt first (make build): %w", err)
		}
		runtimeBinary = abs
	case "runc":
		path, err := exec.LookPath("runc")
		if err != nil {
			return err
		}
		runtimeBinary, _ = filepath.Abs(path)
	default:
		return fmt.Errorf("RUNTIME=%q: want oci-rt or runc", runtimeName)
	}
	return nil
}

func readResults(path string) map[string]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	got := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, result, ok := strings.Cut(sc.Text(), " "); ok {
			got[name] = result
		}
	}
	return got
}

func writeResults(path string) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	// Runs of single engines add to what earlier runs recorded.
	merged := readResults(path)
	if merged == nil {
		merged = map[string]string{}
	}
	for name, result := range results {
		merged[name] = result
	}
	var names []string
	for name := range merged {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	counts := map[string]int{}
	for _, name := range names {
		fmt.Fprintf(&b, "%s %s\n", name, merged[name])
		counts[strings.Fields(merged[name])[0]]++
	}
	_ = os.WriteFile(path, []byte(b.String()), 0o644)
	fmt.Printf("e2e on %s: %d passed, %d failed, %d runc also fails, %d not applicable (%s)\n",
		runtimeName, counts["PASS"], counts["FAIL"], counts["RUNC-FAILS"], counts["N/A"], path)
}

// check runs one named check for an engine and records its result. A
// failure of a check that runc fails too on this host (per the recorded
// baseline) is reported as such and not counted against oci-rt.
func check(t *testing.T, e engine, name string, fn func(t *testing.T)) {
	checkKey(t, e.Name()+"/"+name, name, fn)
}

// checkKey is check for a test that drives no engine of the suite's own
// (rootless Podman, with a user of its own): its result counts under key
// like any check's, so that its failure fails the run.
func checkKey(t *testing.T, key, name string, fn func(t *testing.T)) {
	t.Run(name, func(t *testing.T) {
		notApplicable := false
		defer func() {
			result := "PASS"
			switch {
			case notApplicable:
				result = "N/A"
			case t.Failed() && baseline != nil && strings.HasPrefix(baseline[key], "FAIL"):
				result = "RUNC-FAILS"
			case t.Failed():
				result = "FAIL"
			}
			resultsMu.Lock()
			results[key] = result
			resultsMu.Unlock()
		}()
		defer func() {
			if r := recover(); r != nil {
				if r == errNotApplicable {
					notApplicable = true
					t.Skipf("%s: %v", name, errNotApplicable)
				}
				panic(r)
			}
		}()
		fn(t)
	})
}

// notApplicable ends a check for a client that has no such command.
func notApplicable() { panic(errNotApplicable) }

// cmdResult is a finished command: its combined output and exit status.
type cmdResult struct {
	Out  string
	Code int
	Err  error
}

// runCmd runs a client command with a deadline, so a hung engine fails the
// check instead of hanging the suite.
func runCmd(timeout time.Duration, stdin string, name string, args ...string) cmdResult {
	return runCmdAs(timeout, stdin, func(*exec.Cmd) {}, name, args...)
}

// runCmdAs is runCmd with cmd prepared by prepare, such as to run as
// another user.
func runCmdAs(timeout time.Duration, stdin string, prepare func(*exec.Cmd), name string, args ...string) cmdResult {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	prepare(cmd)
	cmd.WaitDelay = 5 * time.Second
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	res := cmdResult{Out: string(out), Err: err}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		res.Code = exitErr.ExitCode()
	case err != nil:
		res.Code = -1
	}
	if ctx.Err() != nil {
		res.Code, res.Err = -1, fmt.Errorf("%s %s: timed out after %s", name, strings.Join(args, " "), timeout)
	}
	return res
}

// must runs a command that has to succeed and returns its output.
func must(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	res := runCmd(timeout, "", name, args...)
	if res.Err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), res.Err, res.Out)
	}
	return res.Out
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
