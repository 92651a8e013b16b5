package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/libcontainer/internal/openat2"
	"github.com/oci-rt/oci-rt/libcontainer/proc"
	"github.com/oci-rt/oci-rt/libcontainer/rootfs"
	"github.com/oci-rt/oci-rt/nsenter"
	"github.com/oci-rt/oci-rt/seccomp"
)

// The exec init's last report is the name its main thread exits with (see
// nsenter.SpawnAndExit): locked here, in a package init, main and with it
// Init run on the main thread.
func init() {
	if IsInit() {
		runtime.LockOSThread()
	}
}

// IsInit tells main that this process is a container init or exec process
// whose namespaces the nsenter constructor has already set up.
func IsInit() bool {
	return os.Getenv(nsenter.SyncFDEnv) != ""
}

// Init runs the container side of create and exec. It never returns: it
// ends in execve (or, for an exec that starts its process as a sibling,
// in nsenter.SpawnAndExit), or it reports why it could not and exits.
func Init() {
	// Capabilities, seccomp and the fifo wait are per thread: all of init
	// runs on the thread that will execve.
	runtime.LockOSThread()
	fd, err := strconv.Atoi(os.Getenv(nsenter.SyncFDEnv))
	if err != nil {
		os.Exit(1)
	}
	os.Clearenv()
	conn := nsenter.NewConn(os.NewFile(uintptr(fd), "sync"))
	var cfg initConfig
	if err := conn.RecvConfig(&cfg); err != nil {
		_ = conn.Send(nsenter.KindError, err.Error())
		os.Exit(1)
	}
	if cfg.LogFD != 0 {
		Log = &Logger{Out: os.NewFile(uintptr(cfg.LogFD), "log"), JSON: cfg.LogJSON, Debug: true}
	}
	var run initRun
	cfg.role, run = initRole(&cfg)
	cfg.debugf("pid %d, namespaces %s", os.Getpid(), namespacesSetUp(&cfg))
	// Up to the start fifo, errors go to the parent, which shows them to
	// the user; after it, they go to `start` through the fifo.
	fifo, err := runRole(&cfg, conn, run)
	if err != nil {
		cfg.debugf("failed: %v", err)
		out := conn
		if fifo != nil {
			out = nsenter.NewConn(fifo)
		}
		_ = out.Send(nsenter.KindError, err.Error())
		os.Exit(1)
	}
}

// runRole makes the init the leader of a session of its own and leaves
// what it executes, hooks included, none of the runtime's fds, which every
// role needs, and runs its role.
func runRole(cfg *initConfig, conn *nsenter.Conn, run initRun) (*os.File, error) {
	if _, err := unix.Setsid(); err != nil {
		return nil, fmt.Errorf("setsid: %w", err)
	}
	if err := markFDsCloseOnExec(cfg); err != nil {
		return nil, err
	}
	return run(cfg, conn)
}

// debugf records a step of this init for --debug, named by its
// container and role.
func (cfg *initConfig) debugf(format string, args ...any) {
	if Log.Debug {
		debugf("%s %s: "+format, append([]any{cfg.ID, cfg.role}, args...)...)
	}
}

// An init role runs one kind of init to its end. It returns only on
// failure, with the start fifo when `start` is already waiting for the
// outcome.
type initRun func(cfg *initConfig, conn *nsenter.Conn) (*os.File, error)

// initRole picks what this init is, by what the parent asked of it, and
// names it for the debug log.
func initRole(cfg *initConfig) (string, initRun) {
	switch {
	case cfg.Joiner:
		return "joiner", joinerInit
	case cfg.Exec:
		return "exec init", execInit
	case cfg.SetupOnly:
		return "setup-only init", setupOnlyInit
	case cfg.ExecPidNSFD != 0:
		return "late-joining init", lateCreateInit
	}
	return "container init", createInit
}

