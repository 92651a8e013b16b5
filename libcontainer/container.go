package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/internal/quickjson"
	"github.com/oci-rt/oci-rt/internal/sysfile"
	"github.com/oci-rt/oci-rt/nsenter"
)

// Container is a loaded container: its recorded state and where it lives.
type Container struct {
	store *Store
	State *State
	// recorded is the part of the recorded config the lifecycle reads,
	// once: the file never changes after create, and one command checks
	// the init and the cgroup several times.
	recorded *recordedConfig
	// processSpec is ProcessSpec's decode, once: exec given its command
	// on the command line builds the process from it and then execs with
	// it, one command reading one file.
	processSpec *specs.Spec
	// cgroup is the container's cgroup once verifiedCgroup has proved it
	// the container's. The proof holds for the rest of the command: the
	// cgroup directories are root's, and every command that removes or
	// changes them holds the container's lock, as this one does when it
	// acts on them.
	cgroup cgroups.Manager
}

// recordedConfig is what the lifecycle commands (state, start, kill,
// delete) need of the config recorded at create: where it places the
// cgroup, the process's program and the hooks. Decoding only that spares
// them encoding/json's analysis of the whole specs.Spec type, which costs
// each of them more CPU time and heap than the rest of a `state`.
type recordedConfig struct {
	Process *recordedProcess `json:"process"`
	Hooks   *specs.Hooks     `json:"hooks"`
	Linux   *recordedLinux   `json:"linux"`
}

type recordedProcess struct {
	Args     []string `json:"args"`
	Terminal bool     `json:"terminal"`
}

type recordedLinux struct {
	CgroupsPath string `json:"cgroupsPath"`
}

// program is the config's process's executable as it names it.
func (r *recordedConfig) program() string {
	if r.Process == nil || len(r.Process.Args) == 0 {
		return ""
	}
	return r.Process.Args[0]
}

// hooks is the config's hooks, empty where it has none.
func (r *recordedConfig) hooks() specs.Hooks {
	if r.Hooks == nil {
		return specs.Hooks{}
	}
	return *r.Hooks
}

// Load reads a container's state.
func Load(store *Store, id string) (*Container, error) {
	st, err := store.Load(id)
	if err != nil {
		return nil, err
	}
	return &Container{store: store, State: st}, nil
}

// ID is the container's ID.
func (c *Container) ID() string { return c.State.ID }

// Spec returns the config recorded at create.
func (c *Container) Spec() (*specs.Spec, error) {
	var spec specs.Spec
	if err := c.decodeConfig(&spec); err != nil {
		return nil, err
	}
	return &spec, nil
}

// Terminal tells whether the recorded config gives the process a
// terminal: all a foreground run needs to know of it, read with the part
// of the config the lifecycle reads anyway.
func (c *Container) Terminal() (bool, error) {
	config, err := c.config()
	if err != nil {
		return false, err
	}
	return config.Process != nil && config.Process.Terminal, nil
}

// ProcessSpec is the recorded config without what only create and update
// read (the cgroup resources and other platforms' sections): what exec
// needs, decoded without building the left-out parts (see initSpec). It
// is decoded once per Container and shared: a caller that changes it
// (exec replaces the process) changes it for the next.
func (c *Container) ProcessSpec() (*specs.Spec, error) {
	if c.processSpec == nil {
		var w initSpec
		if err := c.decodeConfig(&w); err != nil {
			return nil, err
		}
		c.processSpec = w.spec()
		if c.recorded == nil {
			// The lifecycle's part of the same config, taken before any
			// caller changes the spec: a second decode, of another type,
			// would read and parse the file again.
			c.recorded = recordedPart(c.processSpec)
		}
	}
	return c.processSpec, nil
}

// recordedPart is the part of spec the lifecycle reads, as config decodes
// it from the same file.
func recordedPart(spec *specs.Spec) *recordedConfig {
	r := &recordedConfig{}
	if p := spec.Process; p != nil {
		r.Process = &recordedProcess{Args: slices.Clone(p.Args), Terminal: p.Terminal}
	}
	if spec.Hooks != nil {
		hooks := *spec.Hooks
		r.Hooks = &hooks
	}
	if spec.Linux != nil {
		r.Linux = &recordedLinux{CgroupsPath: spec.Linux.CgroupsPath}
	}
	return r
}

// config returns the part of the recorded config the lifecycle reads.
func (c *Container) config() (*recordedConfig, error) {
	if c.recorded == nil {
		var r recordedConfig
		if err := c.decodeConfig(&r); err != nil {
			return nil, err
		}
		c.recorded = &r
	}
	return c.recorded, nil
}

// decodeConfig reads the config recorded at create into v.
func (c *Container) decodeConfig(v any) error {
	data, err := c.store.LoadSpecBytes(c.State.ID)
	if err != nil {
		return fmt.Errorf("read config of %s: %w", c.State.ID, err)
	}
	if err := quickjson.Unmarshal(data, v); err != nil {
		return fmt.Errorf("config of %s is corrupt: %w", c.State.ID, err)
	}
	return nil
}

