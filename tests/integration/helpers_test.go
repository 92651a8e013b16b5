// Package integration drives the built oci-rt binary against busybox
// bundles, as root, the way runc's clients do. helpers_test.go is the
// shared harness: the binary, bundles, a private --root per test, and a
// subreaper test process that reaps container inits like containerd's shim.
package integration

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var (
	// repoRoot is the oci-rt checkout these tests belong to.
	repoRoot string
	// rtBinary is the absolute path of the oci-rt binary under test.
	rtBinary string
	// mkbundleScript makes a bundle with rtBinary's `spec` config.
	mkbundleScript string
	// templateBundle is made once by mkbundleScript; newBundle copies it
	// (a copy is one process, mkbundle.sh is hundreds).
	templateBundle string
	// harnessDir holds what the tests share (the binary, the template
	// bundle, built test programs); TestMain removes it at the end.
	harnessDir string
)

// TestMain builds oci-rt once for this test binary (into a private
// directory, so that other engineers' concurrent builds of ./oci-rt cannot
// swap it mid-run) and makes the test process a child subreaper: container
// inits outlive the `create` that spawned them and must come back to us to
// be reaped, as they come back to containerd's shim.
func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	runc.Monitor = waitWhenDoneMonitor{}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "tests/integration: these tests create real containers and must run as root")
		return 1
	}
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	dir, err := os.MkdirTemp("", "oci-rt-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	harnessDir = dir
	if rtBinary, err = buildBinary(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// mkbundle.sh runs the oci-rt next to its own directory: give it ours.
	if err := os.Mkdir(filepath.Join(dir, "tests"), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mkbundleScript = filepath.Join(dir, "tests", "mkbundle.sh")
	if err := os.Symlink(filepath.Join(repoRoot, "tests", "mkbundle.sh"), mkbundleScript); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if own := filepath.Join(dir, "oci-rt"); rtBinary != own {
		if err := os.Symlink(rtBinary, own); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	templateBundle = filepath.Join(dir, "bundle")
	if out, err := exec.Command(mkbundleScript, templateBundle).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "mkbundle.sh %s: %v\n%s", templateBundle, err, out)
		return 1
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "become child subreaper:", err)
		return 1
	}
	return m.Run()
}

// buildBinary builds oci-rt into dir, or uses $OCIRT_BINARY when set.
func buildBinary(dir string) (string, error) {
	if bin := os.Getenv("OCIRT_BINARY"); bin != "" {
		return filepath.Abs(bin)
	}
	// The tests need the hooks release builds leave out (see
	// createStoppedAt).
	bin := filepath.Join(dir, "oci-rt")
	return bin, makeBuild(bin, "EXTRATAGS=ocirt_testhooks")
}

// makeBuild runs `make build` into bin: the Makefile holds the one set of
// build flags.
func makeBuild(bin string, vars ...string) error {
	cmd := exec.Command("make", append([]string{"--no-print-directory", "build", "BINARY=" + bin}, vars...)...)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build oci-rt: %v\n%s", err, out)
	}
	return nil
}

// newBundle makes a busybox bundle in a temp dir, a copy of one made with
// tests/mkbundle.sh. The process gets no terminal (most tests read its output through plain
// fds); edits then change the config as a test needs.
func newBundle(t testing.TB, edits ...func(*specs.Spec)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bundle")
	if out, err := exec.Command("cp", "-a", templateBundle, dir).CombinedOutput(); err != nil {
		t.Fatalf("copy bundle: %v\n%s", err, out)
	}
	editBundle(t, dir, append([]func(*specs.Spec){func(s *specs.Spec) { s.Process.Terminal = false }}, edits...)...)
	return dir
}

// withLoggingHooks gives the config a createRuntime and a poststart hook
// that each append what the shell command show prints to the file log.
func withLoggingHooks(show, log string) func(*specs.Spec) {
	hook := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", show + " >>" + log}}
	return func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{hook}, Poststart: []specs.Hook{hook}}
	}
}