// createInit is the init of a container with a pid namespace of its own
// (or the host's): it sets the container up, waits for start and becomes
// the container's process.
func createInit(cfg *initConfig, conn *nsenter.Conn) (*os.File, error) {
	fifoHandle := os.NewFile(uintptr(cfg.FifoFD), "exec.fifo")
	defer fifoHandle.Close()
	if err := setupContainer(cfg, conn); err != nil {
		return nil, err
	}
	ps, err := prepareProcess(cfg)
	if err != nil {
		return nil, err
	}
	if err := reportReady(cfg, conn, ps, fifoHandle); err != nil {
		return nil, err
	}
	return waitAndExec(cfg, conn, ps, fifoHandle)
}

// lateCreateInit is the init of a container that joins an existing pid
// namespace (see joinPidNamespaceLate): it sets the container up outside
// that namespace, becomes the container's process and starts the process
// create records inside it, which waits there for start.
func lateCreateInit(cfg *initConfig, conn *nsenter.Conn) (*os.File, error) {
	fifoHandle := os.NewFile(uintptr(cfg.FifoFD), "exec.fifo")
	defer fifoHandle.Close()
	if err := setUpOutsideJoinedPidNS(cfg); err != nil {
		return nil, err
	}
	if err := setupContainer(cfg, conn); err != nil {
		return nil, err
	}
	ps, err := prepareProcess(cfg)
	if err != nil {
		return nil, err
	}
	waitProcfs, err := fifoProcfs(cfg.FifoProcfsFD)
	if err != nil {
		return nil, err
	}
	if err := joinPidNamespaceForChildren(cfg.ExecPidNSFD); err != nil {
		return nil, err
	}
	if err := privateFileTable(); err != nil {
		return nil, err
	}
	if err := reportReady(cfg, conn, ps, fifoHandle); err != nil {
		return nil, err
	}
	cfg.debugf("starting the container's process in the joined pid namespace, to wait for start there")
	return nil, spawnProcess(cfg, conn, ps, joinedStartWait(cfg, waitProcfs, ps.env))
}

// setupOnlyInit is the init of a container with a user namespace of its
// own that joins an existing pid namespace (see joinsFromNewUserNS): it
// sets the container up outside that namespace and hands over to the
// process create starts in it (a joiner).
func setupOnlyInit(cfg *initConfig, conn *nsenter.Conn) (*os.File, error) {
	if err := setUpOutsideJoinedPidNS(cfg); err != nil {
		return nil, err
	}
	if err := setupContainer(cfg, conn); err != nil {
		return nil, err
	}
	return nil, handOverAndExit(cfg, conn)
}

// execInit is the Go path of exec: it joins the container's root and,
// for its child, the pid namespace, becomes the exec'd process and
// starts it there.
func execInit(cfg *initConfig, conn *nsenter.Conn) (*os.File, error) {
	cfg.debugf("outside the container's pid namespace: using the runtime's procfs")
	if err := useRuntimeProcfs(cfg); err != nil {
		return nil, err
	}
	if cfg.HostRootFD != 0 {
		// No mount namespace to join: the container's root is a chroot.
		if err := enterHostRoot(cfg.HostRootFD); err != nil {
			return nil, err
		}
		cfg.debugf("chrooted into the container's root")
	}
	if err := joinPidNamespaceForChildren(cfg.ExecPidNSFD); err != nil {
		return nil, err
	}
	if err := takeNewTerminal(cfg, false); err != nil {
		return nil, err
	}
	ps, err := prepareProcess(cfg)
	if err != nil {
		return nil, err
	}
	if err := privateFileTable(); err != nil {
		return nil, err
	}
	if err := reportReady(cfg, conn, ps, nil); err != nil {
		return nil, err
	}
	return nil, spawnProcess(cfg, conn, ps, nsenter.SpawnWait{})
}

