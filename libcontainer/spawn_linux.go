package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/cgroups/fs"
	"github.com/oci-rt/oci-rt/internal/sysfile"
	"github.com/oci-rt/oci-rt/nsenter"
)

// initConfig is everything the container's init (or an exec'd process)
// needs from the parent, sent as one JSON frame once the namespace stage is
// done. The parent has resolved and validated all of it.
type initConfig struct {
	// Header makes the config a message of the protocol (nsenter.KindConfig).
	nsenter.Header
	// Spec is the container's config; for exec, Spec.Process is the exec'd
	// process. It travels as an initSpec (see initspec_linux.go).
	Spec    *specs.Spec `json:"-"`
	ID      string      `json:"id"`
	Bundle  string      `json:"bundle"`
	Rootfs  string      `json:"rootfs"` // absolute, symlinks resolved
	NoPivot bool        `json:"noPivot,omitempty"`
	// Unprivileged: the runtime has no rights beyond the caller's, so it
	// may not look into the init's mount namespace (the init is not
	// dumpable) and could open no bind source the init cannot: the init
	// opens them itself.
	Unprivileged bool   `json:"unprivileged,omitempty"`
	CgroupPath   string `json:"cgroupPath,omitempty"` // within the unified hierarchy
	// CgroupV1 are the container's v1 hierarchies, for a "cgroup" mount
	// on a host that has them.
	CgroupV1     []cgroups.MountedHierarchy `json:"cgroupV1,omitempty"`
	NoNewKeyring bool                       `json:"noNewKeyring,omitempty"`
	Exec         bool                       `json:"exec,omitempty"`
	// PreserveFDs is how many fds from 3 up go to the process unchanged.
	PreserveFDs int `json:"preserveFds,omitempty"`
	// The runtime's own fds in the init, numbered after the preserved ones.
	FifoFD          int `json:"fifoFd,omitempty"`          // O_PATH fd of the exec fifo (create)
	ConsoleSocketFD int `json:"consoleSocketFd,omitempty"` // connected console socket, or 0
	// RootfsFD is the rootfs as create opened and validated it, for a
	// container with a mount namespace of its own (create only).
	RootfsFD int `json:"rootfsFd,omitempty"`
	// HostRootFD is set when the container shares the runtime's mount
	// namespace: for create the rootfs bind the parent made, for exec the
	// init's root; either way the process chroots into it.
	HostRootFD int `json:"hostRootFd,omitempty"`
	// ExecPidNSFD is the container's pid namespace, which an exec init,
	// or the init of a container that joins an existing pid namespace,
	// joins for its child only, at the end of its setup, or 0.
	ExecPidNSFD int `json:"execPidNsFd,omitempty"`
	// ProcfsFD is the runtime's procfs (O_PATH), where an init that is
	// not in the container's pid namespace, which the container's procfs
	// shows, finds its own entries; or 0.
	ProcfsFD int `json:"procfsFd,omitempty"`
	// SeccompFilter is the process's seccomp filter as create compiled it
	// (see seccomp.UnmarshalFilter), or empty for none: no init compiles
	// the profile.
	SeccompFilter []byte `json:"seccompFilter,omitempty"`
	// ProcContextFDs are procfs contexts of the joined pid namespace for
	// the config's proc mounts (see joinPidNamespaceLate).
	ProcContextFDs []int `json:"procContextFds,omitempty"`
	// FifoProcfsFD is one more such context, for the procfs through which
	// the process started there reopens the exec fifo.
	FifoProcfsFD int `json:"fifoProcfsFd,omitempty"`
	// SetupOnly: the init of a container with a user namespace of its own
	// that joins an existing pid namespace. It sets the container up
	// outside that namespace and exits once create has started the
	// container's process in it (see joinerBootstrap).
	SetupOnly bool `json:"setupOnly,omitempty"`
	// Joiner: this process was born in the container's namespaces, its
	// pid namespace included, and only becomes the container's (or the
	// exec'd) process there (see joinerBootstrap).
	Joiner bool `json:"joiner,omitempty"`
	// HookStateFD is the read end of a pipe on which create sends the
	// state for the startContainer hooks of a process started in a
	// joined pid namespace, once it knows that process's pid (see
	// joinPidNamespaceLate); or 0.
	HookStateFD int `json:"hookStateFd,omitempty"`
	// HookState is the state the createContainer and startContainer hooks
	// get on stdin (their status is set when they run).
	HookState *specs.State `json:"hookState,omitempty"`
	// LogFD, with --debug, is where the init writes its debug records:
	// the runtime's own log (closed at execve like the runtime's other
	// fds).
	LogFD   int  `json:"logFd,omitempty"`
	LogJSON bool `json:"logJson,omitempty"`
	// role names the init's role in its debug records (initRole).
	role string
}

