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
	"github.com/oci-rt/oci-rt/cgroups/devices"
	"github.com/oci-rt/oci-rt/cgroups/fs"
	"github.com/oci-rt/oci-rt/cgroups/fs2"
	"github.com/oci-rt/oci-rt/cgroups/manager"
	"github.com/oci-rt/oci-rt/internal/quickjson"
	"github.com/oci-rt/oci-rt/internal/sysfile"
	"github.com/oci-rt/oci-rt/libcontainer/configs"
	"github.com/oci-rt/oci-rt/libcontainer/rootfs"
	"github.com/oci-rt/oci-rt/nsenter"
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
	// SystemdCgroup is --systemd-cgroup: the cgroup is a transient systemd
	// unit, and linux.cgroupsPath is "slice:prefix:name".
	SystemdCgroup bool
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
//
// It runs in phases, each named by the point the fault-injection tests
// stop it at once the phase is done. What a phase creates, it registers
// with the creation's rollback as it goes, so that one path undoes any
// failure, in any phase, newest first.
func Create(store *Store, o *CreateOptions) (*Container, error) {
	cr, err := validateCreate(store, o)
	if err != nil {
		return nil, err
	}
	phases := []struct {
		point string
		run   func() error
	}{
		{"recorded", cr.record},
		{"cgroup", cr.makeCgroup},
		{"spawned", cr.spawnInit},
		{"ready", cr.configureInit},
	}
	for _, phase := range phases {
		if err := phase.run(); err != nil {
			cr.fail()
			return nil, err
		}
		cr.pause(phase.point)
	}
	if err := cr.finalize(); err != nil {
		cr.fail()
		return nil, err
	}
	cr.close()
	debugf("create %s: created, init %d waits for start", o.ID, cr.init.pid)
	return cr.c, nil
}

// creation is one create in progress: its inputs, what it has made so
// far, and how to undo that.
type creation struct {
	store *Store
	o     *CreateOptions
	// From validate.
	spec               *specs.Spec
	specBytes          []byte
	filter             []byte // the compiled seccomp filter, or nil
	bundle, rootfsPath string
	root               *os.File
	// From record on.
	lock  *Lock
	st    *State
	c     *Container
	cgLoc cgroups.Location
	cg    cgroups.Manager
	req   *spawnRequest
	init  *child
	// initPidfd pins the init from its spawn on: the rollback ends it
	// through this even when an earlier step has reaped it already, and
	// its pid alone might by then name another process.
	initPidfd int
	// plan is the init's plan, when it runs one (see setUpFromOutside).
	plan *nsenter.Plan

	// undo holds what rolls each phase's work back, run newest first on
	// failure. The parent's copies of fds handed to the init are closed
	// whatever happens (closers), before the rollback as they always were:
	// an fd held on the host rootfs bind would keep it busy.
	undo    []func()
	closers []func()
}