// joinerInit was born in the container's namespaces, its pid namespace
// included (see joinerBootstrap), where it only becomes the container's
// process (for create, once started) or the exec'd one. Its stdio is
// already the container's pty for create; for exec it makes one. Either
// way it leads the session that terminal controls. It reaches its own
// entries through the container's procfs, which shows its pid namespace.
func joinerInit(cfg *initConfig, conn *nsenter.Conn) (*os.File, error) {
	var fifoHandle *os.File
	if !cfg.Exec {
		fifoHandle = os.NewFile(uintptr(cfg.FifoFD), "exec.fifo")
		defer fifoHandle.Close()
	}
	if cfg.Spec.Process.Terminal {
		if cfg.Exec {
			if err := takeNewTerminal(cfg, false); err != nil {
				return nil, err
			}
		}
		if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
			return nil, fmt.Errorf("make the pty the controlling terminal: %w", err)
		}
	}
	ps, err := prepareProcess(cfg)
	if err != nil {
		return nil, err
	}
	if err := reportReady(cfg, conn, ps, fifoHandle); err != nil {
		return nil, err
	}
	if !cfg.Exec {
		return waitAndExec(cfg, conn, ps, fifoHandle)
	}
	// The socket stays open until execve closes it: that is how the
	// parent learns the process runs its program.
	return nil, execProcess(cfg, ps, nsenter.StartHooks{}, nil)
}

// setupContainer builds the container, for the roles that create it: its
// root filesystem (with the create hooks between mounts and the switch of
// root), its terminal, its names, and what the filesystem gets last.
func setupContainer(cfg *initConfig, conn *nsenter.Conn) error {
	// Each fd the parent passed gets exactly one *os.File, whose finalizer
	// would otherwise close a number that may belong to something else.
	rcfg := rootfsConfig(cfg)
	if err := setupFilesystem(cfg, rcfg, conn); err != nil {
		return err
	}
	cfg.debugf("root filesystem set up, root switched (%s)", rootSwitch(rcfg))
	if err := takeNewTerminal(cfg, true); err != nil {
		return err
	}
	if err := setupNames(cfg.Spec); err != nil {
		return err
	}
	if err := rootfs.Finish(rcfg); err != nil {
		return err
	}
	cfg.debugf("hostname, sysctls, read-only and masked paths set")
	return nil
}

// takeNewTerminal makes a pty the process's terminal when it asks for
// one; isInit: this is the container's init (see setupConsole).
func takeNewTerminal(cfg *initConfig, isInit bool) error {
	if !cfg.Spec.Process.Terminal {
		return nil
	}
	if err := setupConsole(cfg, isInit); err != nil {
		return err
	}
	cfg.debugf("pty set up as the process's terminal")
	return nil
}

// useRuntimeProcfs makes the runtime's procfs the one through which this
// process, outside the container's pid namespace, finds its own entries.
func useRuntimeProcfs(cfg *initConfig) error {
	return proc.UseProcfs(os.NewFile(uintptr(cfg.ProcfsFD), "/proc"))
}

// setUpOutsideJoinedPidNS starts the setup of a container that joins a
// pid namespace, outside that namespace.
func setUpOutsideJoinedPidNS(cfg *initConfig) error {
	cfg.debugf("setting up outside the pid namespace it joins, with %d procfs contexts made there", len(cfg.ProcContextFDs))
	return useRuntimeProcfs(cfg)
}

// processSetup is the process as prepareProcess resolved it.
type processSetup struct {
	id   *proc.Identity
	caps *proc.CapSets
	env  []string
	path string
	// filter is the seccomp filter still to install, nil once installed.
	filter *seccomp.Filter
}

