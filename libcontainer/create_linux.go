package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/libcontainer/configs"
	"github.com/oci-rt/oci-rt/libcontainer/rootfs"
	"github.com/oci-rt/oci-rt/seccomp"
)

// CreateOptions are create's inputs besides the bundle's config.
type CreateOptions struct {
	ID, Bundle    string
	ConsoleSocket string // path of a unix socket to send the pty master to
	// ConsoleConn, when set, is a socket the caller holds itself and reads
	// the pty master from (foreground run); used only when the config asks
	// for a terminal and no ConsoleSocket is given.
	ConsoleConn  *os.File
	PidFile      string
	NoPivot      bool
	NoNewKeyring bool
	PreserveFDs  int
	// Rootless is --rootless resolved: runc would run the container
	// without a cgroup when it may not create one.
	Rootless bool
	// ExtraEnv is added to the process's environment (socket activation's
	// LISTEN_FDS and LISTEN_PID).
	ExtraEnv []string
	// Stdio is handed to the process unchanged when it has no terminal.
	Stdio [3]*os.File
	// Pause, when set, is called at named points of create; tests use it to
	// kill the runtime there and prove that delete --force cleans up.
	Pause func(point string)
}

// Create builds a container and leaves its init blocked before execve.
// Whatever fails, nothing is left behind: no state, cgroup or process.
func Create(store *Store, o *CreateOptions) (c *Container, err error) {
	if err := configs.ValidateID(o.ID); err != nil {
		return nil, err
	}
	spec, bundle, rootfsPath, err := configs.LoadBundle(o.Bundle)
	if err != nil {
		return nil, err
	}
	if err := configs.Validate(spec); err != nil {
		return nil, err
	}
	if err := configs.ValidateHost(spec); err != nil {
		return nil, err
	}
	for _, warning := range configs.Warnings(spec) {
		Warn(warning)
	}
	// From here on the rootfs is this handle: the path is not resolved
	// again, so swapping it for a symlink cannot redirect the container.
	root, err := rootfs.OpenRoot(rootfsPath)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if spec.Process.Terminal && o.ConsoleSocket == "" && o.ConsoleConn == nil {
		return nil, errors.New("cannot allocate a terminal without --console-socket: process.terminal is true")
	}
	if !spec.Process.Terminal && o.ConsoleSocket != "" {
		return nil, errors.New("--console-socket given but process.terminal is false")
	}
	spec.Process.Env = append(spec.Process.Env, o.ExtraEnv...)
	specBytes, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	pause := func(point string) {
		debugf("create %s: %s", o.ID, createSteps[point])
		if o.Pause != nil {
			o.Pause(point)
		}
	}

	boot, err := bootID()
	if err != nil {
		return nil, err
	}
	mark, err := newCgroupMark()
	if err != nil {
		return nil, err
	}
	lock, err := store.Create(o.ID)
	if err != nil {
		return nil, err
	}
	st := &State{
		ID:          o.ID,
		Bundle:      bundle,
		Rootfs:      rootfsPath,
		Created:     time.Now().UTC(),
		Owner:       ownerName(),
		Annotations: spec.Annotations,
		BootID:      boot,
		CgroupMark:  mark,
	}
	c = &Container{store: store, State: st}
	defer func() {
		if err != nil {
			lock.Unlock()
			_ = Delete(store, o.ID, true)
			return
		}
		lock.Unlock()
	}()
	cgLoc, err := cgroups.Resolve(spec.Linux.CgroupsPath, o.ID, cgroups.DefaultParent(store.Root))
	if err != nil {
		return nil, err
	}
	st.CgroupPath, st.CgroupPaths = cgLoc.Path, cgLoc.Paths
	// Record everything we are about to create before creating it.
	if err := lock.Save(st); err != nil {
		return nil, err
	}
	if err := lock.SaveSpec(specBytes); err != nil {
		return nil, err
	}
	pause("recorded")

	cg, err := cgroups.Load(cgLoc)
	if err != nil {
		return nil, err
	}
	if err := cg.Create(); err != nil {
		return nil, rootlessCgroupError(err, o.Rootless)
	}
	if err := markCgroup(cg, st); err != nil {
		return nil, err
	}
	// Where no mark could be set, the inode is what delete will check,
	// also after a crash: it is recorded at once.
	if err := lock.Save(st); err != nil {
		return nil, err
	}
	if err := applyResources(cg, spec); err != nil {
		return nil, err
	}
	pause("cgroup")

	req, cleanup, err := buildCreateRequest(spec, o, lock.Dir(), bundle, rootfsPath)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	hostRoot, err := bindHostRootfs(lock, st, spec, o.NoPivot, root)
	if err != nil {
		return nil, err
	}
	if hostRoot != nil {
		defer hostRoot.Close()
		req.config.HostRootFD = req.addFile(hostRoot)
	} else {
		req.config.RootfsFD = req.addFile(root)
	}
	req.passLog()
	req.cgroupFD = -1
	req.config.CgroupPath = cgLoc.Path
	if v1, ok := cg.(*cgroups.V1); ok {
		req.config.CgroupV1 = v1.Hierarchies()
	}
	unified, isUnified := cg.(*cgroups.Unified)
	// The init starts in our own cgroup, so that the memory its setup
	// touches is charged to the runtime and not against the container's
	// limits; it joins the container's cgroup before anything of the
	// container's own runs (joinCgroup). A new cgroup namespace must be
	// created inside the container's cgroup: on v2 the stage enters it
	// just for that (through cgroup.procs, and is moved out again); on v1,
	// with a cgroup.procs per hierarchy, the stage is moved into all of
	// them before it starts and stays, as runc's does.
	newCgroupNS := req.bootstrap.CloneFlags&unix.CLONE_NEWCGROUP != 0
	switch {
	case newCgroupNS && !isUnified:
		req.enter = cg
	case newCgroupNS:
		procs, err := unified.OpenProcs()
		if err != nil {
			return nil, err
		}
		defer procs.Close()
		req.bootstrap.CgroupProcsFD = req.addFile(procs)
	}
	init, err := spawn(req, "oci-rt")
	if err != nil {
		// The stage is in the container's cgroup while it creates the
		// cgroup namespace and forks: a tiny memory.max kills it there.
		if oom := oomKilledError(cg, "create", err.Error()); oom != nil {
			return nil, oom
		}
		return nil, err
	}
	defer init.conn.f.Close()
	if err := recordInit(st, init.pid); err != nil {
		killAndReap(init.pid)
		return nil, err
	}
	if err := lock.Save(st); err != nil {
		return nil, err
	}
	if err := joinIntelRdt(lock, st, spec, init.pid); err != nil {
		killAndReap(init.pid)
		return nil, err
	}
	if err := lendNetDevices(lock, st, spec, init.pid); err != nil {
		if pidfd, pidfdErr := unix.PidfdOpen(init.pid, 0); pidfdErr == nil {
			_ = returnNetDevices(st, pidfd)
			unix.Close(pidfd)
		}
		killAndReap(init.pid)
		return nil, err
	}
	pause("spawned")

	req.config.HookState = &specs.State{Version: specs.Version, ID: o.ID, Status: specs.StateCreating, Pid: init.pid, Bundle: bundle, Annotations: spec.Annotations}
	if err := init.conn.sendValue(&req.config); err != nil {
		return nil, fmt.Errorf("send config to container init: %w", err)
	}
	if err := c.talkToInit(init, spec, cg, "create"); err != nil {
		return nil, err
	}
	pause("ready")
	if o.PidFile != "" {
		if err := WriteFileAtomic(o.PidFile, []byte(fmt.Sprint(init.pid)), 0o644); err != nil {
			return nil, fmt.Errorf("pid file: %w", err)
		}
	}
	st.Complete = true
	if err := lock.Save(st); err != nil {
		return nil, err
	}
	if err := init.conn.send(msgAck, ""); err != nil {
		return nil, err
	}
	// The init closes its end right after the ack: waiting for that makes
	// what a created init holds the same whenever create has returned
	// (only the fifo and its procfs handles), so nothing of ours lingers.
	init.conn.waitClosed()
	debugf("create %s: created, init %d waits for start", o.ID, init.pid)
	return c, nil
}

