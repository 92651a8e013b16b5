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
	conn := &syncConn{f: os.NewFile(uintptr(fd), "sync")}
	var cfg initConfig
	if err := conn.recvValue(&cfg); err != nil {
		os.Exit(1)
	}
	if cfg.LogFD != 0 {
		Log = &Logger{Out: os.NewFile(uintptr(cfg.LogFD), "log"), JSON: cfg.LogJSON, Debug: true}
	}
	// Up to the start fifo, errors go to the parent, which shows them to
	// the user; after it, they go to `start` through the fifo.
	fifo, err := initContainer(&cfg, conn)
	if err != nil {
		if fifo != nil {
			_, _ = fifo.WriteString(err.Error())
		} else {
			_ = conn.send(msgError, err.Error())
		}
		os.Exit(1)
	}
}

// initContainer sets the container up, waits for start and execs the
// process. It returns only on failure, with the start fifo when `start`
// is already waiting for the outcome.
func initContainer(cfg *initConfig, conn *syncConn) (*os.File, error) {
	spec, p := cfg.Spec, cfg.Spec.Process
	who := "container init"
	if cfg.Exec {
		who = "exec process"
	}
	// late: a create whose init joins an existing pid namespace only for
	// the process it starts at the end (see joinPidNamespaceLate).
	late := !cfg.Exec && cfg.ExecPidNSFD != 0
	debugf("%s %s: pid %d in the container's namespaces", cfg.ID, who, os.Getpid())
	if _, err := unix.Setsid(); err != nil {
		return nil, fmt.Errorf("setsid: %w", err)
	}
	// Each fd the parent passed gets exactly one *os.File, whose finalizer
	// would otherwise close a number that may belong to something else.
	rcfg := rootfsConfig(cfg)
	// isInit: the process that sets the container up. A joiner was born
	// in the container's namespaces, where it only becomes the container's
	// or the exec'd process, and reaches its own entries through the
	// container's procfs, which shows its pid namespace.
	isInit := !cfg.Exec && !cfg.Joiner
	var fifoHandle *os.File
	if late || cfg.SetupOnly {
		debugf("%s %s: setting up outside the pid namespace it joins, with %d procfs contexts made there", cfg.ID, who, len(cfg.ProcContextFDs))
		if err := proc.UseProcfs(os.NewFile(uintptr(cfg.ProcfsFD), "/proc")); err != nil {
			return nil, err
		}
	}
	if !cfg.Exec {
		fifoHandle = os.NewFile(uintptr(cfg.FifoFD), "exec.fifo")
		defer fifoHandle.Close()
	}
	if isInit {
		if err := setupFilesystem(cfg, rcfg, conn); err != nil {
			return nil, err
		}
		debugf("%s %s: root filesystem set up", cfg.ID, who)
	} else if !cfg.Joiner {
		if err := proc.UseProcfs(os.NewFile(uintptr(cfg.ProcfsFD), "/proc")); err != nil {
			return nil, err
		}
		if cfg.HostRootFD != 0 {
			// No mount namespace to join: the container's root is a chroot.
			if err := enterHostRoot(cfg.HostRootFD); err != nil {
				return nil, err
			}
		}
		if err := joinPidNamespaceForChildren(cfg.ExecPidNSFD); err != nil {
			return nil, err
		}
	}
	if p.Terminal {
		if err := takeTerminal(cfg, isInit); err != nil {
			return nil, err
		}
		debugf("%s %s: pty set up as the process's terminal", cfg.ID, who)
	}
	if isInit {
		if err := setupNames(spec); err != nil {
			return nil, err
		}
		if err := rootfs.Finish(rcfg); err != nil {
			return nil, err
		}
	}
	if cfg.SetupOnly {
		return nil, handOverAndExit(cfg, conn)
	}
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
	if err := markFDsCloseOnExec(cfg); err != nil {
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
	filter, err := compileSeccomp(spec)
	if err != nil {
		return nil, err
	}
	waitProcfs := -1
	if late {
		if waitProcfs, err = fifoProcfs(cfg.FifoProcfsFD); err != nil {
			return nil, err
		}
		if err := joinPidNamespaceForChildren(cfg.ExecPidNSFD); err != nil {
			return nil, err
		}
	}
	// spawns: the process starts the one that runs the program (see
	// startExecProcess) rather than becoming it.
	spawns := (cfg.Exec && !cfg.Joiner) || late
	if spawns {
		if err := privateFileTable(); err != nil {
			return nil, err
		}
	}
	if filter != nil && seccomp.UsesNotify(spec.Linux.Seccomp) {
		// The agent must have the listener before the process runs, so the
		// filter goes in now and the parent passes its fd on.
		if err := installSeccompWithListener(filter, conn); err != nil {
			return nil, err
		}
		filter = nil
	}

	if !cfg.Exec {
		if err := checkFifoWritable(fifoHandle); err != nil {
			return nil, err
		}
	}
	if err := conn.send(msgReady, ""); err != nil {
		return nil, err
	}
	if _, err := conn.expect(msgAck); err != nil {
		return nil, err
	}
	if !cfg.Exec && !late {
		// Later failures of create go to `start` through the fifo. An exec,
		// or an init that starts the container's process itself, keeps the
		// socket to report on (see startExecProcess); an exec'd joiner,
		// until execve closes it.
		conn.f.Close()
	}

	var fifo *os.File
	if !cfg.Exec && !late {
		debugf("%s %s: set up, waiting for start", cfg.ID, who)
		if fifo, err = waitForStart(fifoHandle); err != nil {
			return nil, err
		}
		debugf("%s %s: started", cfg.ID, who)
	}
	var startHooks []specs.Hook
	if !cfg.Exec && spec.Hooks != nil {
		startHooks = spec.Hooks.StartContainer
	}
	// Without no_new_privs the filter can only go in while we still have
	// CAP_SYS_ADMIN. With it, it goes in just before execve, so that a
	// profile need not allow the runtime's own last system calls; but the
	// startContainer hooks run under the container's filter, as in runc.
	if filter != nil && (!p.NoNewPrivileges || len(startHooks) > 0) {
		if err := proc.NoNewPrivileges(p); err != nil {
			return fifo, err
		}
		if err := installSeccomp(filter); err != nil {
			return fifo, err
		}
		filter = nil
	}
	startHooks = withDefaultEnv(startHooks, env)
	if len(startHooks) > 0 && !late {
		if err := runHooksIn("", "startContainer", startHooks, hookState(cfg, specs.StateCreated)); err != nil {
			return fifo, err
		}
	}
	debugf("%s %s: switching to uid %d and executing %s", cfg.ID, who, id.UID, path)
	// From the rlimits on, the Go runtime must not need another thread
	// (see proc.SwitchIdentity): no garbage collection may start. No
	// record is written from here on.
	debug.SetGCPercent(-1)
	if err := proc.SwitchIdentity(p, id, caps); err != nil {
		return fifo, err
	}
	if err := proc.NoNewPrivileges(p); err != nil {
		return fifo, err
	}
	if spawns {
		if late {
			debugf("%s %s: starting the container's process in the joined pid namespace, to wait for start there", cfg.ID, who)
		}
		return nil, startExecProcess(conn, cfg, path, env, filter, waitProcfs, startHooks)
	}
	if filter != nil {
		if err := installSeccomp(filter); err != nil {
			return fifo, err
		}
	}
	err = unix.Exec(path, p.Args, env)
	return fifo, fmt.Errorf("exec %s: %w", p.Args[0], err)
}

// takeTerminal gives the process its terminal: a new pty, except for
// the joiner that create starts for a SetupOnly init, whose stdio is the
// pty that init made; a joiner leads the session that terminal controls.
func takeTerminal(cfg *initConfig, isInit bool) error {
	if !cfg.Joiner || cfg.Exec {
		if err := setupConsole(cfg, isInit); err != nil {
			return err
		}
	}
	if !cfg.Joiner {
		return nil
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("make the pty the controlling terminal: %w", err)
	}
	return nil
}

// handOverAndExit ends a SetupOnly init: it hands its terminal, if any,
// to create for the container's process, tells create the container is
// set up, and exits once create has started that process in the
// container's namespaces.
func handOverAndExit(cfg *initConfig, conn *syncConn) error {
	if cfg.Spec.Process.Terminal {
		if err := conn.send(msgConsole, ""); err != nil {
			return err
		}
		if err := unix.Sendmsg(int(conn.f.Fd()), []byte{0}, unix.UnixRights(0), nil, 0); err != nil {
			return fmt.Errorf("hand the pty over: %w", err)
		}
	}
	debugf("%s container init: set up, handing over to the process create starts in the joined pid namespace", cfg.ID)
	if err := conn.send(msgReady, ""); err != nil {
		return err
	}
	if _, err := conn.expect(msgAck); err != nil {
		return err
	}
	os.Exit(0)
	return nil
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
// applies to the clone that starts the child. waitProcfs is the procfs
// through which a created container's process reopens the exec fifo, and
// hooks the startContainer hooks it runs once started (with their
// environment). It returns only when the request could not be handed
// over.
func startExecProcess(conn *syncConn, cfg *initConfig, path string, env []string, filter *seccomp.Filter, waitProcfs int, hooks []specs.Hook) error {
	req := &nsenter.SpawnRequest{
		Path: path, Argv: cfg.Spec.Process.Args, Env: env,
		CloseFrom: 3 + cfg.PreserveFDs, ControllingTerminal: cfg.Spec.Process.Terminal,
	}
	if !cfg.Exec {
		req.WaitFifoFD, req.WaitProcfsFD = cfg.FifoFD, waitProcfs
	}
	if len(hooks) > 0 {
		req.Hooks, req.HookStateFD, req.HookStateMax = spawnHooks(hooks), cfg.HookStateFD, hookStateMax(cfg)
	}
	if filter != nil {
		req.Filter, req.SeccompFlags = filter.Instructions(), filter.Flags()
	}
	return nsenter.SpawnAndExit(req, int(conn.f.Fd()))
}

func rootfsConfig(cfg *initConfig) *rootfs.Config {
	rcfg := &rootfs.Config{Spec: cfg.Spec, Rootfs: cfg.Rootfs, Bundle: cfg.Bundle, NoPivot: cfg.NoPivot, CgroupPath: cfg.CgroupPath, CgroupV1: cfg.CgroupV1, Debugf: debugf}
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

// setupFilesystem builds the container's mounts and switches root. Between
// the two, the parent runs the prestart and createRuntime hooks and init
// runs the createContainer hooks, as the spec orders them.
func setupFilesystem(cfg *initConfig, rcfg *rootfs.Config, conn *syncConn) error {
	beforePivot := func() error {
		if err := conn.send(msgHooks, ""); err != nil {
			return err
		}
		if _, err := conn.expect(msgAck); err != nil {
			return err
		}
		if cfg.Spec.Hooks == nil {
			return nil
		}
		hooks := withDefaultEnv(cfg.Spec.Hooks.CreateContainer, proc.Env(cfg.Spec.Process, nil))
		return runHooksIn(existingDir(cfg.Rootfs), "createContainer", hooks, hookState(cfg, specs.StateCreating))
	}
	rcfg.Idmap = func(index int, mnt *os.File) error { return askIdmap(conn, index, mnt) }
	if inUserNamespace(cfg.Spec) && !cfg.Unprivileged {
		rcfg.OpenSource = func(index int) (*os.File, error) { return askBindSource(conn, index) }
	}
	return rootfs.Setup(rcfg, beforePivot)
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

func compileSeccomp(spec *specs.Spec) (*seccomp.Filter, error) {
	if spec.Linux == nil || spec.Linux.Seccomp == nil {
		return nil, nil
	}
	return seccomp.Compile(spec.Linux.Seccomp)
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
func installSeccompWithListener(f *seccomp.Filter, conn *syncConn) error {
	fd, err := f.Install()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := conn.send(msgNotify, ""); err != nil {
		return err
	}
	return unix.Sendmsg(int(conn.f.Fd()), []byte{0}, unix.UnixRights(fd), nil, 0)
}