// initAlive reports whether the recorded init still runs: a process at
// its pid that is not the init (see openInit) means the init is gone.
func (c *Container) initAlive() bool {
	pidfd, err := c.openInit()
	if err != nil {
		return false
	}
	unix.Close(pidfd)
	return true
}

// Status derives the container's status from the world, not from what was
// last written: the init may have exited or been frozen since.
func (c *Container) Status() string { return c.statusGiven(c.initAlive()) }

// statusGiven is Status for a caller that has just looked at the init.
func (c *Container) statusGiven(initAlive bool) string {
	if !c.State.Complete {
		if initAlive {
			return StatusCreating
		}
		return StatusStopped
	}
	if !initAlive {
		return StatusStopped
	}
	if m := c.cgroupOrNil(); m != nil {
		if frozen, err := m.Frozen(); err == nil && frozen {
			return StatusPaused
		}
	}
	if _, err := os.Lstat(filepath.Join(c.store.dir(c.State.ID), fifoName)); err == nil {
		return StatusCreated
	}
	return StatusRunning
}

// Pid is the init's pid while it runs, else 0.
func (c *Container) Pid() int {
	if c.initAlive() {
		return c.State.InitPid
	}
	return 0
}

// SpecState is the runtime-spec state, as hooks receive it.
func (c *Container) SpecState() *specs.State {
	// Every status but stopped means the init is alive: one look at /proc
	// gives both fields, and they cannot disagree.
	status := c.Status()
	pid := c.State.InitPid
	if status == StatusStopped {
		pid = 0
	}
	return &specs.State{
		Version:     specs.Version,
		ID:          c.State.ID,
		Status:      specs.ContainerState(status),
		Pid:         pid,
		Bundle:      c.State.Bundle,
		Annotations: c.State.Annotations,
	}
}

// cgroupOrNil is the container's cgroup, or nil when it is gone or not
// provably the container's.
func (c *Container) cgroupOrNil() cgroups.Manager {
	m, err := c.verifiedCgroup()
	if err != nil {
		return nil
	}
	return m
}

// Start releases a created container's init to exec the process, then runs
// the poststart hooks. It returns once the process runs (or failed to).
func (c *Container) Start() error {
	lock, err := c.store.Lock(c.State.ID)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	// The look at the init that opens the pidfd also tells the status.
	pidfd, errInit := c.openInit()
	if errInit == nil {
		defer unix.Close(pidfd)
	}
	if err := c.allowGiven(OpStart, errInit == nil); err != nil {
		return err
	}
	config, err := c.config()
	if err != nil {
		return err
	}
	hooks := config.hooks()
	fifoPath := filepath.Join(lock.Dir(), fifoName)
	debugf("start %s: releasing init %d through the exec fifo", c.State.ID, c.State.InitPid)
	if err := waitExec(fifoPath, pidfd, config.program(), hooks.StartContainer); err != nil {
		return err
	}
	debugf("start %s: the process runs", c.State.ID)
	if err := os.Remove(fifoPath); err != nil {
		return fmt.Errorf("remove exec fifo: %w", err)
	}
	if len(hooks.Poststart) > 0 {
		// The hooks learn of the start that just happened: the process
		// runs, even if a short-lived one has already exited by now
		// (program hooks_stdin).
		state := c.SpecState()
		state.Status, state.Pid = specs.StateRunning, c.State.InitPid
		if err := runHooks("poststart", hooks.Poststart, state); err != nil {
			// Spec 1.3: a failed poststart hook fails start and stops the
			// container.
			_ = c.signalLocked(unix.SIGKILL, true)
			return err
		}
	}
	return nil
}

// waitExec opens the exec fifo, which lets the blocked init go on, and
// waits for the outcome: the init (pidfd) closes its end at a successful
// execve, or reports why it failed (nsenter.ReadReport): in words from
// the Go init, or, from a process that runs no Go (see
// nsenter.SpawnWait), about the config's program or its
// startContainer hooks.
func waitExec(fifoPath string, pidfd int, program string, startContainer []specs.Hook) error {
	fd, err := unix.Open(fifoPath, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer unix.Close(fd)
	rep, err := nsenter.ReadReport(fd, pidfd)
	if err != nil || rep == nil {
		return err
	}
	switch rep.Kind {
	case nsenter.KindSpawnError:
		return rep.SpawnError(program)
	case nsenter.KindHookError:
		return hookReportError("startContainer", startContainer, rep)
	}
	return rep.Err()
}

// Signal sends sig to the init, or with all to every process in the
// container's cgroup.
func (c *Container) Signal(sig unix.Signal, all bool) error {
	lock, err := c.store.Lock(c.State.ID)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	return c.signalLocked(sig, all)
}

// Only what proves to be the container's is signalled: its verified
// cgroup, or its init.
func (c *Container) signalLocked(sig unix.Signal, all bool) error {
	debugf("kill %s: signal %d, all %v", c.State.ID, sig, all)
	if all {
		m, err := c.verifiedCgroup()
		if err == nil {
			return signalCgroup(m, sig)
		}
		if !errors.Is(err, errNoCgroup) {
			return err
		}
	}
	pidfd, err := c.openInit()
	if errors.Is(err, ErrNotRunning) {
		// No init, no container: it has stopped, whatever else the
		// state might say.
		op := OpKill
		if all {
			op = OpKillAll
		}
		return allowedIn(op, c.State.ID, StatusStopped)
	}
	if err != nil {
		return err
	}
	defer unix.Close(pidfd)
	if err := unix.PidfdSendSignal(pidfd, sig, nil, 0); err != nil {
		return fmt.Errorf("signal container init: %w", err)
	}
	return nil
}

// signalCgroup signals every process in the cgroup; SIGKILL goes through
// cgroup.kill so that nothing escapes by forking.
func signalCgroup(m cgroups.Manager, sig unix.Signal) error {
	if sig == unix.SIGKILL {
		return m.Kill()
	}
	pids, err := m.Pids()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signal %d: %w", pid, err)
		}
	}
	return nil
}

