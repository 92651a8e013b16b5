package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// stateHook is a host hook that saves the state it gets on stdin to file.
func stateHook(file string) specs.Hook {
	return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + file}}
}

func readHookState(t *testing.T, file string) specs.State {
	t.Helper()
	var st specs.State
	if err := json.Unmarshal([]byte(readFile(t, file)), &st); err != nil {
		t.Fatalf("state in %s: %v", file, err)
	}
	return st
}

// TestHookStateStatus (conformance program hooks_stdin): the
// create-time hooks run host-side see the container as created, with the
// init's pid; poststart hooks see it running with that pid even when the
// process (here `true`) is gone before they run.
func TestHookStateStatus(t *testing.T) {
	r := newRuntime(t)
	dir := t.TempDir()
	file := func(name string) string { return filepath.Join(dir, name) }
	b := newBundle(t, withArgs("true"), func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			Prestart:      []specs.Hook{stateHook(file("prestart"))}, //nolint:staticcheck // still used by clients
			CreateRuntime: []specs.Hook{stateHook(file("createRuntime"))},
			// The hook waits for the process to exit first, so that the
			// state cannot be read from the world.
			Poststart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "sleep 0.3; cat > " + file("poststart")}}},
		}
	})
	c := r.Create(b)
	for _, name := range []string{"prestart", "createRuntime"} {
		if st := readHookState(t, file(name)); st.Status != specs.StateCreated || st.Pid != c.Pid || st.ID != c.ID {
			t.Errorf("%s hook got %+v, want status created, pid %d, id %s", name, st, c.Pid, c.ID)
		}
	}
	r.Must("start", c.ID)
	c.Wait(t, 10*time.Second)
	if st := readHookState(t, file("poststart")); st.Status != specs.StateRunning || st.Pid != c.Pid {
		t.Errorf("poststart hook got %+v, want status running, pid %d", st, c.Pid)
	}
}

// TestPoststopHookFailureWarns (conformance program poststop_fail): as the
// runtime-spec asks, a failing poststop hook is logged as a warning, the hooks
// after it still run, and delete succeeds and removes the container; with
// --log the warning goes to the log, stderr stays empty (clients parse it);
// without --log it goes to stderr.
func TestPoststopHookFailureWarns(t *testing.T) {
	specException(t, "failed poststop hook")
	for _, withLog := range []bool{true, false} {
		r := newRuntime(t)
		dir := t.TempDir()
		after := filepath.Join(dir, "after")
		logFile := filepath.Join(dir, "log.json")
		c := r.Create(newBundle(t, withArgs("true"), func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{
				{Path: "/bin/sh", Args: []string{"sh", "-c", "echo pst-broke >&2; exit 3"}},
				stateHook(after),
			}}
		}))
		r.Must("start", c.ID)
		c.Wait(t, 10*time.Second)
		args := []string{"delete", c.ID}
		if withLog {
			args = append([]string{"--log", logFile, "--log-format", "json"}, args...)
		}
		res := r.Run(args...)
		if res.Code != 0 {
			t.Fatalf("delete with a failing poststop hook: %s", res)
		}
		if st := readHookState(t, after); st.ID != c.ID || st.Status != specs.StateStopped {
			t.Errorf("second poststop hook got %+v, want id %s stopped", st, c.ID)
		}
		if _, err := os.Stat(filepath.Join(r.Root, c.ID)); !os.IsNotExist(err) {
			t.Errorf("state dir of %s still there after delete: %v", c.ID, err)
		}
		warning := res.Stderr
		if withLog {
			if res.Stderr != "" {
				t.Errorf("delete --log: stderr %q, want empty", res.Stderr)
			}
			var entry map[string]string
			if err := json.Unmarshal([]byte(readFile(t, logFile)), &entry); err != nil {
				t.Fatalf("log %s: %v", logFile, err)
			}
			if entry["level"] != "warning" {
				t.Errorf("log entry %v, want level warning", entry)
			}
			warning = entry["msg"]
		}
		if !strings.Contains(warning, "poststop hook #0") || !strings.Contains(warning, "pst-broke") {
			t.Errorf("warning (log %v) %q does not name the hook and its stderr", withLog, warning)
		}
	}
}