// validateCreate checks everything about the request that can be checked
// before anything exists: the ID, the bundle and its config, the host, and
// the terminal options. Nothing needs undoing when it fails.
func validateCreate(store *Store, o *CreateOptions) (*creation, error) {
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
	// The spec to create from, where the config's user namespace may be
	// the runtime's; the config as given is recorded.
	runtimeSpec, err := specInOwnUserNamespace(spec, o.ID, o.SystemdCgroup)
	if err != nil {
		return nil, err
	}
	if err := configs.ValidateHost(runtimeSpec); err != nil {
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
	cr := &creation{store: store, o: o, spec: runtimeSpec, bundle: bundle, rootfsPath: rootfsPath, root: root, initPidfd: -1}
	cr.closers = append(cr.closers, func() { root.Close() })
	if err := cr.validateTerminal(); err != nil {
		cr.close()
		return nil, err
	}
	spec.Process.Env = append(spec.Process.Env, o.ExtraEnv...)
	if cr.specBytes, err = quickjson.Marshal(spec); err != nil {
		cr.close()
		return nil, err
	}
	if cr.filter, err = encodedFilter(seccompProfile(spec)); err != nil {
		cr.close()
		return nil, err
	}
	return cr, nil
}

func (cr *creation) validateTerminal() error {
	terminal, o := cr.spec.Process.Terminal, cr.o
	if terminal && o.ConsoleSocket == "" && o.ConsoleConn == nil {
		return errors.New("cannot allocate a terminal without --console-socket: process.terminal is true")
	}
	if !terminal && o.ConsoleSocket != "" {
		return errors.New("--console-socket given but process.terminal is false")
	}
	return nil
}

// record makes the state directory and writes the state and config into
// it, with the cgroup it is about to create, before creating anything: a
// runtime killed at any later point leaves what delete --force needs. Its
// undo is that delete, which removes everything the state records
// (cgroup, host rootfs bind, Intel RDT group, the init, the directory).
func (cr *creation) record() error {
	o := cr.o
	boot, err := bootID()
	if err != nil {
		return err
	}
	mark, err := newCgroupMark()
	if err != nil {
		return err
	}
	lock, err := cr.store.Create(o.ID)
	if err != nil {
		return err
	}
	cr.lock = lock
	cr.undo = append(cr.undo, func() {
		lock.Unlock()
		_ = Delete(cr.store, o.ID, true)
	})
	cr.st = &State{
		ID:          o.ID,
		Bundle:      cr.bundle,
		Rootfs:      cr.rootfsPath,
		Created:     time.Now().UTC(),
		Owner:       ownerName(),
		Annotations: cr.spec.Annotations,
		BootID:      boot,
		CgroupMark:  mark,
	}
	// The lifecycle's part of the config is the spec's, as recorded:
	// a foreground run asks it whether there is a terminal, and decoding
	// the file again would read and parse it again.
	cr.c = &Container{store: cr.store, State: cr.st, recorded: recordedPart(cr.spec)}
	cgLoc, err := resolveCgroup(cr.spec.Linux.CgroupsPath, o.ID, cr.store.Root, o.SystemdCgroup)
	if err != nil {
		return err
	}
	cgLoc.Rootless = o.Rootless
	cr.cgLoc = cgLoc
	cr.st.CgroupPath, cr.st.CgroupPaths = cgLoc.Path, cgLoc.Paths
	cr.st.SystemdUnit, cr.st.SystemdSlice = cgLoc.Unit, cgLoc.Slice
	if err := lock.Save(cr.st); err != nil {
		return err
	}
	if err := lock.SaveSpec(cr.specBytes); err != nil {
		return err
	}
	if cr.filter == nil {
		return nil
	}
	return lock.SaveFilter(cr.filter)
}

// makeCgroup creates the recorded cgroup, marks it as the container's and
// applies the config's resources.
func (cr *creation) makeCgroup() error {
	cg, err := manager.New(cr.cgLoc)
	if err != nil {
		return err
	}
	if err := cg.Create(); err != nil {
		skip, err := runWithoutCgroup(err, cr.o.Rootless, cr.spec)
		if !skip {
			return err
		}
		return cr.recordNoCgroup()
	}
	cr.cg = cg
	if err := markCgroup(cg, cr.st); err != nil {
		return err
	}
	// Where no mark could be set, the inode is what delete will check,
	// also after a crash: it is recorded at once. A marked cgroup is
	// known by the mark the state already holds (its inode is recorded
	// with the init's pid).
	if cr.st.CgroupMark == "" {
		if err := cr.lock.Save(cr.st); err != nil {
			return err
		}
	}
	return applyResources(cg, cr.spec)
}

// recordNoCgroup records that the container runs without a cgroup. runc
// warns only where that leaves processes no kill can reach: without a pid
// namespace of its own, the container's processes cannot all be found.
func (cr *creation) recordNoCgroup() error {
	if !hasPidNamespace(cr.spec) {
		Warn("creating a rootless container with no cgroup and no private pid namespace: its processes cannot all be killed")
	}
	cr.st.CgroupPath, cr.st.CgroupPaths, cr.st.NoCgroup = "", nil, true
	return cr.lock.Save(cr.st)
}

// spawnInit starts the container's init, records who it is, and lends it
// the resources that go to it by pid (Intel RDT group, network devices).
func (cr *creation) spawnInit() error {
	if err := cr.buildRequest(); err != nil {
		return err
	}
	if err := cr.chooseSetup(); err != nil {
		return err
	}
	init, err := spawn(cr.req, "oci-rt")
	if err != nil {
		// The stage is in the container's cgroup while it creates the
		// cgroup namespace and forks: a tiny memory.max kills it there.
		if oom := oomKilledError(cr.cg, "create", err.Error()); oom != nil {
			return oom
		}
		return err
	}
	init.setup = true
	cr.init = init
	cr.closers = append(cr.closers, func() { init.conn.Close() })
	if err := cr.pinInit(); err != nil {
		return err
	}
	if err := recordInit(cr.st, init.pid); err != nil {
		return err
	}
	if err := cr.lock.Save(cr.st); err != nil {
		return err
	}
	if err := joinIntelRdt(cr.lock, cr.st, cr.spec, init.pid); err != nil {
		return err
	}
	// Before the init's namespace dies with it, which would destroy a
	// virtual device rather than return it; also those lent before a
	// failure part-way through.
	cr.undo = append(cr.undo, func() { _ = returnNetDevices(cr.st, cr.initPidfd) })
	return lendNetDevices(cr.lock, cr.st, cr.spec, init.pid)
}

// pinInit opens a pidfd of the freshly spawned init, which no one can have
// reaped yet, and makes ending it part of the rollback.
func (cr *creation) pinInit() error {
	pidfd, err := unix.PidfdOpen(cr.init.pid, 0)
	if err != nil {
		killAndReap(cr.init.pid)
		return fmt.Errorf("pidfd of container init %d: %w", cr.init.pid, err)
	}
	cr.initPidfd = pidfd
	// Through cr.initPidfd, not pidfd: an init that starts the container's
	// process itself hands the pin on to it (see takeOverProcess).
	cr.undo = append(cr.undo, func() {
		_ = unix.PidfdSendSignal(cr.initPidfd, unix.SIGKILL, nil, 0)
		var info unix.Siginfo
		_ = unix.Waitid(unix.P_PIDFD, cr.initPidfd, &info, unix.WEXITED, nil)
	})
	return nil
}

// takeOverProcess lets an init that set up outside the pid namespace it
// joins start the container's process there, and makes that process the
// container's: recorded, pinned, and what the pid file names.
func (cr *creation) takeOverProcess() error {
	if err := cr.init.conn.Send(nsenter.KindAck, ""); err != nil {
		return err
	}
	pid, err := waitForExecProcess(cr.init, cr.cg, cr.spec.Process.Args[0], cr.plan, nil)
	if err != nil {
		return err
	}
	debugf("create %s: init %d started process %d in the joined pid namespace", cr.o.ID, cr.init.pid, pid)
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		killAndReap(pid)
		return fmt.Errorf("pidfd of container process %d: %w", pid, err)
	}
	unix.Close(cr.initPidfd)
	cr.initPidfd = pidfd
	cr.init.pid = pid
	if err := recordInit(cr.st, pid); err != nil {
		return err
	}
	return cr.sendHookState(pid)
}