// prepareProcess gives this thread everything of the process but its
// identity and seccomp filter: personality, limits and scheduling,
// memory policy, stdio owner and cwd; it resolves the user, the
// executable and the filter.
func prepareProcess(cfg *initConfig) (*processSetup, error) {
	spec, p := cfg.Spec, cfg.Spec.Process
	if err := proc.SetPersonality(spec.Linux.Personality); err != nil {
		return nil, err
	}
	if err := proc.PrepareProcess(p, cfg.NoNewKeyring); err != nil {
		return nil, err
	}
	if err := proc.SetMemoryPolicy(spec.Linux.MemoryPolicy); err != nil {
		return nil, err
	}
	id, err := proc.ResolveUser(p.User)
	if err != nil {
		return nil, err
	}
	if err := handStdioToUser(id.UID); err != nil {
		return nil, err
	}
	caps, err := proc.ParseCapabilities(p.Capabilities)
	if err != nil {
		return nil, err
	}
	if err := proc.CheckHeld(caps); err != nil {
		return nil, err
	}
	// A leaked fd must not lead the cwd or the executable out of the
	// container (CVE-2024-21626): Chdir verifies where it landed, and the
	// executable may not be reached through a magic link.
	if err := proc.Chdir(p.Cwd); err != nil {
		return nil, err
	}
	env := proc.Env(p, id)
	path, err := proc.LookPath(p.Args[0], env)
	if err != nil {
		return nil, err
	}
	if err := checkNoMagicLinks(path); err != nil {
		return nil, err
	}
	filter, err := decodeFilter(cfg.SeccompFilter)
	if err != nil {
		return nil, err
	}
	cfg.debugf("process prepared (personality, rlimits, scheduler, memory policy, cwd %s, user %d:%d, executable %s)", p.Cwd, id.UID, id.GID, path)
	return &processSetup{id: id, caps: caps, env: env, path: path, filter: filter}, nil
}

// reportReady tells the parent that the process is set up and waits for
// its go-ahead. A seccomp filter with a listener goes in first: the agent
// must have the listener, which the parent passes on, before the process
// runs. fifoHandle, when not nil, is the exec fifo the process will wait
// on, checked while the parent still listens.
func reportReady(cfg *initConfig, conn *nsenter.Conn, ps *processSetup, fifoHandle *os.File) error {
	if ps.filter != nil && ps.filter.Notifies() {
		if err := installSeccompWithListener(ps.filter, conn); err != nil {
			return err
		}
		ps.filter = nil
		cfg.debugf("seccomp filter installed, its listener sent for the agent")
	}
	if fifoHandle != nil {
		if err := checkFifoWritable(fifoHandle); err != nil {
			return err
		}
	}
	if err := conn.Send(nsenter.KindReady, ""); err != nil {
		return err
	}
	if _, err := conn.Expect(nsenter.KindAck); err != nil {
		return err
	}
	return nil
}

// waitAndExec ends a create: later failures go to `start` through the
// fifo, whose opening releases the process; it then runs the
// startContainer hooks and executes the program.
func waitAndExec(cfg *initConfig, conn *nsenter.Conn, ps *processSetup, fifoHandle *os.File) (*os.File, error) {
	conn.Close()
	cfg.debugf("set up, waiting for start")
	fifo, err := waitForStart(fifoHandle)
	if err != nil {
		return nil, err
	}
	cfg.debugf("started")
	hooks, err := startHooks(cfg, ps.env)
	if err != nil {
		return fifo, err
	}
	return fifo, execProcess(cfg, ps, hooks, fifo)
}

// execProcess makes this thread the process and executes its program,
// after the startContainer hooks, if any, which C runs as the process
// (see nsenter.FinishAfterStart), as runc runs them and as they run in a
// process that runs no Go.
func execProcess(cfg *initConfig, ps *processSetup, hooks nsenter.StartHooks, fifo *os.File) error {
	if err := installFilterEarly(cfg, ps, len(hooks.Hooks) > 0); err != nil {
		return err
	}
	var withHooks *nsenter.SpawnRequest
	if len(hooks.Hooks) > 0 {
		withHooks = &nsenter.SpawnRequest{Path: ps.path, Argv: cfg.Spec.Process.Args, Env: ps.env,
			SpawnWait: nsenter.SpawnWait{Hooks: hooks.Hooks}, HookState: hooks.State}
		cfg.debugf("running %d startContainer hooks as the process", len(hooks.Hooks))
	}
	if err := switchIdentity(cfg, ps); err != nil {
		return err
	}
	if withHooks != nil {
		return nsenter.FinishAfterStart(withHooks, int(fifo.Fd()))
	}
	if ps.filter != nil {
		if err := installSeccomp(ps.filter); err != nil {
			return err
		}
	}
	p := cfg.Spec.Process
	err := unix.Exec(ps.path, p.Args, ps.env)
	return fmt.Errorf("exec %s: %w", p.Args[0], err)
}

