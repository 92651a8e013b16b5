package integration

import (
	"strings"
	"testing"
	"time"
)

// TestCreateStartOutput: create leaves the init blocked before execve (its
// output is empty), start runs the process, whose stdout is the file create
// was given (fds 0-2 pass through unchanged without a terminal).
func TestCreateStartOutput(t *testing.T) {
	r := newRuntime(t)
	c := r.Create(newBundle(t, shell("echo hello from $$")))
	if st := r.State(c.ID); st.Status != "created" || st.Pid != c.Pid {
		t.Fatalf("after create: %+v, want created with pid %d", st, c.Pid)
	}
	if out := c.ReadOutput(t); out != "" {
		t.Fatalf("process ran before start: %q", out)
	}
	r.Must("start", c.ID)
	if ws := c.Wait(t, 10*time.Second); ws.ExitStatus() != 0 {
		t.Fatalf("process exit status %d", ws.ExitStatus())
	}
	if out := c.ReadOutput(t); strings.TrimSpace(out) != "hello from 1" {
		t.Fatalf("output %q, want the process as pid 1 of its namespace", out)
	}
	if st := r.State(c.ID); st.Status != "stopped" || st.Pid != 0 {
		t.Fatalf("after exit: %+v, want stopped with pid 0", st)
	}
}
