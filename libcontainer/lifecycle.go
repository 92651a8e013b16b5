package libcontainer

import (
	"errors"
	"fmt"
)

// Operation is a command that acts on an existing container. Whether it
// may, in the container's current status, is decided by lifecycle alone.
type Operation int

// The operations the lifecycle table rules. A flag that widens what an operation
// may do (kill --all, delete --force, exec --ignore-paused) is an
// operation of its own, so that the table shows its states too.
const (
	OpStart Operation = iota
	OpKill
	OpKillAll
	OpDelete
	OpDeleteForce
	OpPause
	OpResume
	OpExec
	OpExecIgnorePaused
	OpUpdate
	OpPs
	OpEvents
	OpCheckpoint
	numOperations
)

// statuses are every status Status can return, in lifecycle order.
var statuses = []string{StatusCreating, StatusCreated, StatusRunning, StatusPaused, StatusStopped}

// lifecycleRule is what one operation allows, and the error a client sees
// when the container is in another status.
type lifecycleRule struct {
	name    string
	allowed []string
	refuse  func(id, status string) error
}

// lifecycle holds every rule. The refusals keep runc's words, which
// clients and users match: runc has no creating status (its create holds
// a lock throughout), so a refusal there names it plainly.
var lifecycle = [numOperations]lifecycleRule{
	OpStart: {"start", []string{StatusCreated}, func(_, st string) error {
		switch st {
		case StatusStopped:
			return errors.New("cannot start a container that has stopped")
		case StatusRunning:
			return errors.New("cannot start an already running container")
		}
		return fmt.Errorf("cannot start a container in the %s state", st)
	}},
	// Whether the init is still the container's is decided by Signal
	// itself (a process that is not provably the init is an error of its
	// own, not a stopped container); the table gives the words.
	OpKill:    {"kill", []string{StatusCreating, StatusCreated, StatusRunning, StatusPaused}, refuseNotRunning},
	OpKillAll: {"kill --all", statuses, nil},
	OpDelete: {"delete", []string{StatusCreating, StatusCreated, StatusStopped}, func(id, st string) error {
		return fmt.Errorf("cannot delete container %s that is not stopped: %s", id, st)
	}},
	OpDeleteForce: {"delete --force", statuses, nil},
	// A created container may be frozen too, as runc allows: its init
	// waits for start either way, and start refuses it until resumed.
	OpPause: {"pause", []string{StatusCreated, StatusRunning}, refuseNotRunning},
	OpResume: {"resume", []string{StatusPaused}, func(_, _ string) error {
		return errors.New("container not paused")
	}},
	OpExec:             {"exec", []string{StatusCreated, StatusRunning}, refuseExec},
	OpExecIgnorePaused: {"exec --ignore-paused", []string{StatusCreated, StatusRunning, StatusPaused}, refuseExec},
	OpUpdate: {"update", []string{StatusCreated, StatusRunning, StatusPaused}, func(_, st string) error {
		if st == StatusCreating {
			return errors.New("cannot update a container that is creating")
		}
		return ErrNotRunning
	}},
	OpPs: {"ps", statuses, nil},
	OpEvents: {"events", []string{StatusCreated, StatusRunning, StatusPaused}, func(id, _ string) error {
		return fmt.Errorf("container with id %s is not running", id)
	}},
	OpCheckpoint: {"checkpoint", []string{StatusRunning, StatusPaused}, func(id, _ string) error {
		return fmt.Errorf("container %s is not running", id)
	}},
}

func refuseNotRunning(_, _ string) error { return ErrNotRunning }

func refuseExec(id, st string) error {
	switch st {
	case StatusPaused:
		return errors.New("cannot exec in a paused container (use --ignore-paused to override)")
	case StatusStopped:
		return &notRunningError{id: id}
	}
	return fmt.Errorf("cannot exec in a container that is %s", st)
}

// String is the operation as the command line spells it.
func (op Operation) String() string { return lifecycle[op].name }

// allowedIn says whether op may act on container id in status st, and if
// not, why, in the words runc uses.
func allowedIn(op Operation, id, st string) error {
	rule := lifecycle[op]
	for _, ok := range rule.allowed {
		if ok == st {
			return nil
		}
	}
	return rule.refuse(id, st)
}

// Allow says whether op may act on the container as it is now. Callers
// that change the container call it under the container's lock.
func (c *Container) Allow(op Operation) error { return c.allowGiven(op, c.initAlive()) }

// allowGiven is Allow for a caller that has just looked at the init.
func (c *Container) allowGiven(op Operation, initAlive bool) error {
	st := c.statusGiven(initAlive)
	debugf("%s %s: container is %s", op, c.State.ID, st)
	return allowedIn(op, c.State.ID, st)
}