// spawnProcess makes this thread the process and starts, in the
// container's pid namespace, the process that runs the program (see
// startExecProcess); wait is what that process does before its program.
func spawnProcess(cfg *initConfig, conn *nsenter.Conn, ps *processSetup, wait nsenter.SpawnWait) error {
	if err := installFilterEarly(cfg, ps, len(wait.Hooks) > 0); err != nil {
		return err
	}
	if err := switchIdentity(cfg, ps); err != nil {
		return err
	}
	return startExecProcess(conn, cfg, ps.path, ps.env, ps.filter, wait)
}

// installFilterEarly installs the seccomp filter now when it cannot wait
// for execve. Without no_new_privs the filter can only go in while we
// still have CAP_SYS_ADMIN. With it, it goes in just before execve, so
// that a profile need not allow the runtime's own last system calls; but
// the startContainer hooks (withHooks) run under the container's filter,
// as in runc.
func installFilterEarly(cfg *initConfig, ps *processSetup, withHooks bool) error {
	p := cfg.Spec.Process
	if ps.filter == nil || (p.NoNewPrivileges && !withHooks) {
		return nil
	}
	if err := proc.NoNewPrivileges(p); err != nil {
		return err
	}
	if err := installSeccomp(ps.filter); err != nil {
		return err
	}
	ps.filter = nil
	cfg.debugf("seccomp filter installed")
	return nil
}

// switchIdentity switches this thread to the process's identity: ids,
// groups, capabilities, no_new_privs.
func switchIdentity(cfg *initConfig, ps *processSetup) error {
	last := ""
	if ps.filter != nil {
		last = ", the seccomp filter last"
	}
	cfg.debugf("switching to uid %d and executing %s%s", ps.id.UID, ps.path, last)
	// From the rlimits on, the Go runtime must not need another thread
	// (see proc.SwitchIdentity): no garbage collection may start. No
	// record is written from here on.
	debug.SetGCPercent(-1)
	p := cfg.Spec.Process
	if err := proc.SwitchIdentity(p, ps.id, ps.caps); err != nil {
		return err
	}
	return proc.NoNewPrivileges(p)
}

// handOverAndExit ends a SetupOnly init: it hands its terminal, if any,
// to create for the container's process, tells create the container is
// set up, and exits once create has started that process in the
// container's namespaces.
func handOverAndExit(cfg *initConfig, conn *nsenter.Conn) error {
	if cfg.Spec.Process.Terminal {
		if err := conn.SendFile(nsenter.KindConsole, "", os.Stdin); err != nil {
			return fmt.Errorf("hand the pty over: %w", err)
		}
	}
	cfg.debugf("set up, handing over to the process create starts in the joined pid namespace")
	if err := conn.Send(nsenter.KindReady, ""); err != nil {
		return err
	}
	if _, err := conn.Expect(nsenter.KindAck); err != nil {
		return err
	}
	os.Exit(0)
	return nil
}

// namespacesSetUp lists the container's namespaces as the stage set them
// up for this init, for the debug log: an exec joins them all.
func namespacesSetUp(cfg *initConfig) string {
	if !Log.Debug {
		return ""
	}
	var created, joined []string
	for _, ns := range cfg.Spec.Linux.Namespaces {
		if cfg.Exec || ns.Path != "" {
			joined = append(joined, string(ns.Type))
		} else {
			created = append(created, string(ns.Type))
		}
	}
	return fmt.Sprintf("created [%s], joined [%s]", strings.Join(created, " "), strings.Join(joined, " "))
}

// joinPidNamespaceForChildren makes the container's pid namespace the one
// this thread's children are born in, while this process stays outside
// it: nothing in the container can see it, ptrace it or open its /proc
// files while it sets up with the runtime's fds and privileges. Only the
// thread that will start the process joins; the Go runtime starts its
// threads from another one (this one is locked), which a thread whose
// children go to another pid namespace could not do. fd 0: no pid
// namespace to join (the container shares ours).
func joinPidNamespaceForChildren(fd int) error {
	if fd == 0 {
		return nil
	}
	err := unix.Setns(fd, unix.CLONE_NEWPID)
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("join the container's pid namespace: %w", err)
	}
	return nil
}

