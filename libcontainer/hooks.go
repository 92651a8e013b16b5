package libcontainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/nsenter"
)

// runHooks runs hooks of the runtime's namespaces in order with the
// container's state on stdin; the first failure stops the rest and is
// returned in one line, with what the hook wrote to stderr.
func runHooks(kind string, hooks []specs.Hook, state *specs.State) error {
	return runHooksIn(existingDir(state.Bundle), kind, hooks, state)
}

// hookRunner runs hooks of kind in dir with state on stdin, in order, up
// to the first that fails, and words that failure.
type hookRunner func(dir, kind string, hooks []specs.Hook, state *specs.State) error

// runHooksIn is runHooks with the hooks' working directory: runc runs the
// host's hooks in the bundle (hooks find files next to config.json that
// way) and createContainer's in the rootfs; "" is our own directory.
func runHooksIn(dir, kind string, hooks []specs.Hook, state *specs.State) error {
	stdin, err := json.Marshal(state)
	if err != nil {
		return err
	}
	for i, h := range hooks {
		debugf("running %s hook #%d (%s)", kind, i, h.Path)
		if err := runHook(h, stdin, dir); err != nil {
			return hookError(kind, i, h.Path, err)
		}
	}
	return nil
}

// existingDir is dir, or "" when it is not a directory (a client may
// remove the bundle before the poststop hooks run).
func existingDir(dir string) string {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return ""
	}
	return dir
}

// runAllHooks runs every hook even after failures, which it reports through
// Warn: a failed poststop hook must not stop the others nor delete, since
// the runtime-spec has such a failure logged as a warning and the lifecycle
// carried on (conformance program poststop_fail).
func runAllHooks(kind string, hooks []specs.Hook, state *specs.State) {
	stdin, err := json.Marshal(state)
	if err != nil {
		Warn(fmt.Sprintf("%s hooks: %v", kind, err))
		return
	}
	for i, h := range hooks {
		debugf("running %s hook #%d (%s)", kind, i, h.Path)
		if err := runHook(h, stdin, existingDir(state.Bundle)); err != nil {
			Warn(fmt.Sprintf("%s hook #%d (%s): %v", kind, i, h.Path, err))
		}
	}
}

// withDefaultEnv gives the hooks that run in the container and have no env
// of their own the container process's env, as runc runs them with its
// init's environment.
func withDefaultEnv(hooks []specs.Hook, env []string) []specs.Hook {
	out := make([]specs.Hook, len(hooks))
	for i, h := range hooks {
		if h.Env == nil {
			h.Env = env
		}
		out[i] = h
	}
	return out
}

func runHook(h specs.Hook, stdin []byte, dir string) error {
	ctx := context.Background()
	if h.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	cmd.Env = h.Env
	cmd.Dir = dir
	state, err := hookStateFile(stdin)
	if err != nil {
		return err
	}
	defer state.Close()
	cmd.Stdin = state
	stderr := &headBuffer{max: nsenter.HookStderrMax}
	cmd.Stderr = stderr
	// A hook that forks a daemon keeping stderr open must not hang us.
	cmd.WaitDelay = time.Second
	err = nsenter.RunChild(cmd)
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return hookTimeoutError(*h.Timeout)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return hookExitError(exit.Sys().(syscall.WaitStatus), string(stderr.buf))
	}
	return err
}