// spawnRequest describes a process to start through the namespace stage.
type spawnRequest struct {
	bootstrap nsenter.Bootstrap
	config    initConfig
	// preserved are the caller's fds 3… that keep their numbers.
	preserved []*os.File
	// files are the runtime's fds for init, placed after the preserved
	// ones; their numbers are filled into config by addFile.
	files    []*os.File
	stdio    [3]*os.File
	cgroupFD int // CLONE_INTO_CGROUP target, or -1 to start in our own cgroup
	// enter, when set, is a cgroup the process is moved into as soon as
	// it exists, before the namespace stage does anything (cgroup v1,
	// which has no CLONE_INTO_CGROUP).
	enter cgroups.Manager
	// cgroupJoins are the "tasks" files of the container's v1 cgroups,
	// as fds in the init, which the process writes 0 into (create's plan,
	// exec's stage): it joins by itself, and the runtime does not move it
	// (see fs.Manager.OpenForSelfJoin).
	cgroupJoins []nsenter.CgroupTasks
	// hookState is the write end of HookStateFD's pipe.
	hookState *os.File
	// pidNS is the pid namespace the container joins, for the process
	// create starts there for a SetupOnly init.
	pidNS *os.File
	// uidMap and gidMap are written when the stage creates a user namespace.
	uidMap, gidMap []specs.LinuxIDMapping
	// stateRoot is the runtime's state root: the overlay that protects the
	// binary the process starts as stacks it under the binary's directory
	// (see openSelfOnOverlay).
	stateRoot string
}

// addFile queues f for the init and returns the fd number it will have.
func (r *spawnRequest) addFile(f *os.File) int {
	r.files = append(r.files, f)
	return 3 + len(r.preserved) + len(r.files) - 1
}

// firstFreeFD is the lowest fd number the process does not get from us,
// for a plan to put what it makes itself: past its files and the sync
// socket, which spawn adds last. Only for a plan built before spawn.
func (r *spawnRequest) firstFreeFD() int {
	return 3 + len(r.preserved) + len(r.files) + 1
}

// fileAt is the file addFile numbered fd.
func (r *spawnRequest) fileAt(fd int) *os.File {
	return r.files[fd-3-len(r.preserved)]
}

// preserve hands the caller's fds 3 … 3+n-1 to the process unchanged.
func (r *spawnRequest) preserve(n int) {
	for fd := 3; fd < 3+n; fd++ {
		r.preserved = append(r.preserved, os.NewFile(uintptr(fd), fmt.Sprintf("preserved-%d", fd)))
	}
}

// attachTerminal gives the process a console: its stdio becomes /dev/null
// (it must not inherit ours, it talks to its terminal only), and init gets
// the console socket at socketPath, or conn, the caller's own socket pair,
// to send the pty master over. The returned files are the parent's copies,
// to close once the process is spawned.
func (r *spawnRequest) attachTerminal(socketPath string, conn *os.File) ([]*os.File, error) {
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	r.stdio = [3]*os.File{devNull, devNull, devNull}
	owned := []*os.File{devNull}
	if socketPath != "" {
		if conn, err = dialConsoleSocket(socketPath); err != nil {
			return owned, err
		}
		owned = append(owned, conn)
	}
	r.config.ConsoleSocketFD = r.addFile(conn)
	return owned, nil
}

// child is a started init or exec process.
type child struct {
	pid  int
	conn *nsenter.Conn
	// outside: the init runs in the runtime's own cgroup until it must
	// join the container's (see joinCgroup).
	outside bool
	// setup: the process is create's init, which may ask for what only
	// the setup needs (hooks, bind sources, idmapped mounts, handing
	// over its terminal). A process others can see may not.
	setup bool
	// console is the pty slave a SetupOnly init handed over.
	console *os.File
}

