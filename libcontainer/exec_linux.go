package libcontainer

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/cgroups/fs2"
	"github.com/oci-rt/oci-rt/internal/sysfile"
	"github.com/oci-rt/oci-rt/libcontainer/configs"
	"github.com/oci-rt/oci-rt/nsenter"
)

// ExecOptions describe a process to start in a running container.
type ExecOptions struct {
	// Process is the process to run; the caller builds it from --process or
	// from the container's recorded process and the command-line flags.
	Process       *specs.Process
	ConsoleSocket string
	// ConsoleConn, when set, is a socket the caller holds itself and reads
	// the pty master from (foreground exec with -t and no console socket).
	ConsoleConn *os.File
	PreserveFDs int
	Stdio       [3]*os.File
	// SubCgroup is a cgroup below the container's to run the process in
	// (runc's --cgroup), relative to the container's cgroup.
	SubCgroup    string
	IgnorePaused bool
	PidFile      string
	// BeforeRelease, when set, is called once the process is set up, just
	// before it may go on to execve (a foreground caller completes its
	// signal forwarding and takes over the pty there); an error kills the
	// process and fails the exec.
	BeforeRelease func() error
}

// notRunningError is why an exec fails when the container's init is gone.
type notRunningError struct{ id string }

func (e *notRunningError) Error() string {
	return "cannot exec in a stopped container: container " + e.id + " is not running"
}

func (e *notRunningError) Is(target error) bool { return target == ErrNotRunning }

// Exec starts a process inside a running container and returns its host
// pid once it has reached execve (or failed to). The process is a child of
// the caller: the exec init starts it with CLONE_PARENT.
func (c *Container) Exec(o *ExecOptions) (int, error) {
	pid, err := c.exec(o)
	if err != nil && (!c.initAlive() || initEnding(c.State.InitPid)) {
		// The init died before or during the setup: whichever step noticed
		// first (joining its namespaces, the sync socket, the fork into a
		// dying pid namespace), that is the cause to report.
		return 0, &notRunningError{id: c.State.ID}
	}
	return pid, err
}

