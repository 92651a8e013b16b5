package integration

// What runc's clients depend on: command line, output and lifecycle, driven
// through github.com/containerd/go-runc as containerd drives runc, and through
// the plain CLI where go-runc hides what a client depends on (exact words,
// exit codes, flag spellings).

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runc "github.com/containerd/go-runc"
	"golang.org/x/sys/unix"
)

// fileIO gives a go-runc command one file as stdout and stderr, as
// containerd's shim gives fifos; a file never blocks Wait the way a pipe
// the container holds would.
type fileIO struct{ f *os.File }

func (i fileIO) Close() error                { return nil }
func (i fileIO) Stdin() io.WriteCloser       { return nil }
func (i fileIO) Stdout() io.ReadCloser       { return nil }
func (i fileIO) Stderr() io.ReadCloser       { return nil }
func (i fileIO) Set(cmd *exec.Cmd)           { cmd.Stdout, cmd.Stderr = i.f, i.f }
func (i fileIO) String() string              { return i.f.Name() }
func (i fileIO) CloseAfterStart() error      { return nil }
func (i fileIO) ReadAll(t testing.TB) string { return readFile(t, i.f.Name()) }

// TestGoRuncLifecycle: create → state → start → state → kill → state →
// delete with go-runc, the test process reaping the init from the pid file.
func TestGoRuncLifecycle(t *testing.T) {
	r := newRuntime(t)
	rc := r.GoRunc()
	ctx := context.Background()
	bundle := newBundle(t, shell("trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done"))
	id := newID(t)
	out := fileIO{tempFile(t)}
	pidDir := t.TempDir()
	pidFile := filepath.Join(pidDir, "init.pid")
	if err := rc.Create(ctx, id, bundle, &runc.CreateOpts{IO: out, PidFile: pidFile}); err != nil {
		t.Fatalf("create: %v; output %q", err, out.ReadAll(t))
	}
	pid := readPidFile(t, pidFile)
	// Written atomically: the temp file was renamed, not left beside it.
	if entries, _ := os.ReadDir(pidDir); len(entries) != 1 {
		t.Errorf("pid file dir holds %d entries, want only the pid file", len(entries))
	}
	exited := adopt(t, pid)

	st, err := rc.State(ctx, id)
	if err != nil {
		t.Fatalf("state: %v", err)
	}
	if st.Status != "created" || st.Pid != pid || st.ID != id || st.Bundle != bundle {
		t.Fatalf("state after create: %+v, want created, pid %d, bundle %s", st, pid, bundle)
	}
	if out := out.ReadAll(t); out != "" {
		t.Fatalf("create printed %q or the process ran before start", out)
	}

	begin := time.Now()
	if err := rc.Start(ctx, id); err != nil {
		t.Fatalf("start: %v", err)
	}
	// start only releases the init: it must not wait for the process.
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("start took %v", d)
	}
	waitFor(t, 5*time.Second, "the process to print ready", func() bool { return strings.Contains(out.ReadAll(t), "ready") })
	if st, err = rc.State(ctx, id); err != nil || st.Status != "running" || st.Pid != pid {
		t.Fatalf("state after start: %+v, %v; want running with pid %d", st, err, pid)
	}

	if err := rc.Kill(ctx, id, int(unix.SIGTERM), nil); err != nil {
		t.Fatalf("kill: %v", err)
	}
	select {
	case ws := <-exited:
		if ws.ExitStatus() != 7 || !strings.Contains(out.ReadAll(t), "got TERM") {
			t.Fatalf("init exit status %d, output %q: SIGTERM did not reach the trap", ws.ExitStatus(), out.ReadAll(t))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("init did not exit after SIGTERM")
	}
	if st, err = rc.State(ctx, id); err != nil || st.Status != "stopped" || st.Pid != 0 {
		t.Fatalf("state after exit: %+v, %v; want stopped with pid 0", st, err)
	}

	if err := rc.Delete(ctx, id, nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	assertGone(t, r, id)
	if _, err := rc.State(ctx, id); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("state of a deleted container: %v, want 'does not exist'", err)
	}
}

// assertGone checks that nothing of container id remains: state dir,
// cgroup.
func assertGone(t testing.TB, r *Runtime, id string) {
	t.Helper()
	if _, err := os.Lstat(filepath.Join(r.Root, id)); !os.IsNotExist(err) {
		t.Errorf("state dir of %s still exists (%v)", id, err)
	}
	if _, err := os.Lstat(cgroupDir(id)); !os.IsNotExist(err) {
		t.Errorf("cgroup %s still exists (%v)", cgroupDir(id), err)
	}
}