// joinCgroupItself lets a process that runs a plan (no Go, so one thread)
// join cg by itself where cg is the v1 driver's: it writes 0 into each v1
// hierarchy's "tasks" file (a plan step each, see planCgroupJoins, or its
// stage, see joinCgroupsInStage), and on
// a hybrid host the process is born in the unified hierarchy's cgroup;
// the runtime moving it would take a lock of the whole machine (see
// fs.Manager.OpenForSelfJoin). The unified hierarchy of a hybrid host
// has no memory controller (the v1 one has it), so being born there
// charges none of the process's setup to the container; a host that
// left memory to it keeps the move after the setup. It returns the
// files, for the caller to close once the process is spawned.
// The systemd driver is left alone: it starts its unit with the first
// process; so is a rootless container's cgroup, whose moves may fail.
func (r *spawnRequest) joinCgroupItself(cg cgroups.Manager) ([]*os.File, error) {
	v1, ok := cg.(*fs.Manager)
	if !ok || v1.Rootless() {
		return nil, nil
	}
	tasks, unified, err := v1.OpenForSelfJoin()
	if err != nil {
		return nil, err
	}
	files := make([]*os.File, 0, len(tasks)+1)
	for _, j := range tasks {
		files = append(files, j.Tasks)
	}
	if unified != nil {
		files = append(files, unified)
		if hasMemoryController(unified) {
			for _, f := range files {
				f.Close()
			}
			return nil, nil
		}
		r.cgroupFD = int(unified.Fd())
	}
	for _, j := range tasks {
		r.cgroupJoins = append(r.cgroupJoins, nsenter.CgroupTasks{FD: r.addFile(j.Tasks), Hierarchy: j.Hierarchy})
	}
	return files, nil
}

// planCgroupJoins adds the steps that join the cgroup by itself (see
// joinCgroupItself), if any, to plan: the files the runtime opened, which
// a process in a user namespace of the container's may write but not
// open, each closed once written.
func (r *spawnRequest) planCgroupJoins(plan *nsenter.Plan) {
	for _, j := range r.cgroupJoins {
		plan.WriteAndClose(j.FD, "0", "join the container's cgroup in the "+j.Hierarchy+" hierarchy")
	}
}

// joinCgroupsInStage has the stage join the cgroup by itself (see
// joinCgroupItself) before it joins any namespace, where exec's plan
// would join it only after, in a pid namespace whose other processes
// could take the files from it meanwhile. what names the operation in
// the debug log ("exec ID").
func (r *spawnRequest) joinCgroupsInStage(what string) {
	r.bootstrap.JoinCgroups = r.cgroupJoins
	for _, j := range r.cgroupJoins {
		debugf("%s: its stage will join the container's cgroup in the %s hierarchy first", what, j.Hierarchy)
	}
}

// hasMemoryController tells whether the cgroup v2 directory dir has the
// memory controller, or cannot say.
func hasMemoryController(dir *os.File) bool {
	list, err := sysfile.ReadFileAt(int(dir.Fd()), "cgroup.controllers")
	return err != nil || slices.Contains(strings.Fields(string(list)), "memory")
}

// startsInContainerCgroup: the process is born in the container's cgroup
// (v2) or moved there before its Go runtime starts (v1).
func (r *spawnRequest) startsInContainerCgroup() bool {
	return r.cgroupFD >= 0 || r.enter != nil
}

// movedByRuntime: the runtime moves the process into the container's
// cgroup once it is set up (see joinCgroup).
func (r *spawnRequest) movedByRuntime() bool {
	return !r.startsInContainerCgroup() && len(r.cgroupJoins) == 0
}