// editBundle rewrites bundle's config.json through edits.
func editBundle(t testing.TB, bundle string, edits ...func(*specs.Spec)) {
	t.Helper()
	path := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	for _, edit := range edits {
		edit(&spec)
	}
	if data, err = json.MarshalIndent(&spec, "", "\t"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// withArgs sets the container's command.
func withArgs(args ...string) func(*specs.Spec) {
	return func(s *specs.Spec) { s.Process.Args = args }
}

// shell runs script with the container's /bin/sh.
func shell(script string) func(*specs.Spec) {
	return withArgs("/bin/sh", "-c", script)
}

var idSanitizer = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// newID returns a container ID unique on this host: cgroups are global, and
// other test binaries run at the same time.
func newID(t testing.TB) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := idSanitizer.ReplaceAllString(t.Name(), "-")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return "it-" + strings.Trim(name, "-.") + "-" + hex.EncodeToString(b)
}

// Runtime is oci-rt with a private --root, cleaned when the test ends:
// every container left in the root is deleted with --force.
type Runtime struct {
	t    testing.TB
	Root string
	// Bin is the runtime binary: oci-rt unless a parity test runs runc.
	Bin string
	// Global are global flags every command gets (--systemd-cgroup).
	Global []string
	// Env is added to every command's environment (goInitEnv for a test
	// of the Go init).
	Env []string
}

// goInitEnv has a binary built with the ocirt_testhooks tag set every
// container up in its Go init, and run every exec through the Go path,
// rather than through a plan carried out in C.
const goInitEnv = "OCIRT_TEST_EXEC_GO_PATH=1"

func newRuntime(t testing.TB) *Runtime {
	t.Helper()
	r := &Runtime{t: t, Root: t.TempDir(), Bin: rtBinary}
	t.Cleanup(r.deleteAll)
	return r
}

func (r *Runtime) deleteAll() {
	entries, _ := os.ReadDir(r.Root)
	for _, e := range entries {
		if res := r.Run("delete", "--force", e.Name()); res.Code != 0 {
			r.t.Errorf("cleanup: delete --force %s: %s", e.Name(), res)
		}
	}
}

// Command is `oci-rt --root R args...` with stdin from /dev/null and no
// stdout/stderr set: callers that start containers must give files, not
// pipes (a container holds its copy of a pipe and Wait would block).
func (r *Runtime) Command(args ...string) *exec.Cmd {
	global := append([]string{"--root", r.Root}, r.Global...)
	cmd := exec.Command(r.Bin, append(global, args...)...)
	if len(r.Env) > 0 {
		cmd.Env = append(os.Environ(), r.Env...)
	}
	return cmd
}

// Result is a finished oci-rt command.
type Result struct {
	Args           []string
	Stdout, Stderr string
	Code           int // exit status, 128+signal when killed
}

func (res Result) String() string {
	return fmt.Sprintf("oci-rt %s: exit %d, stdout %q, stderr %q", strings.Join(res.Args, " "), res.Code, res.Stdout, res.Stderr)
}

// Run runs an oci-rt command to completion, its output in temp files.
func (r *Runtime) Run(args ...string) Result {
	r.t.Helper()
	return r.RunCmd(r.Command(args...))
}

// RunCmd runs cmd (from Command, maybe adjusted) with stdout and stderr in
// temp files unless the caller set them.
func (r *Runtime) RunCmd(cmd *exec.Cmd) Result {
	r.t.Helper()
	var out, errf *os.File
	if cmd.Stdout == nil {
		out = tempFile(r.t)
		cmd.Stdout = out
	}
	if cmd.Stderr == nil {
		errf = tempFile(r.t)
		cmd.Stderr = errf
	}
	res := Result{Args: cmd.Args[3+len(r.Global):]}
	err := cmd.Run()
	res.Code = exitCode(r.t, cmd, err)
	if out != nil {
		res.Stdout = readFile(r.t, out.Name())
	}
	if errf != nil {
		res.Stderr = readFile(r.t, errf.Name())
	}
	return res
}

// Must runs an oci-rt command that must succeed with an empty stderr
// (clients merge stderr into the output they parse) and returns stdout.
func (r *Runtime) Must(args ...string) string {
	r.t.Helper()
	res := r.Run(args...)
	if res.Code != 0 || res.Stderr != "" {
		r.t.Fatalf("%s", res)
	}
	return res.Stdout
}

// State is `oci-rt state ID` parsed.
func (r *Runtime) State(id string) specs.State {
	r.t.Helper()
	out := r.Must("state", id)
	var st specs.State
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		r.t.Fatalf("state %s: %v in %q", id, err, out)
	}
	return st
}

// waitWhenDoneMonitor waits for a runtime command only when go-runc is
// done with its output, as containerd's shim does with its own monitor.
// go-runc's default monitor waits at once, and exec.Cmd's Wait closes the
// stdout pipe when the command exits: a runtime that prints and exits
// before go-runc reads (Stats) loses its output ("file already closed").
type waitWhenDoneMonitor struct{}

func (waitWhenDoneMonitor) Start(c *exec.Cmd) (chan runc.Exit, error) {
	if err := c.Start(); err != nil {
		return nil, err
	}
	return make(chan runc.Exit, 1), nil
}

func (m waitWhenDoneMonitor) StartLocked(c *exec.Cmd) (chan runc.Exit, error) {
	return m.Start(c)
}