// buildCreateRequest assembles the spawn request for a new container. The
// returned cleanup closes the parent's copies of the fds handed to init.
func buildCreateRequest(spec *specs.Spec, o *CreateOptions, stateDir, bundle, rootfsPath string) (*spawnRequest, func(), error) {
	var toClose []*os.File
	cleanup := func() {
		for _, f := range toClose {
			f.Close()
		}
	}
	req := &spawnRequest{
		bootstrap: createBootstrap(spec),
		config: initConfig{
			Spec: spec, ID: o.ID, Bundle: bundle, Rootfs: rootfsPath,
			NoPivot: o.NoPivot, NoNewKeyring: o.NoNewKeyring, PreserveFDs: o.PreserveFDs,
		},
		stdio:  o.Stdio,
		uidMap: spec.Linux.UIDMappings,
		gidMap: spec.Linux.GIDMappings,
	}
	req.preserve(o.PreserveFDs)

	fifoPath := filepath.Join(stateDir, fifoName)
	if err := unix.Mkfifo(fifoPath, 0o600); err != nil {
		return nil, cleanup, fmt.Errorf("create exec fifo: %w", err)
	}
	// The init opens the fifo as the container's root, which in a user
	// namespace is some other host uid, one the config does not even name
	// when it joins a user namespace by path. So, as runc does, anyone may
	// write it: only the init's fd reaches it, the state dir is private.
	if err := os.Chown(fifoPath, hostID(spec.Linux.UIDMappings, 0), hostID(spec.Linux.GIDMappings, 0)); err != nil {
		return nil, cleanup, fmt.Errorf("chown exec fifo: %w", err)
	}
	if err := os.Chmod(fifoPath, 0o622); err != nil {
		return nil, cleanup, fmt.Errorf("chmod exec fifo: %w", err)
	}
	fifo, err := os.OpenFile(fifoPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, cleanup, fmt.Errorf("open exec fifo: %w", err)
	}
	toClose = append(toClose, fifo)
	req.config.FifoFD = req.addFile(fifo)

	if spec.Process.Terminal {
		owned, err := req.attachTerminal(o.ConsoleSocket, o.ConsoleConn)
		toClose = append(toClose, owned...)
		if err != nil {
			return nil, cleanup, err
		}
	}

	mountFDs, err := rootfs.PrepareMountFDs(spec, bundle)
	if err != nil {
		return nil, cleanup, err
	}
	if len(mountFDs) > 0 {
		req.config.MountFDs = map[int]int{}
		for i, f := range mountFDs {
			toClose = append(toClose, f)
			req.config.MountFDs[i] = req.addFile(f)
		}
	}
	return req, cleanup, nil
}