// spawn starts the namespace stage, answers its requests and sends the init
// config. It returns once the process that goes on into Go is known.
func spawn(r *spawnRequest, argv0 string) (*child, error) {
	// Fds our caller left open without close-on-exec would pass through
	// exec into the init and sit there until its execve (a host directory
	// among them is the CVE-2024-21626 way out). Only what the request
	// lists goes: os/exec hands ExtraFiles over with the flag cleared.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return nil, fmt.Errorf("mark inherited fds close-on-exec: %w", err)
	}
	self, err := openSealedSelf(r.stateRoot)
	if err != nil {
		return nil, err
	}
	defer self.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sync socket: %w", err)
	}
	// Our end waits through the runtime's poller: blocked in a read
	// system call while the stage works, the goroutine would hold the
	// one P, which the runtime's monitor thread hands to another thread
	// after 20 µs and keeps checking on meanwhile.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, fmt.Errorf("sync socket: %w", err)
	}
	parentSock := os.NewFile(uintptr(fds[0]), "sync")
	childSock := os.NewFile(uintptr(fds[1]), "sync")
	syncFD := r.addFile(childSock)
	// Every process the runtime starts gets its oom_score_adj from its
	// stage, on every route (see nsenter.Bootstrap.OOMScoreAdj).
	if spec := r.config.Spec; spec != nil && spec.Process != nil {
		r.bootstrap.OOMScoreAdj = spec.Process.OOMScoreAdj
	}

	extraFiles := append(append([]*os.File{}, r.preserved...), r.files...)
	path, selfFD, err := execPathAboveShuffle(self, r.stdio[:], extraFiles)
	if err != nil {
		parentSock.Close()
		childSock.Close()
		return nil, err
	}
	defer unix.Close(selfFD)
	// The init runs on one locked thread: one P keeps the Go runtime from
	// starting threads it never needs, which would count against the
	// container's pids and memory limits. Its runtime files one allocation
	// in the heap profile while it starts, before main can turn sampling
	// off (the stack walk and the profile's hash table cost some 70 page
	// faults): only the environment reaches it that early.
	env := []string{nsenter.SyncFDEnv + "=" + strconv.Itoa(syncFD), "GOMAXPROCS=1", "GODEBUG=memprofilerate=0"}
	stagePid, err := startStage(path, []string{argv0, "init"}, env, r.stdio, extraFiles, r.cgroupFD)
	// Only the child may hold its end: a stage or init that dies before it
	// answers (killed while frozen by a paused container's delete, OOM
	// killed) must read as EOF here, not leave us waiting forever.
	childSock.Close()
	if err != nil {
		parentSock.Close()
		return nil, fmt.Errorf("start container init: %w", err)
	}
	conn := nsenter.NewConn(parentSock)
	if r.enter != nil {
		if err := r.enter.Enter(stagePid); err != nil {
			parentSock.Close()
			killAndReap(stagePid)
			return nil, fmt.Errorf("move container process into its cgroup: %w", err)
		}
	}
	pid, err := runStage(conn, stagePid, r)
	if err != nil {
		parentSock.Close()
		killAndReap(stagePid)
		return nil, err
	}
	if pid != stagePid {
		// The stage forked the init with CLONE_PARENT and exits.
		if err := reapStage(stagePid); err != nil {
			killAndReap(pid)
			parentSock.Close()
			return nil, fmt.Errorf("namespace stage: %w", err)
		}
	}
	c := &child{pid: pid, conn: conn, outside: r.movedByRuntime()}
	if r.bootstrap.CgroupProcsFD != 0 {
		// The stage entered the container's cgroup for its cgroup
		// namespace. Where the move out fails the init stays there:
		// correct, only its setup counts against the container's limits.
		c.outside = cgroups.MoveToOwn(pid) == nil
		if err := conn.Send(nsenter.KindAck, ""); err != nil {
			killAndReap(pid)
			parentSock.Close()
			return nil, fmt.Errorf("release container init: %w", err)
		}
	}
	return c, nil
}

// execPathAboveShuffle returns the path by which a child given stdio
// and files (its fds 0, 1, 2, 3, …) execs binary, and the fd behind that
// path, which the caller closes once the child has started. Between fork
// and execve os/exec first parks its status pipe and every file that
// would be overwritten on numbers above the highest of theirs and of the
// count, then dups the files onto 3, 4, …: the parent's own number for
// binary, when it falls in either range (a low number is free again
// whenever an earlier file has been closed), names another file by the
// time of the execve, which then fails with EACCES. A duplicate above
// both ranges, with room for the few fds os/exec still opens, is out of
// their reach; being close-on-exec, it is gone once the child runs, so
// the init holds no handle on the binary.
func execPathAboveShuffle(binary *os.File, stdio, files []*os.File) (string, int, error) {
	count, highest := 3+len(files), 0
	for _, f := range append(append([]*os.File{}, stdio...), files...) {
		if f != nil {
			highest = max(highest, int(f.Fd()))
		}
	}
	fd, err := unix.FcntlInt(binary.Fd(), unix.F_DUPFD_CLOEXEC, max(highest, count)+2*count+16)
	if err != nil {
		return "", -1, fmt.Errorf("place the runtime binary's fd: %w", err)
	}
	return fmt.Sprintf("/proc/self/fd/%d", fd), fd, nil
}