// sendHookState gives the process that waits for start in a joined pid
// namespace the state its startContainer hooks read, now that the pid in
// it, the one create records, is known. Nobody reads it before start, so
// the pipe must hold it all.
func (cr *creation) sendHookState(pid int) error {
	w := cr.req.hookState
	if w == nil {
		return nil
	}
	defer w.Close()
	st := hookState(&cr.req.config, specs.StateCreated)
	st.Pid = pid
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if len(data) > os.Getpagesize() {
		if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, len(data)); err != nil {
			return fmt.Errorf("pipe for the startContainer hooks' state of %d bytes: %w", len(data), err)
		}
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("send the startContainer hooks' state: %w", err)
	}
	return nil
}

// buildRequest assembles what the spawned init gets: the config, the
// rootfs (or the host rootfs bind), the exec fifo, the terminal, the fds
// of mounts and how it reaches the container's cgroup.
func (cr *creation) buildRequest() error {
	req, cleanup, err := buildCreateRequest(cr.spec, cr.o, cr.lock.Dir(), cr.bundle, cr.rootfsPath)
	cr.closers = append(cr.closers, cleanup)
	if err != nil {
		return err
	}
	cr.req = req
	req.stateRoot = cr.store.Root
	req.config.SeccompFilter = cr.filter
	hostRoot, err := bindHostRootfs(cr.lock, cr.st, cr.spec, cr.o.NoPivot, cr.root)
	if err != nil {
		return err
	}
	if hostRoot != nil {
		cr.closers = append(cr.closers, func() { hostRoot.Close() })
		req.config.HostRootFD = req.addFile(hostRoot)
	} else {
		req.config.RootfsFD = req.addFile(cr.root)
	}
	req.passLog()
	req.config.Unprivileged = os.Geteuid() != 0
	req.cgroupFD = -1
	if err := cr.passCgroupView(); err != nil {
		return err
	}
	if cr.cg == nil {
		return nil
	}
	unified, isUnified := cgroups.Files(cr.cg).(*fs2.Manager)
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
		req.enter = cr.cg
	case newCgroupNS:
		procs, err := unified.OpenProcs()
		if err != nil {
			return err
		}
		cr.closers = append(cr.closers, func() { procs.Close() })
		req.bootstrap.CgroupProcsFD = req.addFile(procs)
	}
	return nil
}