func (waitWhenDoneMonitor) Wait(c *exec.Cmd, _ chan runc.Exit) (int, error) {
	err := c.Wait()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode(), nil
	}
	if err != nil {
		return 255, err
	}
	return 0, nil
}

// GoRunc is a go-runc client for this runtime, as containerd holds one.
func (r *Runtime) GoRunc() *runc.Runc {
	return &runc.Runc{Command: rtBinary, Root: r.Root}
}

// Container is a created container whose output goes to a file and whose
// init is reaped by the test process.
type Container struct {
	ID, Bundle string
	Pid        int
	// Output is the file the process's stdout and stderr go to.
	Output string
	exited <-chan unix.WaitStatus
}

// Create runs `oci-rt create` for bundle with a pid file, the container's
// stdout and stderr in a file, extra create flags before the ID, and adopts
// the init.
func (r *Runtime) Create(bundle string, flags ...string) *Container {
	r.t.Helper()
	return r.CreateID(newID(r.t), bundle, flags...)
}

// CreateID is Create with a chosen container ID.
func (r *Runtime) CreateID(id, bundle string, flags ...string) *Container {
	r.t.Helper()
	c := &Container{ID: id, Bundle: bundle}
	dir := r.t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	out, err := os.Create(filepath.Join(dir, "output"))
	if err != nil {
		r.t.Fatal(err)
	}
	defer out.Close()
	c.Output = out.Name()
	args := append([]string{"create", "--bundle", bundle, "--pid-file", pidFile}, flags...)
	cmd := r.Command(append(args, c.ID)...)
	cmd.Stdout, cmd.Stderr = out, out
	if res := r.RunCmd(cmd); res.Code != 0 {
		r.t.Fatalf("%s; container output %q", res, readFile(r.t, c.Output))
	}
	c.Pid = readPidFile(r.t, pidFile)
	c.exited = adopt(r.t, c.Pid)
	return c
}

// ReadOutput returns what the container wrote so far.
func (c *Container) ReadOutput(t testing.TB) string {
	t.Helper()
	return readFile(t, c.Output)
}

// Wait waits for the init to exit and returns its wait status.
func (c *Container) Wait(t testing.TB, timeout time.Duration) unix.WaitStatus {
	t.Helper()
	select {
	case ws := <-c.exited:
		return ws
	case <-time.After(timeout):
		t.Fatalf("container %s (pid %d) still runs after %v", c.ID, c.Pid, timeout)
		return 0
	}
}

// adopt reaps pid, a child of ours (an init reparented to us when its
// create exited), in the background, and reports its wait status. Only that
// pid is waited for: other children belong to os/exec.
func adopt(t testing.TB, pid int) <-chan unix.WaitStatus {
	t.Helper()
	ppid, err := procPPid(pid)
	if err != nil || ppid != os.Getpid() {
		t.Fatalf("init %d is not our child (ppid %d, %v): the runtime left a process between us and it", pid, ppid, err)
	}
	ch := make(chan unix.WaitStatus, 1)
	go func() {
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(pid, &ws, 0, nil)
			if err != unix.EINTR {
				break
			}
		}
		ch <- ws
	}()
	return ch
}

// procPPid reads PPid from /proc/PID/status.
func procPPid(pid int) (int, error) {
	v, err := procStatusField(pid, "PPid")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(v)
}

// procStatusField returns a field of /proc/PID/status.
func procStatusField(pid int, name string) (string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("/proc/%d/status has no %s", pid, name)
}

// readPidFile parses a pid file, which must hold only decimal digits.
func readPidFile(t testing.TB, path string) int {
	t.Helper()
	data := readFile(t, path)
	pid, err := strconv.Atoi(data)
	if err != nil || pid <= 0 {
		t.Fatalf("pid file %s holds %q, want a decimal pid with no newline", path, data)
	}
	return pid
}