// Delete removes the container. Without force only a stopped or created
// container may go; with force a running or paused one is killed first.
// Every step is tried even when an earlier one failed, so that a partly
// created container is cleaned as far as possible.
func Delete(store *Store, id string, force bool) error {
	return deleteContainer(store, id, force, nil)
}

// Delete is Delete for the container c names, by a caller that holds c
// since it created or loaded it: the part of the config c has read
// serves again, unless the state now records another container of that
// ID (created since, at another time, with another cgroup mark).
func (c *Container) Delete(force bool) error {
	return deleteContainer(c.store, c.State.ID, force, c)
}

func deleteContainer(store *Store, id string, force bool, known *Container) error {
	lock, err := store.Lock(id)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	st, err := store.Load(id)
	if err != nil {
		if !force || errors.Is(err, errUntrusted) {
			return err
		}
		// A runtime killed before its first state write leaves an empty
		// directory: nothing else of the container exists yet.
		return lock.Remove()
	}
	c := &Container{store: store, State: st}
	if known != nil && known.State.Created.Equal(st.Created) && known.State.CgroupMark == st.CgroupMark {
		// Still the container this command created or started (a
		// foreground run deleting its own): what it decoded and the
		// cgroup it proved the container's hold. A cgroup removed
		// meanwhile by a delete cut short is found gone all the same.
		c.recorded, c.cgroup = known.recorded, known.cgroup
	}
	status := c.Status()
	op := OpDelete
	if force {
		op = OpDeleteForce
	}
	debugf("%s %s: container is %s", op, id, status)
	if err := allowedIn(op, id, status); err != nil {
		return err
	}
	var errs []error
	if pidfd, err := c.openInit(); err == nil {
		// Before the namespace dies with the init, which would destroy a
		// virtual device rather than return it.
		if err := returnNetDevices(st, pidfd); err != nil {
			errs = append(errs, err)
		}
		unix.Close(pidfd)
	}
	cg, err := c.verifiedCgroup()
	switch {
	case err == nil:
		if err := cg.Kill(); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	case errors.Is(err, errNoCgroup):
	default:
		// The init is the container's only if it is in that cgroup.
		errs = append(errs, err)
	}
	if cg != nil || errors.Is(err, errNoCgroup) {
		// Whatever the cgroup kill has not ended yet (the init in the
		// host's pid namespace) is killed directly.
		if pidfd, err := c.openInit(); err == nil {
			_ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
			waitPidfd(pidfd, 5*time.Second)
			unix.Close(pidfd)
		} else if errors.Is(err, errInitInSetup) {
			c.waitInitInSetup()
		} else if !errors.Is(err, ErrNotRunning) {
			errs = append(errs, err)
		}
	}
	if cg != nil {
		if err := cg.Destroy(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.unmountHostRootfs(); err != nil {
		errs = append(errs, err)
	}
	if err := removeIntelRdt(st); err != nil {
		errs = append(errs, err)
	}
	if st.Complete {
		if config, err := c.config(); err == nil && config.Hooks != nil {
			state := c.SpecState()
			state.Status = specs.StateStopped
			runAllHooks("poststop", config.Hooks.Poststop, state)
		}
	}
	if err := lock.Remove(); err != nil {
		errs = append(errs, err)
	}
	debugf("delete %s: done", id)
	return errors.Join(errs...)
}

func waitPidfd(pidfd int, timeout time.Duration) {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	_, _ = unix.Poll(fds, int(timeout.Milliseconds()))
}

// procStat returns a process's start time (field 22 of /proc/PID/stat) and
// state letter.
func procStat(pid int) (uint64, byte, error) {
	data, err := sysfile.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat: %w", pid, err)
	}
	return start, fields[0][0], nil
}

// ownerName is the state's owner field: the user name of the caller.
func ownerName() string {
	uid := strconv.Itoa(CallerUID())
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return uid
}