// startSleeper creates and starts a container whose process traps SIGTERM
// (pid 1 ignores signals it has no handler for) and runs until killed.
func startSleeper(t testing.TB, r *Runtime) *Container {
	t.Helper()
	c := r.Create(newBundle(t, shell("trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done")))
	if out := r.Must("start", c.ID); out != "" {
		t.Fatalf("start printed %q", out)
	}
	waitFor(t, 5*time.Second, "the process to print ready", func() bool { return strings.Contains(c.ReadOutput(t), "ready") })
	return c
}

// TestKillSignalForms: `kill ID 9`, `KILL`, `SIGKILL` all SIGKILL the
// init; no signal means SIGTERM. Killing a stopped container says
// "container not running" unless --all.
func TestKillSignalForms(t *testing.T) {
	r := newRuntime(t)
	for _, form := range []string{"9", "KILL", "SIGKILL"} {
		c := startSleeper(t, r)
		if out := r.Must("kill", c.ID, form); out != "" {
			t.Errorf("kill printed %q", out)
		}
		if ws := c.Wait(t, 10*time.Second); !ws.Signaled() || ws.Signal() != unix.SIGKILL {
			t.Errorf("kill %s: init wait status %#x, want killed by SIGKILL", form, ws)
		}
	}
	c := startSleeper(t, r)
	r.Must("kill", c.ID)
	if ws := c.Wait(t, 10*time.Second); ws.ExitStatus() != 7 {
		t.Fatalf("kill with no signal: exit status %d, want 7 from the TERM trap", ws.ExitStatus())
	}
	res := r.Run("kill", c.ID, "KILL")
	if res.Code != 1 || !strings.Contains(res.Stderr, "container not running") {
		t.Errorf("kill of a stopped container: %s, want exit 1 and 'container not running'", res)
	}
	r.Must("kill", "--all", c.ID, "KILL")
	r.Must("delete", c.ID)
	assertGone(t, r, c.ID)
}

// TestDeleteRules: a created container deletes without --force (its init
// killed); a running one needs --force; a missing one "does not exist"
// unless --force, which exits 0.
func TestDeleteRules(t *testing.T) {
	r := newRuntime(t)
	created := r.Create(newBundle(t, withArgs("true")))
	r.Must("delete", created.ID)
	if ws := created.Wait(t, 10*time.Second); !ws.Signaled() {
		t.Errorf("created init wait status %#x, want killed by delete", ws)
	}
	assertGone(t, r, created.ID)

	running := startSleeper(t, r)
	res := r.Run("delete", running.ID)
	if res.Code != 1 || res.Stderr == "" || strings.Count(res.Stderr, "\n") != 1 {
		t.Errorf("delete of a running container: %s, want exit 1 with a one-line error", res)
	}
	if !pidAlive(running.Pid) {
		t.Fatal("delete without --force killed the running container")
	}
	r.Must("delete", "--force", running.ID)
	running.Wait(t, 10*time.Second)
	assertGone(t, r, running.ID)

	missing := newID(t)
	res = r.Run("delete", missing)
	if res.Code != 1 || !strings.Contains(res.Stderr, "does not exist") {
		t.Errorf("delete of a missing container: %s, want exit 1 and 'does not exist'", res)
	}
	r.Must("delete", "-f", missing)
	if res = r.Run("state", missing); res.Code != 1 || !strings.Contains(res.Stderr, "does not exist") {
		t.Errorf("state of a missing container: %s", res)
	}
}

// TestStartRefused: start of a running or stopped container fails.
func TestStartRefused(t *testing.T) {
	r := newRuntime(t)
	c := startSleeper(t, r)
	if res := r.Run("start", c.ID); res.Code != 1 {
		t.Errorf("start of a running container: %s, want exit 1", res)
	}
	r.Must("kill", c.ID, "KILL")
	c.Wait(t, 10*time.Second)
	if res := r.Run("start", c.ID); res.Code != 1 {
		t.Errorf("start of a stopped container: %s, want exit 1", res)
	}
}