// privateFileTable gives this thread a file table of its own, in which
// nsenter.SpawnAndExit closes the runtime's fds before the process is
// born: the other threads of the Go runtime keep using theirs. It comes
// before any seccomp filter, which might refuse unshare. From here on no
// garbage collection may run: a finalizer on another thread closing a
// file opened on this one would close that number in the other table.
func privateFileTable() error {
	debug.SetGCPercent(-1)
	if err := unix.Unshare(unix.CLONE_FILES); err != nil {
		return fmt.Errorf("unshare the file table: %w", err)
	}
	return nil
}

// startExecProcess starts the exec'd process, or a created container's
// process that waits for start, as the last step of a setup that has
// already made this thread the container's process; nsenter tells the
// parent its pid and exits. filter is the seccomp filter still to
// install, if any: the child installs it, so that the filter never
// applies to the clone that starts the child. wait is what a created
// container's process does before its program (joinedStartWait), nothing
// for an exec'd one. It returns only when the request could not be
// handed over.
func startExecProcess(conn *nsenter.Conn, cfg *initConfig, path string, env []string, filter *seccomp.Filter, wait nsenter.SpawnWait) error {
	req := &nsenter.SpawnRequest{
		Path: path, Argv: cfg.Spec.Process.Args, Env: env,
		CloseFrom: 3 + cfg.PreserveFDs, ControllingTerminal: cfg.Spec.Process.Terminal,
		SpawnWait: wait,
	}
	if filter != nil {
		req.Filter, req.SeccompFlags = filter.Instructions(), filter.Flags()
	}
	return nsenter.SpawnAndExit(req, int(conn.File().Fd()))
}

func rootfsConfig(cfg *initConfig) *rootfs.Config {
	rcfg := rootfsConfigWithoutFiles(cfg)
	if cfg.HostRootFD != 0 && !cfg.Exec {
		rcfg.HostRoot = os.NewFile(uintptr(cfg.HostRootFD), "rootfs")
	}
	if cfg.RootfsFD != 0 {
		rcfg.RootHandle = os.NewFile(uintptr(cfg.RootfsFD), cfg.Rootfs)
	}
	for _, fd := range cfg.ProcContextFDs {
		rcfg.ProcContexts = append(rcfg.ProcContexts, os.NewFile(uintptr(fd), "fscontext proc"))
	}
	rcfg.ProcContextsCreated = cfg.SetupOnly
	return rcfg
}

// rootfsConfigWithoutFiles is the rootfs setup cfg asks for, the files it
// is to work on left to the caller (rootfsConfig takes the init's fds).
func rootfsConfigWithoutFiles(cfg *initConfig) *rootfs.Config {
	return &rootfs.Config{Spec: cfg.Spec, Rootfs: cfg.Rootfs, Bundle: cfg.Bundle, NoPivot: cfg.NoPivot, CgroupPath: cfg.CgroupPath, CgroupV1: cfg.CgroupV1, Debugf: debugf}
}

// setupFilesystem builds the container's mounts and switches root. Between
// the two, the parent runs the prestart and createRuntime hooks and init
// runs the createContainer hooks, as the spec orders them.
func setupFilesystem(cfg *initConfig, rcfg *rootfs.Config, conn *nsenter.Conn) error {
	beforePivot := func() error {
		cfg.debugf("mounts done, the runtime runs the prestart and createRuntime hooks")
		if err := conn.Send(nsenter.KindHooks, ""); err != nil {
			return err
		}
		if _, err := conn.Expect(nsenter.KindAck); err != nil {
			return err
		}
		return runCreateContainerHooks(cfg, runHooksIn, cfg.debugf)
	}
	rcfg.Idmap = func(index int, mnt *os.File) error { return askIdmap(conn, index, mnt) }
	if inUserNamespace(cfg.Spec) && !cfg.Unprivileged {
		rcfg.OpenSource = func(index int) (*os.File, error) { return askBindSource(conn, index) }
	}
	return rootfs.Setup(rcfg, beforePivot)
}