// hostID maps a container id to the host through a user namespace's map;
// without a map (no user namespace) ids are the same.
func hostID(maps []specs.LinuxIDMapping, id uint32) int {
	if len(maps) == 0 {
		return int(id)
	}
	for _, m := range maps {
		if id >= m.ContainerID && id-m.ContainerID < m.Size {
			return int(m.HostID + id - m.ContainerID)
		}
	}
	return -1 // unmapped: leave the owner alone
}

func dialConsoleSocket(path string) (*os.File, error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("connect to console socket: %w", err)
	}
	defer conn.Close()
	f, err := conn.(*net.UnixConn).File()
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	return f, nil
}

// talkToInit serves the init's requests until it is ready to wait for start.
// what names the operation ("create" or "exec") in errors.
func (c *Container) talkToInit(init *child, spec *specs.Spec, cg cgroups.Manager, what string) error {
	for {
		rep, err := init.conn.recv()
		if errors.Is(err, errPeerGone) {
			return diedError(init.pid, cg, what)
		}
		if err != nil {
			killAndReap(init.pid)
			return err
		}
		debugf("%s %s: init %d asks for %q", what, c.State.ID, init.pid, rep.Type)
		switch rep.Type {
		case msgHooks:
			if hasCreateHooks(spec) {
				if err := init.joinCgroup(cg); err != nil {
					return err
				}
			}
			if err := c.runCreateHooks(spec, init.pid); err != nil {
				killAndReap(init.pid)
				return err
			}
			if err := init.conn.send(msgAck, ""); err != nil {
				return err
			}
		case msgNotify:
			if err := c.forwardSeccompListener(init, spec); err != nil {
				killAndReap(init.pid)
				return err
			}
		case msgReady:
			return init.joinCgroup(cg)
		default:
			killAndReap(init.pid)
			return fmt.Errorf("sync: unexpected %q from container init", rep.Type)
		}
	}
}

// diedError says how a process that closed the sync socket without a word
// ended: its exit status or signal, and the OOM killer when the cgroup saw
// it.
func diedError(pid int, cg cgroups.Manager, what string) error {
	// It is exiting; one that lingers without its socket is ended.
	if pidfd, err := unix.PidfdOpen(pid, 0); err == nil {
		waitPidfd(pidfd, time.Second)
		unix.Close(pidfd)
	}
	ws := killAndReap(pid)
	how := fmt.Sprintf("exit status %d", ws.ExitStatus())
	if ws.Signaled() {
		how = "killed by " + unix.SignalName(ws.Signal())
	}
	if oom := oomKilledError(cg, what, how); oom != nil {
		return oom
	}
	return fmt.Errorf("container process exited unexpectedly during %s (%s)", what, how)
}