// startStage starts the runtime binary at path as the namespace stage and
// returns its pid. os/exec would cost every spawn a throw-away child: the
// first os.StartProcess of a process clones one to probe for
// CLONE_PIDFD. The stage is our child and reaped only by us, so its pid
// cannot be reused before reapStage or killAndReap. A missing stdio file
// is /dev/null, as with os/exec.
func startStage(path string, argv, env []string, stdio [3]*os.File, files []*os.File, cgroupFD int) (int, error) {
	fds := make([]uintptr, 0, 3+len(files))
	for _, f := range stdio {
		if f == nil {
			devNull, err := os.OpenFile(os.DevNull, os.O_RDWR|unix.O_CLOEXEC, 0)
			if err != nil {
				return 0, err
			}
			defer devNull.Close()
			f = devNull
		}
		fds = append(fds, f.Fd())
	}
	for _, f := range files {
		fds = append(fds, f.Fd())
	}
	attr := &syscall.ProcAttr{Env: env, Files: fds}
	if cgroupFD >= 0 {
		attr.Sys = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cgroupFD}
	}
	var pid int
	err := nsenter.StartChild(func() (err error) {
		pid, err = syscall.ForkExec(path, argv, attr)
		return err
	})
	// The files must not be finalized (and their numbers reused) before
	// the child has its copies.
	runtime.KeepAlive(stdio)
	runtime.KeepAlive(files)
	return pid, err
}

// reapStage waits for the stage to exit and says how it ended, nil for
// exit status 0.
func reapStage(pid int) error {
	ws, err := waitPid(pid)
	if err != nil {
		return fmt.Errorf("wait for pid %d: %w", pid, err)
	}
	if ws.Exited() && ws.ExitStatus() == 0 {
		return nil
	}
	return errors.New(describeEnd(ws))
}

// runStage drives the namespace stage's protocol up to the pid message.
func runStage(conn *nsenter.Conn, stagePid int, r *spawnRequest) (int, error) {
	if err := conn.SendBootstrap(&r.bootstrap); err != nil {
		if errors.Is(err, unix.EPIPE) {
			return 0, fmt.Errorf("container process exited before namespace setup: %w", reapStage(stagePid))
		}
		return 0, fmt.Errorf("send bootstrap: %w", err)
	}
	for {
		rep, err := conn.Recv()
		if errors.Is(err, nsenter.ErrPeerGone) {
			return 0, fmt.Errorf("container init exited during namespace setup: %w", reapStage(stagePid))
		}
		if err != nil {
			return 0, err
		}
		switch rep.Kind {
		case nsenter.KindUsermap:
			if err := writeIDMaps(rep.Pid, r.uidMap, r.gidMap); err != nil {
				return 0, err
			}
			if err := conn.Send(nsenter.KindAck, ""); err != nil {
				return 0, err
			}
		case nsenter.KindPid:
			return rep.Pid, nil
		default:
			return 0, fmt.Errorf("sync: unexpected %q from the namespace stage", rep.Kind)
		}
	}
}

