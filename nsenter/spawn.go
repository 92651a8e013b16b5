package nsenter

/*
#include <stdlib.h>
#include "spawn.h"
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/internal/sysfile"
)

// SpawnRequest is the container's process, ready to start: everything else
// about it (ids, capabilities, limits, cwd) is already the calling
// thread's.
type SpawnRequest struct {
	Path string
	Argv []string
	Env  []string
	// Filter, when not empty, is installed in the child with SeccompFlags
	// right before execve: a filter installed in the caller could deny
	// the clone itself. It may not ask for a listener fd.
	Filter       []unix.SockFilter
	SeccompFlags uintptr
	// CloseFrom is the first fd that is not the process's own.
	CloseFrom int
	// ControllingTerminal makes stdin, a terminal, the child's controlling
	// terminal. The child always leads a session of its own: the caller's
	// ends when it exits.
	ControllingTerminal bool
	// What the child does after its session is set up (which ends
	// SpawnAndExit) and before its filter and program.
	SpawnWait
	// HookState, for FinishAfterStart, is the state the Hooks read: the
	// process reads none from a pipe there.
	HookState []byte
}

// SpawnWait is what a process that waits for start does before its
// filter and program, the one SpawnAndExit or a plan's Spawn step starts.
// FifoFD, when not 0, is an O_PATH fd of the exec fifo: the process opens
// it for writing through ProcfsFD, a procfs of its pid namespace, which
// blocks until `start` reads it; a failure from there on is written into
// the fifo, for `start` to read with ReadReport. Hooks, when not empty,
// run in order once `start` has opened the fifo: the startContainer
// hooks, prepared by the caller to the last byte. Each gets on stdin what
// the process reads from HookStateFD, a pipe, up to EOF (at most
// HookStateMax bytes). The first that fails ends the process with a
// KindHookError report in the fifo.
type SpawnWait struct {
	FifoFD, ProcfsFD          int
	Hooks                     []SpawnHook
	HookStateFD, HookStateMax int
}

// check refuses hooks without the fifo they wait on or their state.
func (w *SpawnWait) check() error {
	if len(w.Hooks) > 0 && (w.FifoFD == 0 || w.HookStateFD == 0 || w.HookStateMax <= 0) {
		return fmt.Errorf("startContainer hooks need the exec fifo and their state")
	}
	return nil
}

// SpawnHook is a hook as it is run: Argv in full, Env as the hook's whole
// environment, and Timeout seconds to finish (0: no limit).
type SpawnHook struct {
	Path      string
	Argv, Env []string
	Timeout   int
}

// SpawnAndExit starts the container's process as a child of the caller's
// parent (CLONE_PARENT) in the calling thread's pid_for_children
// namespace and exits the process. The child runs only C. The caller must
// be the process's main thread, locked, as the namespace, credentials and
// no_new_privs it passes on are the thread's. It returns only when the
// request cannot be handed to C.
//
// The child must never hold reportFD, which leads to the runtime, so the
// outcome is told in two ways: a failure before the child exists is a
// "spawnerror" frame on reportFD; otherwise reportFD is closed before the
// clone and the process exits with the outcome as its name, which the
// parent reads with ReadExitReport once it has seen reportFD close.
//
// It closes every fd from CloseFrom on first, so the calling thread must
// have a file table of its own (unshare(CLONE_FILES)), made while the Go
// runtime had set up all it shares with other threads, and before any
// seccomp filter that might refuse it.
func SpawnAndExit(r *SpawnRequest, reportFD int) error {
	if reportFD < r.CloseFrom {
		return fmt.Errorf("report fd %d is among the process's own fds", reportFD)
	}
	if err := r.check(); err != nil {
		return err
	}
	s, err := r.cSpawn()
	if err != nil {
		return err
	}
	C.ocirt_spawn_and_exit(s, C.int(reportFD))
	panic("ocirt_spawn_and_exit returned")
}

// FinishAfterStart ends the calling thread, the container's process that
// `start` let go on (fifoFD is the exec fifo, open for writing): it
// installs r.Filter, runs r.Hooks with r.HookState on stdin and executes
// r.Path, in C, as a created process that runs no Go does. So the
// startContainer hooks run as the container's process (its ids and
// capabilities are the thread's already) whichever way it was set up.
// What fails goes into the fifo; it returns only when the request cannot
// be handed to C.
func FinishAfterStart(r *SpawnRequest, fifoFD int) error {
	s, err := r.cSpawn()
	if err != nil {
		return err
	}
	C.ocirt_finish_after_start(s, C.int(fifoFD))
	panic("ocirt_finish_after_start returned")
}

// cSpawn is r for C. Everything goes to C memory, as the C side keeps it
// in a C struct where no Go pointer may be stored. Nothing is freed: the
// calls it is for do not return.
func (r *SpawnRequest) cSpawn() (*C.struct_ocirt_spawn, error) {
	if len(r.Filter) > 0xffff {
		return nil, fmt.Errorf("seccomp filter of %d instructions is too long", len(r.Filter))
	}
	s := (*C.struct_ocirt_spawn)(C.calloc(1, C.sizeof_struct_ocirt_spawn))
	s.path = C.CString(r.Path)
	s.argv = cStrings(r.Argv)
	s.envp = cStrings(r.Env)
	s.seccomp_flags = C.ulong(r.SeccompFlags)
	s.close_from = C.int(r.CloseFrom)
	if r.ControllingTerminal {
		s.ctty = 1
	}
	s.wait_fifo, s.wait_procfs = -1, -1
	if r.FifoFD != 0 {
		s.wait_fifo, s.wait_procfs = C.int(r.FifoFD), C.int(r.ProcfsFD)
	}
	s.hook_state = -1
	if len(r.Hooks) > 0 {
		s.n_hooks = C.int(len(r.Hooks))
		if r.HookStateFD != 0 {
			s.hook_state = C.int(r.HookStateFD)
			s.state_buf, s.state_cap = (*C.char)(C.malloc(C.size_t(r.HookStateMax))), C.ulong(r.HookStateMax)
		} else {
			s.state_buf, s.state_len = (*C.char)(C.CBytes(r.HookState)), C.ulong(len(r.HookState))
			s.state_cap = s.state_len
		}
		hooks := unsafe.Slice((*C.struct_ocirt_hook)(C.calloc(C.size_t(len(r.Hooks)), C.sizeof_struct_ocirt_hook)), len(r.Hooks))
		for i, h := range r.Hooks {
			hooks[i].path, hooks[i].argv, hooks[i].envp, hooks[i].timeout = C.CString(h.Path), cStrings(h.Argv), cStrings(h.Env), -1
			if h.Timeout > 0 {
				hooks[i].timeout = C.int(h.Timeout)
			}
		}
		s.hooks = &hooks[0]
	}
	if len(r.Filter) > 0 {
		size := C.size_t(len(r.Filter)) * C.size_t(unsafe.Sizeof(r.Filter[0]))
		prog := C.malloc(size)
		copy(unsafe.Slice((*unix.SockFilter)(prog), len(r.Filter)), r.Filter)
		s.filter.len = C.ushort(len(r.Filter))
		s.filter.filter = (*C.struct_sock_filter)(prog)
	}
	return s, nil
}

// Steps at which SpawnAndExit can fail, as its "spawnerror" reply names
// them.
const (
	SpawnStepSession = C.OCIRT_STEP_SESSION
	SpawnStepSeccomp = C.OCIRT_STEP_SECCOMP
	SpawnStepExec    = C.OCIRT_STEP_EXEC
	SpawnStepClone   = C.OCIRT_STEP_CLONE
	// SpawnStepHookState: the state for the startContainer hooks could
	// not be read.
	SpawnStepHookState = C.OCIRT_STEP_HOOK_STATE
)

// SpawnError turns a "spawnerror" reply into the error the user sees;
// program is the process's program as the user named it.
func (r *Message) SpawnError(program string) error {
	errno := unix.Errno(r.Errno)
	switch r.Step {
	case SpawnStepSession:
		return fmt.Errorf("start the process's session: %w", errno)
	case SpawnStepSeccomp:
		return fmt.Errorf("seccomp: installing filter: %w", errno)
	case SpawnStepExec:
		return fmt.Errorf("exec %s: %w", program, errno)
	case SpawnStepHookState:
		return fmt.Errorf("read the state for the startContainer hooks: %w", errno)
	}
	return fmt.Errorf("start the container's process: %w", errno)
}

// ReadExitReport reads the outcome of SpawnAndExit from the name of the
// process pid, which must have exited and not yet been reaped (see
// unix.WNOWAIT), so that the pid is still the one that spawned: a
// "pid" or a "spawnerror" reply.
func ReadExitReport(pid int) (*Message, error) {
	name, err := sysfile.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return nil, fmt.Errorf("read the spawn report of process %d: %w", pid, err)
	}
	return ParseExitReport(strings.TrimSuffix(string(name), "\n"))
}

// ParseExitReport reads a spawn report from a process's exit name.
func ParseExitReport(name string) (*Message, error) {
	var rep Message
	if _, err := fmt.Sscanf(name, C.OCIRT_REPORT_STARTED, &rep.Pid); err == nil && rep.Pid > 0 {
		rep.Kind = KindPid
		return &rep, nil
	}
	if _, err := fmt.Sscanf(name, C.OCIRT_REPORT_FAILED, &rep.Step, &rep.Errno); err == nil {
		rep.Kind = KindSpawnError
		return &rep, nil
	}
	return nil, fmt.Errorf("the exec init ended without a spawn report (name %q)", name)
}

// HookStderrMax is how much of a failed hook's stderr its error carries,
// whichever process ran it.
const HookStderrMax = C.OCIRT_HOOK_STDERR

// How a hook run by the spawned process failed (Message.How of a
// KindHookError report).
const (
	HookExited  = C.OCIRT_HOOK_EXITED  // Value: its wait status
	HookTimeout = C.OCIRT_HOOK_TIMEOUT // Value: the timeout in seconds
	HookExec    = C.OCIRT_HOOK_EXEC    // Value: execve's errno
	HookStart   = C.OCIRT_HOOK_START   // Value: errno of a pipe, open or fork
)

// cStrings is a NULL-terminated array of C copies of list, all in C
// memory.
func cStrings(list []string) **C.char {
	ptrSize := C.size_t(unsafe.Sizeof((*C.char)(nil)))
	arr := (**C.char)(C.calloc(C.size_t(len(list)+1), ptrSize))
	out := unsafe.Slice(arr, len(list)+1)
	for i, s := range list {
		out[i] = C.CString(s)
	}
	return arr
}