func (c *Container) exec(o *ExecOptions) (int, error) {
	op := OpExec
	if o.IgnorePaused {
		op = OpExecIgnorePaused
	}
	// The init is pinned by a pidfd and its namespaces opened through it:
	// once its identity still holds after the opens, the files are the
	// container's even if the pid is reused a moment later. The look at
	// the init that opens the pidfd also tells the container's status.
	pidfd, errInit := c.openInit()
	if errInit == nil {
		defer unix.Close(pidfd)
	}
	if err := c.allowGiven(op, errInit == nil); err != nil {
		return 0, err
	}
	spec, err := c.ProcessSpec()
	if err != nil {
		return 0, err
	}
	spec.Process = o.Process
	if err := configs.Validate(spec); err != nil {
		return 0, err
	}
	if o.Process.Terminal && o.ConsoleSocket == "" && o.ConsoleConn == nil {
		return 0, errors.New("cannot allocate a terminal without --console-socket")
	}
	if !o.Process.Terminal && o.ConsoleSocket != "" {
		return 0, errors.New("--console-socket given but no terminal was asked for (use -t)")
	}
	cg, err := c.execCgroup(o.SubCgroup)
	if err != nil {
		return 0, err
	}

	if errInit != nil {
		return 0, fmt.Errorf("cannot exec: %w", errInit)
	}
	nsFiles, err := openNamespaces(c.State.InitPid, spec)
	defer closeFiles(nsFiles)
	if err != nil {
		return 0, err
	}
	hostRoot, err := openHostRoot(c.State.InitPid, spec)
	if err != nil {
		return 0, err
	}
	if hostRoot != nil {
		defer hostRoot.Close()
	}
	var who *planIdentity
	if reason := planFallback(spec, nsFiles[specs.PIDNamespace]); reason != "" {
		debugf("exec %s: the Go path sets the process up: %s", c.State.ID, reason)
	} else if who, err = resolvePlanIdentity(initRoot(c.State.InitPid), c.State.InitPid, spec); err != nil {
		return 0, err
	}
	if err := c.checkInit(); err != nil {
		return 0, fmt.Errorf("cannot exec: %w", err)
	}

	req := &spawnRequest{
		config: initConfig{
			Spec: spec, ID: c.State.ID, Bundle: c.State.Bundle, Rootfs: c.State.Rootfs,
			Exec: true, PreserveFDs: o.PreserveFDs,
		},
		stdio:     o.Stdio,
		stateRoot: c.store.Root,
	}
	if req.config.SeccompFilter, err = c.execFilter(spec); err != nil {
		return 0, err
	}
	req.preserve(o.PreserveFDs)
	// A process that runs a plan has one thread and may join the cgroup
	// by itself: its stage does, first thing (see joinCgroupsInStage).
	cgFiles, err := req.startIn(cg, who != nil)
	for _, f := range cgFiles {
		defer f.Close()
	}
	if err != nil {
		return 0, err
	}
	// A container whose user namespace holds no right to join its pid
	// namespace gets its processes from a stage that joins it first (see
	// joinerBootstrap): the process is born in the container and holds
	// nothing of the runtime's, neither its procfs nor its log.
	joiner := joinsFromNewUserNS(spec)
	if joiner {
		req.config.Joiner = true
		req.bootstrap = joinerBootstrap(spec, nsFiles[specs.PIDNamespace], nsFiles, req)
	} else {
		req.bootstrap = execBootstrap(spec, nsFiles, req)
		procfs, err := sysfile.Open("/proc", unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return 0, fmt.Errorf("open procfs: %w", err)
		}
		defer procfs.Close()
		req.config.ProcfsFD = req.addFile(procfs)
		if who == nil {
			// Only the Go init writes debug records; a plan's steps run
			// in C, and a failed one comes back as its error.
			req.passLog()
		}
	}
	req.joinCgroupsInStage("exec " + c.State.ID)
	if hostRoot != nil {
		req.config.HostRootFD = req.addFile(hostRoot)
	}
	if o.Process.Terminal {
		owned, err := req.attachTerminal(o.ConsoleSocket, o.ConsoleConn)
		for _, f := range owned {
			defer f.Close()
		}
		if err != nil {
			return 0, err
		}
	}
	var plan *nsenter.Plan
	if who != nil {
		procfsFD := req.config.ProcfsFD
		if joiner {
			procfsFD = req.firstFreeFD()
		}
		if plan, err = execPlan(spec, who, req, req.config.ExecPidNSFD, procfsFD, joiner); err != nil {
			return 0, err
		}
		req.bootstrap.Plan = plan
		debugf("exec %s: plan of %s", c.State.ID, plan)
	}

	debugf("exec %s: joining the namespaces of init %d", c.State.ID, c.State.InitPid)
	p, err := spawn(req, "oci-rt")
	if err != nil {
		return 0, err
	}
	defer p.conn.Close()
	debugf("exec %s: process %d spawned", c.State.ID, p.pid)
	if err := addToIntelRdt(c.State, spec, p.pid); err != nil {
		killAndReap(p.pid)
		return 0, err
	}
	if plan != nil {
		err = c.waitForPlanRelease(p, plan, spec, cg, "exec")
	} else {
		err = sendExecConfig(c, p, &req.config, cg)
	}
	if err != nil {
		return 0, err
	}
	if o.BeforeRelease != nil {
		if err := o.BeforeRelease(); err != nil {
			killAndReap(p.pid)
			return 0, err
		}
	}
	if err := p.conn.Send(nsenter.KindAck, ""); err != nil {
		killAndReap(p.pid)
		return 0, err
	}
	pid := p.pid
	if joiner && plan == nil {
		err = waitForJoinerExec(p)
	} else {
		var bornInside *os.File
		if joiner {
			bornInside = nsFiles[specs.PIDNamespace]
		}
		pid, err = waitForExecProcess(p, cg, o.Process.Args[0], plan, bornInside)
	}
	if err != nil {
		return 0, err
	}
	if o.PidFile != "" {
		if err := WriteFileAtomic(o.PidFile, []byte(fmt.Sprint(pid)), 0o644); err != nil {
			killAndReap(pid)
			return 0, fmt.Errorf("pid file: %w", err)
		}
	}
	if plan != nil && Log.Debug {
		debugf("exec %s: the plan's %s", c.State.ID, plan.RanAfterRelease())
	}
	debugf("exec %s: process %d runs %s", c.State.ID, pid, o.Process.Args[0])
	return pid, nil
}