// oomKilledError says that a process of the container died to the OOM
// killer during what (how: its end as we saw it), when the cgroup counted
// an OOM kill; else nil.
func oomKilledError(cg cgroups.Manager, what, how string) error {
	if n, err := cg.OOMKillCount(); err == nil && n > 0 {
		return fmt.Errorf("container process was OOM-killed during %s (%s): memory limit too low", what, how)
	}
	return nil
}

// joinCgroup moves an init that runs outside the container's cgroup into
// it. It happens before any hook sees the init's pid and before create
// returns, so that everything of the container's own (the hooks' view of
// it, the process) is in its cgroup, while the runtime's setup work inside
// the init was charged to the runtime.
func (init *child) joinCgroup(cg cgroups.Manager) error {
	if !init.outside {
		return nil
	}
	if err := cg.Enter(init.pid); err != nil {
		killAndReap(init.pid)
		return fmt.Errorf("move container init into its cgroup: %w", err)
	}
	init.outside = false
	return nil
}

// hasCreateHooks tells whether any hook runs while the container is created
// (and so may look at the init's cgroup).
func hasCreateHooks(spec *specs.Spec) bool {
	h := spec.Hooks
	//nolint:staticcheck // prestart is deprecated in the spec but still used by clients.
	return h != nil && len(h.Prestart)+len(h.CreateRuntime)+len(h.CreateContainer) > 0
}

func (c *Container) runCreateHooks(spec *specs.Spec, pid int) error {
	if spec.Hooks == nil {
		return nil
	}
	// The environment is built and the init waits for start: hooks see the
	// container as created, as crun shows it and the OCI validation suite
	// expects (program hooks_stdin).
	state := &specs.State{Version: specs.Version, ID: c.State.ID, Status: specs.StateCreated, Pid: pid, Bundle: c.State.Bundle, Annotations: c.State.Annotations}
	//nolint:staticcheck // prestart is deprecated in the spec but still used by clients.
	if err := runHooks("prestart", spec.Hooks.Prestart, state); err != nil {
		return err
	}
	return runHooks("createRuntime", spec.Hooks.CreateRuntime, state)
}

// forwardSeccompListener receives the seccomp listener fd from init and
// passes it, with the container's state, to the agent at listenerPath.
func (c *Container) forwardSeccompListener(init *child, spec *specs.Spec) error {
	// Exactly the one byte init sent with the fd: the sync frames that
	// follow on this stream socket are not ours to read here.
	listener, err := receiveFD(init.conn.f, make([]byte, 1), "seccomp listener")
	if err != nil {
		return err
	}
	defer listener.Close()
	sc := spec.Linux.Seccomp
	if sc.ListenerPath == "" {
		return nil
	}
	state := specs.ContainerProcessState{
		Version:  specs.Version,
		Fds:      []string{specs.SeccompFdName},
		Pid:      init.pid,
		Metadata: sc.ListenerMetadata,
		State:    specs.State{Version: specs.Version, ID: c.State.ID, Status: specs.StateCreating, Pid: init.pid, Bundle: c.State.Bundle, Annotations: c.State.Annotations},
	}
	return seccomp.SendListener(sc.ListenerPath, int(listener.Fd()), state)
}

// applyResources applies the config's resources.
func applyResources(cg cgroups.Manager, spec *specs.Spec) error {
	var r specs.LinuxResources
	if spec.Linux.Resources != nil {
		r = *spec.Linux.Resources
	}
	r.Devices = containerDeviceRules(r.Devices)
	return cg.Apply(&r)
}

// containerDeviceRules is the device filter for rules (the config's, or an
// update's) with the runtime's default allow list appended, as runc does,
// so that a deny-all config still has /dev/null and friends. The nodes in
// linux.devices get no rule of their own: creating a node does not grant
// access to it, only resources.devices does (runc's rule too), so a config
// that lists /dev/kmsg but denies everything cannot read the kernel log.
func containerDeviceRules(rules []specs.LinuxDeviceCgroup) []specs.LinuxDeviceCgroup {
	return append(append([]specs.LinuxDeviceCgroup{}, rules...), cgroups.DefaultAllowedDevices()...)
}