// hookStateFile is a file in memory holding state, read from its start: a
// hook's stdin. A pipe would need a writer, and a hook that exits
// without reading it all would have that write raise SIGPIPE in the
// runtime, which a foreground run passes on to the container's process.
func hookStateFile(state []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate("hook-state", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("file for the hook's state: %w", err)
	}
	f := os.NewFile(uintptr(fd), "hook-state")
	if _, err := f.Write(state); err != nil {
		f.Close()
		return nil, fmt.Errorf("file for the hook's state: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("file for the hook's state: %w", err)
	}
	return f, nil
}

// headBuffer keeps the first max bytes written to it and drops the rest:
// a hook that floods its stderr cannot make the runtime grow without
// bound, and never blocks on a full pipe.
type headBuffer struct {
	buf []byte
	max int
}

func (b *headBuffer) Write(p []byte) (int, error) {
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// The words for a failed hook are the same whether Go ran it or the C
// process that waits for start in a joined pid namespace did (see
// hookReportError).

func hookError(kind string, index int, path string, err error) error {
	return fmt.Errorf("%s hook #%d (%s): %w", kind, index, path, err)
}

func hookTimeoutError(seconds int) error {
	return fmt.Errorf("timed out after %ds", seconds)
}

// hookExitError: the hook ran and ended badly, with what it wrote to
// stderr, its whitespace collapsed. An error of the container's init
// reaches `start` as JSON, which carries only valid UTF-8: the stderr is
// made valid as encoding/json makes it, so that a hook's error reads the
// same whichever process ran it.
func hookExitError(ws syscall.WaitStatus, stderr string) error {
	how := "wait status " + strconv.Itoa(int(ws))
	switch {
	case ws.Exited():
		how = "exit status " + strconv.Itoa(ws.ExitStatus())
	case ws.Signaled():
		how = "signal: " + ws.Signal().String()
	}
	if ws.CoreDump() {
		how += " (core dumped)"
	}
	if msg := strings.Join(strings.Fields(validUTF8(stderr)), " "); msg != "" {
		how += ": " + msg
	}
	return errors.New(how)
}

// validUTF8 replaces each byte of s that is not part of valid UTF-8 with
// U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// hookReportError is the error for the hook, one of hooks, that C
// reported failed (a KindHookError report): the process waiting for start
// in a joined pid namespace, or an init that ran the createContainer
// hooks on request.
func hookReportError(kind string, hooks []specs.Hook, rep *nsenter.Message) error {
	if rep.Index < 0 || rep.Index >= len(hooks) {
		return fmt.Errorf("%s hook #%d failed, but the config has no such hook", kind, rep.Index)
	}
	path := hooks[rep.Index].Path
	var err error
	switch rep.How {
	case nsenter.HookExited:
		err = hookExitError(syscall.WaitStatus(rep.Value), string(rep.Stderr))
	case nsenter.HookTimeout:
		err = hookTimeoutError(rep.Value)
	case nsenter.HookExec:
		// As os/exec words an execve that failed.
		err = &os.PathError{Op: "fork/exec", Path: path, Err: syscall.Errno(rep.Value)}
	default:
		err = fmt.Errorf("start it: %w", syscall.Errno(rep.Value))
	}
	return hookError(kind, rep.Index, path, err)
}

// startContainerHooks are the config's startContainer hooks as C runs
// them in the container's process (see spawnHooks), env that process's
// environment, given to those without their own; nil when there are none.
func startContainerHooks(spec *specs.Spec, env []string) []nsenter.SpawnHook {
	if spec.Hooks == nil || len(spec.Hooks.StartContainer) == 0 {
		return nil
	}
	return spawnHooks(withDefaultEnv(spec.Hooks.StartContainer, env))
}

// startHooks are the startContainer hooks of a created process that runs
// them once started (startContainerHooks), with the state they read: the
// container created, and the init's pid.
func startHooks(cfg *initConfig, env []string) (nsenter.StartHooks, error) {
	hooks := startContainerHooks(cfg.Spec, env)
	if hooks == nil {
		return nsenter.StartHooks{}, nil
	}
	state, err := json.Marshal(hookState(cfg, specs.StateCreated))
	if err != nil {
		return nsenter.StartHooks{}, fmt.Errorf("startContainer hooks' state: %w", err)
	}
	return nsenter.StartHooks{Hooks: hooks, State: state}, nil
}

// joinedStartWait is what the process started in a joined pid namespace
// does before its program, whichever init starts it: it waits for start
// on the exec fifo through procfs, a procfs of that namespace, and runs
// the startContainer hooks (startContainerHooks) with the state create
// sends it once it knows the process's pid (see creation.sendHookState).
func joinedStartWait(cfg *initConfig, procfs int, env []string) nsenter.SpawnWait {
	wait := nsenter.SpawnWait{FifoFD: cfg.FifoFD, ProcfsFD: procfs, Hooks: startContainerHooks(cfg.Spec, env)}
	if wait.Hooks != nil {
		wait.HookStateFD, wait.HookStateMax = cfg.HookStateFD, hookStateMax(cfg)
	}
	return wait
}

// spawnHooks turns hooks into the plan the process that waits for start
// runs them from: as runHook runs them, with Args[0] the path when there
// are no args, and the environment as os/exec passes it on.
func spawnHooks(hooks []specs.Hook) []nsenter.SpawnHook {
	var plan []nsenter.SpawnHook
	for _, h := range hooks {
		s := nsenter.SpawnHook{Path: h.Path, Argv: h.Args, Env: hookEnv(h.Env)}
		if len(s.Argv) == 0 {
			s.Argv = []string{h.Path}
		}
		if h.Timeout != nil {
			s.Timeout = *h.Timeout
		}
		plan = append(plan, s)
	}
	return plan
}

// hookEnv is the environment os/exec gives a hook whose config lists env
// (the last entry of each variable, where it stands): the C runner passes
// on exactly what the Go runner would. No env is none, where os/exec
// would give the runtime's own.
func hookEnv(env []string) []string {
	if len(env) == 0 {
		return nil
	}
	return (&exec.Cmd{Env: env}).Environ()
}