// sendExecConfig hands the Go exec init its config and serves it until it
// is set up.
func sendExecConfig(c *Container, p *child, cfg *initConfig, cg cgroups.Manager) error {
	if err := p.conn.SendConfig(cfg); err != nil {
		killAndReap(p.pid)
		return fmt.Errorf("send config to the exec process: %w", err)
	}
	return c.talkToInit(p, cfg.Spec, cg, "exec")
}

// waitForExecProcess learns the exec'd process's pid once it runs its
// program. The exec init closes the socket before the process exists,
// which must never hold it, and tells its pid, or why it failed, in the
// name it exits with (a failure before that comes as a message, from a
// plan's steps as a planerror message that plan reads). The
// process must be our child, as the init starts it with CLONE_PARENT:
// that we then wait for it and signal it is safe. plan is the plan that
// set the process up, nil for the Go init. pidns, when not nil, is the pid
// namespace the init lives in, whose numbering its report uses (see
// joinerBootstrap).
func waitForExecProcess(init *child, cg cgroups.Manager, program string, plan *nsenter.Plan, pidns *os.File) (int, error) {
	rep, err := init.conn.Recv()
	if errors.Is(err, nsenter.ErrPeerGone) {
		rep, err = readSpawnReport(init.pid)
		if err != nil {
			debugf("exec init %d: %v", init.pid, err)
			return 0, diedError(init.pid, cg, "exec")
		}
	}
	if err != nil {
		killAndReap(init.pid)
		return 0, err
	}
	if rep.Kind == nsenter.KindSpawnError {
		killAndReap(init.pid)
		return 0, rep.SpawnError(program)
	}
	if rep.Kind == nsenter.KindPlanError && plan != nil {
		killAndReap(init.pid)
		return 0, plan.Err(rep)
	}
	if rep.Kind == nsenter.KindPid && pidns != nil {
		if rep.Pid, err = hostPid(pidns, rep.Pid); err != nil {
			killAndReap(init.pid)
			return 0, err
		}
	}
	if rep.Kind != nsenter.KindPid || rep.Pid <= 0 || rep.Pid == init.pid {
		killAndReap(init.pid)
		return 0, fmt.Errorf("sync: unexpected %q (pid %d) from the exec process", rep.Kind, rep.Pid)
	}
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, rep.Pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
		killAndReap(init.pid)
		return 0, fmt.Errorf("exec process %d is not ours to wait for: %w", rep.Pid, err)
	}
	if ws, err := waitPid(init.pid); err != nil || !ws.Exited() || ws.ExitStatus() != 0 {
		killAndReap(rep.Pid)
		return 0, fmt.Errorf("exec init ended badly (status %#x, %v) after starting the process", uint32(ws), err)
	}
	return rep.Pid, nil
}

// waitForJoinerExec waits for an exec'd process that becomes the process
// itself (a joiner) to reach its program: execve closes its end of the
// socket, or it reports why it could not. A process that died on the way
// closes it too: its exit status, which the caller waits for, says so.
func waitForJoinerExec(p *child) error {
	rep, err := p.conn.Recv()
	if errors.Is(err, nsenter.ErrPeerGone) {
		return nil
	}
	killAndReap(p.pid)
	if err != nil {
		return err
	}
	return fmt.Errorf("sync: unexpected %q from the exec process", rep.Kind)
}