// TestList: json (go-runc's parser), table and -q agree on the containers.
// An empty root lists as null, as runc prints it (go-runc reads null as no
// containers).
func TestList(t *testing.T) {
	r := newRuntime(t)
	if out := r.Must("list", "--format", "json"); out != "null\n" {
		t.Errorf("list of an empty root: %q, want null as runc", out)
	}
	if _, err := r.GoRunc().List(context.Background()); err != nil {
		t.Errorf("go-runc list of an empty root: %v", err)
	}
	a := r.Create(newBundle(t, withArgs("true")))
	b := startSleeper(t, r)
	want := map[string]string{a.ID: "created", b.ID: "running"}

	list, err := r.GoRunc().List(context.Background())
	if err != nil {
		t.Fatalf("go-runc list: %v", err)
	}
	got := map[string]string{}
	for _, c := range list {
		got[c.ID] = c.Status
	}
	if len(got) != 2 || got[a.ID] != want[a.ID] || got[b.ID] != want[b.ID] {
		t.Errorf("list --format json: %v, want %v", got, want)
	}

	lines := strings.Split(strings.TrimSpace(r.Must("list")), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "ID PID STATUS BUNDLE CREATED OWNER" {
		t.Fatalf("list table: %q", lines)
	}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 3 || want[f[0]] != f[2] {
			t.Errorf("list table row %q, want one of %v", line, want)
		}
	}

	quiet := strings.Fields(r.Must("list", "-q"))
	if len(quiet) != 2 || want[quiet[0]] == "" || want[quiet[1]] == "" || quiet[0] == quiet[1] {
		t.Errorf("list -q: %q, want the two IDs", quiet)
	}
}

// TestVersionAndFeatures: three version lines (go-runc's parser only
// accepts a first line starting "runc version", so it is checked here
// by hand, as clients read it); features
// with a non-nil linux object.
func TestVersionAndFeatures(t *testing.T) {
	r := newRuntime(t)
	out := r.Must("--version")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "oci-rt version ") || !strings.HasPrefix(lines[1], "commit: ") || lines[2] != "spec: 1.3.0" {
		t.Errorf("--version: %q", out)
	}
	f, err := r.GoRunc().Features(context.Background())
	if err != nil {
		t.Fatalf("go-runc Features: %v", err)
	}
	if f.Linux == nil || f.OCIVersionMax == "" || len(f.Linux.Namespaces) == 0 {
		t.Errorf("features: %+v, want a linux object listing namespaces", f)
	}
}

// TestFlagSpellings: `--flag value` and `--flag=value`, global and per
// command, short forms; an unknown command exits non-zero.
func TestFlagSpellings(t *testing.T) {
	r := newRuntime(t)
	bundle := newBundle(t, withArgs("true"))
	id := newID(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	out := tempFile(t)
	create := exec.Command(rtBinary, "--root="+r.Root, "create", "--bundle="+bundle, "--pid-file="+pidFile, id)
	create.Stdout, create.Stderr = out, out
	if res := r.RunCmd(create); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	c := &Container{ID: id, Pid: readPidFile(t, pidFile)}
	c.exited = adopt(t, c.Pid)
	for _, args := range [][]string{
		{"--root", r.Root, "state", id},
		{"--root=" + r.Root, "state", id},
		{"--root", r.Root, "list", "--format=json"},
		{"--root", r.Root, "list", "-f", "json"},
	} {
		res := r.RunCmd(exec.Command(rtBinary, args...))
		var v any
		if res.Code != 0 || res.Stderr != "" || json.Unmarshal([]byte(res.Stdout), &v) != nil {
			t.Errorf("%s: want JSON on stdout", res)
		}
	}
	r.Must("delete", "-f", id)
	c.Wait(t, 10*time.Second)

	res := r.Run("no-such-command")
	if res.Code == 0 || res.Stderr == "" {
		t.Errorf("unknown command: %s, want a non-zero exit and an error", res)
	}
}

// TestJSONLog: with --log-format json every failure appends exactly one
// {"level":"error","msg","time"} line and nothing else reaches the file.
func TestJSONLog(t *testing.T) {
	r := newRuntime(t)
	logFile := filepath.Join(t.TempDir(), "log.json")
	missing := newID(t)
	c := startSleeper(t, r)
	// A success writes nothing; two failures write one line each.
	for _, args := range [][]string{
		{"state", c.ID},
		{"state", missing},
		{"delete", c.ID},
	} {
		r.Run(append([]string{"--log", logFile, "--log-format", "json"}, args...)...)
	}
	r.Run("--log="+logFile, "--log-format=json", "create", "--bundle", t.TempDir(), newID(t))
	f, err := os.Open(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var msgs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var entry map[string]string
		if err := json.Unmarshal(sc.Bytes(), &entry); err != nil {
			t.Fatalf("log line %q is not a JSON object of strings: %v", sc.Text(), err)
		}
		if len(entry) != 3 || entry["level"] != "error" || entry["msg"] == "" {
			t.Errorf("log line %q, want exactly level=error, msg, time", sc.Text())
		}
		if _, err := time.Parse(time.RFC3339, entry["time"]); err != nil {
			t.Errorf("log time %q: %v", entry["time"], err)
		}
		msgs = append(msgs, entry["msg"])
	}
	if len(msgs) != 3 || !strings.Contains(msgs[0], "does not exist") || !strings.Contains(msgs[1], "running") {
		t.Errorf("log messages %q, want 'does not exist', the running-container refusal, the create error", msgs)
	}
}