// passCgroupView tells the init which cgroup a "cgroup" mount shows: the
// container's, or for one without a cgroup the caller's, which it shares.
func (cr *creation) passCgroupView() error {
	if cr.cg != nil {
		cr.req.config.CgroupPath = cr.cgLoc.Path
		if v1, ok := cgroups.Files(cr.cg).(*fs.Manager); ok {
			cr.req.config.CgroupV1 = v1.Hierarchies()
		}
		return nil
	}
	own, err := cgroups.Own()
	if err != nil {
		return err
	}
	cr.req.config.CgroupPath = own.Path
	if own.Paths != nil {
		view, err := fs.LoadView(own.Paths)
		if err != nil {
			return err
		}
		cr.req.config.CgroupV1 = view.Hierarchies()
	}
	return nil
}

// configureInit sends the init its config and serves its requests (hooks,
// seccomp listener) until it has set the container up.
func (cr *creation) configureInit() error {
	cr.req.config.HookState = &specs.State{Version: specs.Version, ID: cr.o.ID, Status: specs.StateCreating, Pid: cr.init.pid, Bundle: cr.bundle, Annotations: cr.spec.Annotations}
	if cr.req.bootstrap.SetUpByParent {
		return cr.setUpFromOutside()
	}
	if err := cr.init.conn.SendConfig(&cr.req.config); err != nil {
		return fmt.Errorf("send config to container init: %w", err)
	}
	return cr.c.talkToInit(cr.init, cr.spec, cr.cg, "create")
}

// finalize writes the pid file, marks the state complete and lets the init
// go on to wait for start.
func (cr *creation) finalize() error {
	late := cr.req.config.ExecPidNSFD != 0
	if late {
		if err := cr.takeOverProcess(); err != nil {
			return err
		}
	}
	if cr.req.config.SetupOnly {
		if err := cr.handOver(); err != nil {
			return err
		}
	}
	if cr.o.PidFile != "" {
		if err := WriteFileAtomic(cr.o.PidFile, []byte(fmt.Sprint(cr.init.pid)), 0o644); err != nil {
			return fmt.Errorf("pid file: %w", err)
		}
	}
	cr.st.Complete = true
	if err := cr.lock.Save(cr.st); err != nil {
		return err
	}
	if late {
		return nil // the process was released already and holds no socket
	}
	if err := cr.init.conn.Send(nsenter.KindAck, ""); err != nil {
		return err
	}
	// The init closes its end right after the ack: waiting for that makes
	// what a created init holds the same whenever create has returned
	// (only the fifo and its procfs handles), so nothing of ours lingers.
	cr.init.conn.WaitClosed()
	return nil
}

func (cr *creation) pause(point string) {
	step := createSteps[point]
	if point == "cgroup" && cr.st.NoCgroup {
		step = "no permission to create a cgroup, running without one (--rootless)"
	}
	debugf("create %s: %s", cr.o.ID, step)
	if cr.o.Pause != nil {
		cr.o.Pause(point)
	}
}

// fail rolls back every phase that ran.
func (cr *creation) fail() {
	cr.closeFDs()
	for i := len(cr.undo) - 1; i >= 0; i-- {
		cr.undo[i]()
	}
	cr.releaseInit()
}

// close ends a successful creation: the lock and every fd go.
func (cr *creation) close() {
	cr.closeFDs()
	if cr.lock != nil {
		cr.lock.Unlock()
	}
	cr.releaseInit()
}

func (cr *creation) closeFDs() {
	for i := len(cr.closers) - 1; i >= 0; i-- {
		cr.closers[i]()
	}
	cr.closers = nil
}

