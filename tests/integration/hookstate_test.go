package integration

import (
	"encoding/json"
	"path/filepath"
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

// TestHookStateStatus (issue 2 item 8, issue 6: program hooks_stdin): the
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
