package libcontainer

import (
	"errors"
	"testing"
)

// TestLifecycleTable checks every operation in every status against
// runc's behaviour: "" where the operation is allowed, else the error
// runc prints (or, for the creating status runc never shows, ours).
func TestLifecycleTable(t *testing.T) {
	const id = "c1"
	want := map[Operation]map[string]string{
		OpStart: {
			StatusCreating: "cannot start a container in the creating state",
			StatusCreated:  "",
			StatusRunning:  "cannot start an already running container",
			StatusPaused:   "cannot start a container in the paused state",
			StatusStopped:  "cannot start a container that has stopped",
		},
		OpKill: {
			StatusCreating: "", StatusCreated: "", StatusRunning: "", StatusPaused: "",
			StatusStopped: "container not running",
		},
		OpKillAll: {StatusCreating: "", StatusCreated: "", StatusRunning: "", StatusPaused: "", StatusStopped: ""},
		OpDelete: {
			StatusCreating: "", StatusCreated: "", StatusStopped: "",
			StatusRunning: "cannot delete container c1 that is not stopped: running",
			StatusPaused:  "cannot delete container c1 that is not stopped: paused",
		},
		OpDeleteForce: {StatusCreating: "", StatusCreated: "", StatusRunning: "", StatusPaused: "", StatusStopped: ""},
		OpPause: {
			StatusCreating: "container not running",
			StatusCreated:  "", StatusRunning: "",
			StatusPaused:  "container not running",
			StatusStopped: "container not running",
		},
		OpResume: {
			StatusCreating: "container not paused",
			StatusCreated:  "container not paused",
			StatusRunning:  "container not paused",
			StatusPaused:   "",
			StatusStopped:  "container not paused",
		},
		OpExec: {
			StatusCreating: "cannot exec in a container that is creating",
			StatusCreated:  "", StatusRunning: "",
			StatusPaused:  "cannot exec in a paused container (use --ignore-paused to override)",
			StatusStopped: "cannot exec in a stopped container: container c1 is not running",
		},
		OpExecIgnorePaused: {
			StatusCreating: "cannot exec in a container that is creating",
			StatusCreated:  "", StatusRunning: "", StatusPaused: "",
			StatusStopped: "cannot exec in a stopped container: container c1 is not running",
		},
		OpUpdate: {
			StatusCreating: "cannot update a container that is creating",
			StatusCreated:  "", StatusRunning: "", StatusPaused: "",
			StatusStopped: "container not running",
		},
		OpPs: {StatusCreating: "", StatusCreated: "", StatusRunning: "", StatusPaused: "", StatusStopped: ""},
		OpEvents: {
			StatusCreating: "container with id c1 is not running",
			StatusCreated:  "", StatusRunning: "", StatusPaused: "",
			StatusStopped: "container with id c1 is not running",
		},
		OpCheckpoint: {
			StatusCreating: "container c1 is not running", StatusCreated: "container c1 is not running",
			StatusRunning: "", StatusPaused: "",
			StatusStopped: "container c1 is not running",
		},
	}
	if len(want) != int(numOperations) {
		t.Fatalf("the test covers %d operations, the table has %d", len(want), numOperations)
	}
	for op, byStatus := range want {
		if len(byStatus) != len(statuses) {
			t.Errorf("%s: the test covers %d statuses, there are %d", op, len(byStatus), len(statuses))
		}
		for _, st := range statuses {
			err := allowedIn(op, id, st)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != byStatus[st] {
				t.Errorf("%s when %s: got %q, want %q", op, st, got, byStatus[st])
			}
		}
	}
}

// TestLifecycleNotRunningErrors: refusals that mean "the init is gone"
// match ErrNotRunning, which callers test for.
func TestLifecycleNotRunningErrors(t *testing.T) {
	for _, op := range []Operation{OpKill, OpExec, OpExecIgnorePaused, OpUpdate, OpPause} {
		if err := allowedIn(op, "c1", StatusStopped); !errors.Is(err, ErrNotRunning) {
			t.Errorf("%s when stopped: %v, want an ErrNotRunning", op, err)
		}
	}
}

// TestLifecycleOperationNames: every operation has its own name, which
// the debug log and these tests print.
func TestLifecycleOperationNames(t *testing.T) {
	seen := map[string]bool{}
	for op := Operation(0); op < numOperations; op++ {
		name := op.String()
		if name == "" || seen[name] {
			t.Errorf("operation %d: name %q empty or repeated", op, name)
		}
		seen[name] = true
	}
}