// writeIDMaps writes a new user namespace's maps from the parent user
// namespace, which is the only place they can be written from. Without
// privileges the kernel accepts only a map of the caller's own id; any
// other goes through the setuid newuidmap and newgidmap (the uidmap
// package), which grant the ranges /etc/subuid and /etc/subgid give the
// user.
func writeIDMaps(pid int, uidMap, gidMap []specs.LinuxIDMapping) error {
	if os.Geteuid() == 0 {
		if err := writeIDMap(pid, "uid_map", uidMap); err != nil {
			return err
		}
		return writeIDMap(pid, "gid_map", gidMap)
	}
	if mapsOnly(uidMap, os.Geteuid()) {
		if err := writeIDMap(pid, "uid_map", uidMap); err != nil {
			return err
		}
	} else if err := runIDMapHelper("newuidmap", pid, uidMap); err != nil {
		return err
	}
	if !mapsOnly(gidMap, os.Getegid()) {
		return runIDMapHelper("newgidmap", pid, gidMap)
	}
	// Without CAP_SETGID in the parent namespace the kernel only accepts
	// a gid map once setgroups is denied.
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/setgroups", pid), []byte("deny"), 0); err != nil {
		return fmt.Errorf("deny setgroups: %w", err)
	}
	return writeIDMap(pid, "gid_map", gidMap)
}

// mapsOnly: m maps exactly one id, the host's id.
func mapsOnly(m []specs.LinuxIDMapping, id int) bool {
	return len(m) == 1 && m[0].Size == 1 && m[0].HostID == uint32(id)
}

func writeIDMap(pid int, file string, m []specs.LinuxIDMapping) error {
	var b strings.Builder
	for _, r := range m {
		fmt.Fprintf(&b, "%d %d %d\n", r.ContainerID, r.HostID, r.Size)
	}
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/%s", pid, file), []byte(b.String()), 0); err != nil {
		return fmt.Errorf("write %s: %w", strings.ReplaceAll(file, "_", " "), err)
	}
	return nil
}

// runIDMapHelper writes pid's map m through helper (newuidmap or
// newgidmap), which checks m against the caller's subordinate ids.
func runIDMapHelper(helper string, pid int, m []specs.LinuxIDMapping) error {
	path, err := exec.LookPath(helper)
	if err != nil {
		return fmt.Errorf("an unprivileged user's map of ids other than its own needs %s (package uidmap): %w", helper, err)
	}
	args := []string{strconv.Itoa(pid)}
	for _, r := range m {
		args = append(args, strconv.FormatUint(uint64(r.ContainerID), 10), strconv.FormatUint(uint64(r.HostID), 10), strconv.FormatUint(uint64(r.Size), 10))
	}
	cmd := exec.Command(path, args...)
	cmd.Env = []string{}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := nsenter.RunChild(cmd); err != nil {
		return fmt.Errorf("%s %s: %w: %s", helper, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// killAndReap ends a child that the runtime gave up on and returns how it
// ended (it may have exited on its own first).
func killAndReap(pid int) unix.WaitStatus {
	_ = unix.Kill(pid, unix.SIGKILL)
	ws, _ := waitPid(pid)
	return ws
}

// waitPid waits for the child pid to end, again when a signal cuts the
// wait short, and returns how it ended.
func waitPid(pid int) (unix.WaitStatus, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if !errors.Is(err, unix.EINTR) {
			return ws, err
		}
	}
}

// namespaceFlags maps spec namespace types to clone flags.
var namespaceFlags = map[specs.LinuxNamespaceType]uint32{
	specs.PIDNamespace:     unix.CLONE_NEWPID,
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.UserNamespace:    unix.CLONE_NEWUSER,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
	specs.TimeNamespace:    unix.CLONE_NEWTIME,
}

// createBootstrap turns the spec's namespaces into the stage's bootstrap.
func createBootstrap(spec *specs.Spec) nsenter.Bootstrap {
	var b nsenter.Bootstrap
	for _, ns := range spec.Linux.Namespaces {
		flag := namespaceFlags[ns.Type]
		if ns.Path == "" {
			b.CloneFlags |= flag
		} else {
			b.Join = append(b.Join, nsenter.NSPath{Type: flag, Path: ns.Path})
		}
		if ns.Type == specs.PIDNamespace {
			b.Fork = true
		}
		if ns.Type == specs.TimeNamespace && ns.Path == "" {
			b.Fork = true
			b.TimeOffsets = timeOffsets(spec.Linux.TimeOffsets)
		}
	}
	return b
}

func timeOffsets(offsets map[string]specs.LinuxTimeOffset) string {
	var b strings.Builder
	for _, clock := range []string{"monotonic", "boottime"} {
		if o, ok := offsets[clock]; ok {
			fmt.Fprintf(&b, "%s %d %d\n", clock, o.Secs, o.Nanosecs)
		}
	}
	return b.String()
}