func (cr *creation) releaseInit() {
	if cr.initPidfd >= 0 {
		unix.Close(cr.initPidfd)
		cr.initPidfd = -1
	}
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
	fifo, err := sysfile.Open(fifoPath, unix.O_PATH)
	if err != nil {
		return nil, cleanup, fmt.Errorf("open exec fifo: %w", err)
	}
	toClose = append(toClose, fifo)
	req.config.FifoFD = req.addFile(fifo)
	if path := joinedPidNamespace(spec); path != "" {
		owned, err := req.joinPidNamespaceLate(spec, path)
		toClose = append(toClose, owned...)
		if err != nil {
			return nil, cleanup, err
		}
	}

	if spec.Process.Terminal {
		owned, err := req.attachTerminal(o.ConsoleSocket, o.ConsoleConn)
		toClose = append(toClose, owned...)
		if err != nil {
			return nil, cleanup, err
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
	idmapper := rootfs.NewIdmapper(spec)
	defer idmapper.Close()
	for {
		rep, err := init.conn.Recv()
		if errors.Is(err, nsenter.ErrPeerGone) {
			return diedError(init.pid, cg, what)
		}
		if err != nil {
			killAndReap(init.pid)
			return err
		}
		debugf("%s %s: init %d asks for %q", what, c.State.ID, init.pid, rep.Kind)
		if !init.setup && rep.Kind != nsenter.KindNotify && rep.Kind != nsenter.KindReady {
			if rep.File != nil {
				rep.File.Close()
			}
			killAndReap(init.pid)
			return fmt.Errorf("sync: %q from a process that is past its setup", rep.Kind)
		}
		switch rep.Kind {
		case nsenter.KindHooks:
			if err := c.serveCreateHooks(init, spec, cg); err != nil {
				return err
			}
			if err := init.conn.Send(nsenter.KindAck, ""); err != nil {
				return err
			}
		case nsenter.KindNotify:
			if err := c.forwardSeccompListener(init, spec, rep.File); err != nil {
				killAndReap(init.pid)
				return err
			}
		case nsenter.KindMountSource:
			if err := c.sendBindSource(init, spec, rep.Message); err != nil {
				killAndReap(init.pid)
				return err
			}
		case nsenter.KindIdmap:
			if err := idmapForInit(init, idmapper, rep.Message, rep.File); err != nil {
				killAndReap(init.pid)
				return err
			}
		case nsenter.KindConsole:
			init.console = rep.File
		case nsenter.KindReady:
			return init.joinCgroup(cg)
		default:
			killAndReap(init.pid)
			return fmt.Errorf("sync: unexpected %q from container init", rep.Kind)
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
	how := describeEnd(killAndReap(pid))
	if oom := oomKilledError(cg, what, how); oom != nil {
		return oom
	}
	return fmt.Errorf("container process exited unexpectedly during %s (%s)", what, how)
}

// describeEnd says how a process ended: its exit status or signal.
func describeEnd(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + unix.SignalName(ws.Signal())
	}
	return fmt.Sprintf("exit status %d", ws.ExitStatus())
}

// oomKilledError says that a process of the container died to the OOM
// killer during what (how: its end as we saw it), when the cgroup counted
// an OOM kill; else nil.
func oomKilledError(cg cgroups.Manager, what, how string) error {
	if cg == nil {
		return nil
	}
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
	if !init.outside || cg == nil {
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

// serveCreateHooks runs the prestart and createRuntime hooks for an init
// whose mounts are done, with the init in the container's cgroup if a
// hook may look at it. A failure ends the init.
func (c *Container) serveCreateHooks(init *child, spec *specs.Spec, cg cgroups.Manager) error {
	if hasCreateHooks(spec) {
		if err := init.joinCgroup(cg); err != nil {
			return err
		}
	}
	if err := c.runCreateHooks(spec, init.pid); err != nil {
		killAndReap(init.pid)
		return err
	}
	return nil
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

// forwardSeccompListener passes the seccomp listener fd that came from the
// init, with the container's state, to the agent at listenerPath.
func (c *Container) forwardSeccompListener(init *child, spec *specs.Spec, listener *os.File) error {
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
	return append(append([]specs.LinuxDeviceCgroup{}, rules...), devices.DefaultAllowedDevices()...)
}