// pidAlive reports whether pid exists and is not a zombie.
func pidAlive(pid int) bool {
	st, err := procStatusField(pid, "State")
	return err == nil && !strings.HasPrefix(st, "Z") && !strings.HasPrefix(st, "X")
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func tempFile(t testing.TB) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// procEnviron is the environment process pid started with, one entry
// per variable.
func procEnviron(t testing.TB, pid int) []string {
	t.Helper()
	return strings.Split(strings.TrimSuffix(readFile(t, fmt.Sprintf("/proc/%d/environ", pid)), "\x00"), "\x00")
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// exitCode turns cmd.Run's error into a shell-style exit status.
func exitCode(t testing.TB, cmd *exec.Cmd, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	if cmd.ProcessState == nil {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return shellStatus(cmd.ProcessState)
}

// shellStatus is a finished process's exit status, 128+signal when killed.
func shellStatus(ps *os.ProcessState) int {
	ws := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// defaultCgroupGlob matches, below a hierarchy's mountpoint, the cgroup
// the runtime gives container id by default with a private --root as the
// tests use: oci-rt-<hash of the root>-<id> (cgroups.DefaultPath). Test IDs
// are unique, so the one match is the container's.
func defaultCgroupGlob(id string) string { return "oci-rt-????????-" + id }

// cgroupDir is where the runtime puts a container's cgroup by default, in
// the unified hierarchy; if there is none, the path it would have.
func cgroupDir(id string) string {
	if m, _ := filepath.Glob(filepath.Join(unifiedMount(), defaultCgroupGlob(id))); len(m) == 1 {
		return m[0]
	}
	return filepath.Join(unifiedMount(), "oci-rt-00000000-"+id)
}

// allCgroupDirs are the container's cgroup directories in every hierarchy:
// the unified one, and on a v1 or hybrid host each v1 hierarchy's.
func allCgroupDirs(id string) []string {
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", defaultCgroupGlob(id)))
	if d := cgroupDir(id); !slices.Contains(dirs, d) {
		if _, err := os.Stat(d); err == nil {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// cgroupFrozen tells whether the container's cgroup is frozen: through the
// v1 freezer where the host has one, else the unified hierarchy's.
func cgroupFrozen(t testing.TB, id string) bool {
	t.Helper()
	if dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/freezer", defaultCgroupGlob(id))); len(dirs) == 1 {
		return readFile(t, filepath.Join(dirs[0], "freezer.state")) == "FROZEN\n"
	}
	return strings.Contains(readFile(t, filepath.Join(cgroupDir(id), "cgroup.events")), "frozen 1")
}

var unifiedOnce = sync.OnceValue(func() string {
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "/sys/fs/cgroup"
	}
	return "/sys/fs/cgroup/unified"
})

// unifiedMount is the cgroup v2 hierarchy's mountpoint on this machine.
func unifiedMount() string { return unifiedOnce() }

// pauseHookEnv is the variable that names where create stops itself.
const pauseHookEnv = "OCIRT_TEST_PAUSE_AT"

// hasPauseHook reports whether the binary reads pauseHookEnv, i.e. holds
// the test hooks: the name is in it as a string only if the code is.
func hasPauseHook(t testing.TB, binary string) bool {
	t.Helper()
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(data, []byte(pauseHookEnv))
}

// bufString is a goroutine-safe buffer for output copied from a pty.
type bufString struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *bufString) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *bufString) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// createStoppedAt starts `create` of bundle as id and waits until it has
// stopped itself at the named point of create (OCIRT_TEST_PAUSE_AT), which
// it says in its output; the caller kills it there. Its output goes to a
// temp file.
func (r *Runtime) createStoppedAt(bundle, id, point string) *exec.Cmd {
	r.t.Helper()
	if !hasPauseHook(r.t, rtBinary) {
		r.t.Fatalf("%s was built without the ocirt_testhooks tag: create cannot stop at %s", rtBinary, point)
	}
	out := tempFile(r.t)
	cmd := r.Command("create", "--bundle", bundle, id)
	cmd.Env = append(os.Environ(), pauseHookEnv+"="+point)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	// A create that failed or hung before the point says why in its output.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if strings.Contains(readFile(r.t, out.Name()), "create paused at "+point+"\n") {
			return cmd
		}
		st, _ := procStatusField(cmd.Process.Pid, "State")
		if st == "" || strings.HasPrefix(st, "Z") {
			r.t.Fatalf("create ended before it stopped at %s (%v); its output: %q", point, cmd.Wait(), readFile(r.t, out.Name()))
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("create did not stop at %s (state %q); its output: %q", point, st, readFile(r.t, out.Name()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// eventLines starts `events --interval 1h id` and returns its output
// lines as they come (the channel closes when it ends) and what it writes
// to stderr; it is killed when the test ends.
func eventLines(t *testing.T, r *Runtime, id string) (<-chan string, *strings.Builder) {
	t.Helper()
	cmd := r.Command("events", "--interval", "1h", id)
	stdout, err := cmd.StdoutPipe()
	noErr(t, err)
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	noErr(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return lines, stderr
}

// testdataBinary is the program of tests/integration/testdata/<name>, for
// a rootfs: prebuilt in $OCIRT_TESTDATA_BIN (the VM cannot build), else
// built now.
func testdataBinary(t *testing.T, name, dest string) {
	t.Helper()
	if dir := os.Getenv("OCIRT_TESTDATA_BIN"); dir != "" {
		copyFile(t, filepath.Join(dir, name), dest, 0o755)
		return
	}
	build := exec.Command("go", "build", "-o", dest, "./tests/integration/testdata/"+name)
	build.Dir, build.Env = repoRoot, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
}