// readSpawnReport waits for the exec init to exit, without reaping it, and
// reads the report it exited with.
func readSpawnReport(pid int) (*nsenter.Message, error) {
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		return nil, fmt.Errorf("wait for the exec init: %w", err)
	}
	return nsenter.ReadExitReport(pid)
}

// startIn makes the process start in cg (none when nil). On v2 it starts
// there (CLONE_INTO_CGROUP); a process that joinsItself on v1 moves
// itself in (see joinCgroupItself); otherwise, v1 having no such flag,
// the namespace stage is moved in before it starts work, and so are the
// processes it forks. It returns the files it opened, to close once the
// process is spawned.
func (r *spawnRequest) startIn(cg cgroups.Manager, joinsItself bool) ([]*os.File, error) {
	r.cgroupFD, r.enter = -1, cg
	if unified, ok := cgroups.Files(cg).(*fs2.Manager); ok {
		dir, err := unified.OpenDir()
		if err != nil {
			return nil, err
		}
		r.cgroupFD, r.enter = int(dir.Fd()), nil
		return []*os.File{dir}, nil
	}
	if !joinsItself {
		return nil, nil
	}
	files, err := r.joinCgroupItself(cg)
	if len(r.cgroupJoins) > 0 {
		r.enter = nil
	}
	return files, err
}

// execCgroup is the container's cgroup, or the existing sub-cgroup of it
// that --cgroup names; nil for a container without one.
func (c *Container) execCgroup(sub string) (cgroups.Manager, error) {
	if c.State.NoCgroup && sub == "" {
		// Like its init, the process stays in the caller's cgroup.
		return nil, nil
	}
	m, err := c.Cgroup()
	if err != nil {
		return nil, err
	}
	if sub == "" {
		return m, nil
	}
	return m.Sub(sub)
}

// openNamespaces opens each namespace the container's config lists, as the
// init sees it (a namespace the config joined by path included).
func openNamespaces(initPid int, spec *specs.Spec) (map[specs.LinuxNamespaceType]*os.File, error) {
	files := map[specs.LinuxNamespaceType]*os.File{}
	for _, ns := range spec.Linux.Namespaces {
		name := configs.ProcNamespaceName(ns.Type)
		if name == "" {
			return files, fmt.Errorf("unknown namespace type %q", ns.Type)
		}
		p := fmt.Sprintf("/proc/%d/ns/%s", initPid, name)
		f, err := sysfile.Open(p, unix.O_RDONLY)
		if err != nil {
			return files, fmt.Errorf("open the container's %s namespace: %w", name, err)
		}
		files[ns.Type] = f
	}
	return files, nil
}

func closeFiles(files map[specs.LinuxNamespaceType]*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// execBootstrap joins every namespace of the container through the fds
// opened here, handed to the stage, which opens them as /proc/self/fd/N.
//
// The stage does not enter the container's pid namespace: the exec init
// joins it for its children only and starts the process at the very end
// (see joinPidNamespaceForChildren), so nothing in the container can see
// the init while it sets up with the runtime's fds and privileges. That
// matters most without a user namespace, where the container's root is
// root of the host's user namespace and CAP_SYS_PTRACE there overrides
// non-dumpable; with one, it keeps a container that shares a user
// namespace with the host's processes (joined by path) out the same way.
// The process is born in the time namespace the stage joined, too. The
// init reaches its own /proc entries through the runtime's procfs
// (ProcfsFD): the container's does not show it, and inside a user
// namespace it may mount no other.
func execBootstrap(spec *specs.Spec, files map[specs.LinuxNamespaceType]*os.File, req *spawnRequest) nsenter.Bootstrap {
	var b nsenter.Bootstrap
	for _, ns := range spec.Linux.Namespaces {
		fd := req.addFile(files[ns.Type])
		if ns.Type == specs.PIDNamespace {
			req.config.ExecPidNSFD = fd
			continue
		}
		b.Join = append(b.Join, nsenter.NSPath{Type: namespaceFlags[ns.Type], Path: fmt.Sprintf("/proc/self/fd/%d", fd)})
	}
	return b
}