// runCreateContainerHooks runs the createContainer hooks from the
// container's namespaces before the switch of root, where the Go init and
// the runtime's setup thread both run them: in the rootfs, with the
// process's environment unless a hook has its own. run runs them (see
// runHooksIn); logf records it.
func runCreateContainerHooks(cfg *initConfig, run hookRunner, logf func(string, ...any)) error {
	if cfg.Spec.Hooks == nil || len(cfg.Spec.Hooks.CreateContainer) == 0 {
		return nil
	}
	hooks := withDefaultEnv(cfg.Spec.Hooks.CreateContainer, proc.Env(cfg.Spec.Process, nil))
	if err := run(existingDir(cfg.Rootfs), "createContainer", hooks, hookState(cfg, specs.StateCreating)); err != nil {
		return err
	}
	logf("%d createContainer hooks run", len(hooks))
	return nil
}

// hookStateMax bounds the state the startContainer hooks of a process
// started in a joined pid namespace get from create (see
// creation.sendHookState): this state with the longest pid.
func hookStateMax(cfg *initConfig) int {
	st := hookState(cfg, specs.StateCreated)
	st.Pid = math.MaxInt32
	data, _ := json.Marshal(st)
	return len(data)
}

func hookState(cfg *initConfig, status specs.ContainerState) *specs.State {
	st := *cfg.HookState
	st.Status = status
	return &st
}

func setupNames(spec *specs.Spec) error {
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return fmt.Errorf("set hostname %q: %w", spec.Hostname, err)
		}
	}
	if spec.Domainname != "" {
		if err := unix.Setdomainname([]byte(spec.Domainname)); err != nil {
			return fmt.Errorf("set domainname %q: %w", spec.Domainname, err)
		}
	}
	return nil
}

// markFDsCloseOnExec leaves only stdio and the preserved fds to the
// process: everything of the runtime's own goes at execve.
func markFDsCloseOnExec(cfg *initConfig) error {
	if err := unix.CloseRange(uint(3+cfg.PreserveFDs), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("mark runtime fds close-on-exec: %w", err)
	}
	return nil
}

// checkFifoWritable finds out now, while the parent still listens, whether
// waitForStart will be able to open the fifo: with no reader yet, a
// permitted non-blocking open fails with ENXIO, a forbidden one earlier.
func checkFifoWritable(handle *os.File) error {
	f, err := proc.Reopen(handle, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC)
	if err == nil {
		f.Close()
		return nil
	}
	if errors.Is(err, unix.ENXIO) {
		return nil
	}
	return fmt.Errorf("open exec fifo: %w", err)
}

// waitForStart blocks until `start` opens the exec fifo for reading, and
// returns the fifo so that a failure from here on reaches `start`.
func waitForStart(handle *os.File) (*os.File, error) {
	fifo, err := proc.Reopen(handle, unix.O_WRONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("open exec fifo: %w", err)
	}
	return fifo, nil
}

func decodeFilter(data []byte) (*seccomp.Filter, error) {
	if len(data) == 0 {
		return nil, nil
	}
	return seccomp.UnmarshalFilter(data)
}

func installSeccomp(f *seccomp.Filter) error {
	fd, err := f.Install()
	if err != nil {
		return err
	}
	if fd >= 0 {
		unix.Close(fd)
	}
	return nil
}

// checkNoMagicLinks refuses an executable path that passes through a magic
// link such as /proc/self/fd/N, the way out of the root through a leaked fd.
func checkNoMagicLinks(path string) error {
	fd, err := openat2.Open(unix.AT_FDCWD, path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return fmt.Errorf("exec %s: %w", path, err)
	}
	return unix.Close(fd)
}

// installSeccompWithListener installs the filter and hands its listener fd
// to the parent, which passes it to the agent at listenerPath.
func installSeccompWithListener(f *seccomp.Filter, conn *nsenter.Conn) error {
	fd, err := f.Install()
	if err != nil {
		return err
	}
	listener := os.NewFile(uintptr(fd), "seccomp listener")
	defer listener.Close()
	return conn.SendFile(nsenter.KindNotify, "", listener)
}
