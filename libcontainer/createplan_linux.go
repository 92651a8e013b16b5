package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/internal/idmap"
	"github.com/oci-rt/oci-rt/internal/sysfile"
	"github.com/oci-rt/oci-rt/libcontainer/proc"
	"github.com/oci-rt/oci-rt/libcontainer/rootfs"
	"github.com/oci-rt/oci-rt/nsenter"
)

// The fast path of create: no Go runtime starts in the container's init.
// The init is the namespace stage's process, which stays in C. The
// runtime sets the container up itself, on a thread of its own that joins
// the init's namespaces, with the same Go code the init would run
// (rootfs.Setup, the names, rootfs.Finish), and then hands the init a
// plan (nsenter.Plan) for the process: the steps of the exec plan, the
// wait for start and the execve. A thread cannot enter a pid namespace,
// so the init makes the procfs contexts for the container's /proc mounts
// (procfs shows the pid namespace of whoever opens the context). Nor can
// a thread enter a user namespace: in a container with one of its own the
// init makes every filesystem (a filesystem belongs to the user namespace
// of whoever makes it, which also reads its options' ids), and the thread
// acts as the container's root where the kernel asks who it is, with host
// root's capabilities still.

// createPlanFallback says why this create needs the Go init, or "" when
// the runtime sets the container up from outside.
func createPlanFallback(spec *specs.Spec, cfg *initConfig) string {
	switch {
	case execPlanDisabled():
		return "the plan is turned off by a test hook"
	case cfg.Unprivileged:
		return "a runtime without root, which may not join the container's namespaces from outside: the init sets up inside its user namespace"
	case !inUserNamespace(spec):
		return ""
	case cfg.SetupOnly:
		return "a pid namespace joined from a user namespace of its own: the init only sets up, inside that user namespace"
	}
	if value, ok := spec.Linux.Sysctl[pingGroupRange]; ok {
		if _, _, ok := parsePingGroupRange(value); !ok {
			return fmt.Sprintf("%s=%q, not two group ids the setup thread could give as its own: the init writes it in the container's user namespace, for the kernel to judge", pingGroupRange, value)
		}
	}
	return ""
}

// pingGroupRange is the one namespaced sysctl whose value names ids, which
// the kernel reads in the writer's user namespace: the setup thread,
// outside the container's, gives them as its own (see sysctlsFromOutside).
const pingGroupRange = "net.ipv4.ping_group_range"

// maxPingGroup is the highest group ping_group_range takes: the highest
// valid gid (4294967295 is the invalid one).
const maxPingGroup = 1<<32 - 2

// parsePingGroupRange reads a ping_group_range value as the kernel reads
// it, in the forms where the setup thread can give the same range with
// other ids: two group ids within its bounds, each decimal, octal (a
// leading 0) or hex (a leading 0x), between blanks. Any other form (one
// id, a third, a separator the kernel may not take) is left to the
// kernel, as the container's root writing the value would leave it.
func parsePingGroupRange(value string) (low, high uint32, ok bool) {
	// The kernel takes these between the ids and around them; it ends an
	// id at one of them or refuses the value.
	const blanks = " \t\n"
	rest := strings.TrimLeft(value, blanks)
	var ids [2]uint32
	for i := range ids {
		end := strings.IndexAny(rest, blanks)
		if end < 0 {
			end = len(rest)
		}
		if ids[i], ok = parseKernelGroup(rest[:end]); !ok {
			return 0, 0, false
		}
		rest = strings.TrimLeft(rest[end:], blanks)
	}
	if rest != "" {
		return 0, 0, false
	}
	return ids[0], ids[1], true
}

// parseKernelGroup reads one id of ping_group_range as the kernel's
// strtoul with base 0 does: hex after 0x, octal after 0, decimal
// otherwise, nothing else (no sign, no other prefix); it refuses a number
// of 21 characters or more, whose end it cannot see.
func parseKernelGroup(id string) (uint32, bool) {
	digits, base := id, 10
	switch {
	case id == "" || len(id) >= 21 || id[0] < '0' || id[0] > '9':
		return 0, false
	case len(id) > 2 && id[0] == '0' && (id[1] == 'x' || id[1] == 'X'):
		digits, base = id[2:], 16
	case id[0] == '0':
		digits, base = id[1:], 8
	}
	if digits == "" {
		return 0, true
	}
	n, err := strconv.ParseUint(digits, base, 64)
	if err != nil || n > maxPingGroup {
		return 0, false
	}
	return uint32(n), true
}

// sysctlsFromOutside gives the sysctls as the setup thread writes them for
// a container with a user namespace of its own: the same, but for the
// group ids of ping_group_range, which the kernel reads in the writer's
// user namespace and stores as the host's. gidMap is the container's
// gid_map, as the runtime reads it. The thread writes the container's
// groups as the runtime's namespace names them, so the kernel stores what
// the container's root writing the value would store: an unmapped group
// fails as it would fail there (EINVAL), and a range whose ends are the
// wrong way round in the container stays off (the kernel stores an empty
// range for a high end below the low), whatever order the ends have
// outside.
func sysctlsFromOutside(sysctls map[string]string, gidMap string) (map[string]string, error) {
	value, ok := sysctls[pingGroupRange]
	if !ok {
		return sysctls, nil
	}
	low, high, ok := parsePingGroupRange(value)
	if !ok {
		return nil, fmt.Errorf("sysctl %s=%s: not two group ids", pingGroupRange, value)
	}
	var outside [2]uint32
	for i, id := range []uint32{low, high} {
		out, mapped, err := idmap.Outside(gidMap, id)
		if err != nil {
			return nil, fmt.Errorf("the container's user namespace gid_map: %w", err)
		}
		if !mapped {
			return nil, fmt.Errorf("sysctl %s=%s: group %d is not mapped in the container's user namespace: %w", pingGroupRange, value, id, unix.EINVAL)
		}
		outside[i] = out
	}
	if high < low && outside[1] > outside[0] {
		outside[0], outside[1] = outside[1], outside[0]
	}
	translated := maps.Clone(sysctls)
	translated[pingGroupRange] = fmt.Sprintf("%d %d", outside[0], outside[1])
	return translated, nil
}

// chooseSetup has the runtime set the container up from outside where the
// plan covers it.
func (cr *creation) chooseSetup() error {
	if why := createPlanFallback(cr.spec, &cr.req.config); why != "" {
		debugf("create %s: the init sets the container up in Go: %s", cr.o.ID, why)
		return nil
	}
	cr.req.bootstrap.SetUpByParent = true
	// In a user namespace of the container's own the init makes its
	// procfs as it makes every filesystem, but for the procfs of a pid
	// namespace it joins and stays out of, which comes from the helper
	// made there.
	if !inUserNamespace(cr.spec) || cr.req.config.ExecPidNSFD != 0 {
		cr.req.bootstrap.ProcContexts = procMounts(cr.spec)
	}
	return cr.prepareSelfJoin()
}

// prepareSelfJoin has the init join the container's cgroup by itself
// (see joinCgroupItself), at the start of its plan, after the setup, as
// the runtime would move it. Not where the init is in the cgroup before
// its setup: a cgroup namespace of its own, which its stage makes there,
// or hooks that run during the setup and may look at its cgroup.
func (cr *creation) prepareSelfJoin() error {
	if cr.req.enter != nil || hasCreateHooks(cr.spec) {
		return nil
	}
	files, err := cr.req.joinCgroupItself(cr.cg)
	for _, f := range files {
		cr.closers = append(cr.closers, func() { f.Close() })
	}
	return err
}

// setUpFromOutside sets the container up for an init that runs no Go,
// and has the init carry out its plan up to the release. On failure the
// creation's rollback ends the init, through its pidfd.
func (cr *creation) setUpFromOutside() error {
	init := cr.init
	if cr.req.config.ExecPidNSFD != 0 {
		debugf("create %s: setting up outside the pid namespace it joins, with %d procfs contexts made there", cr.o.ID, cr.req.bootstrap.ProcContexts)
	}
	contexts, err := receiveProcContexts(init, cr.req.bootstrap.ProcContexts, cr.cg)
	if err != nil {
		return err
	}
	terminal, root, err := cr.setUpInThread(contexts)
	if err != nil {
		return err
	}
	if terminal != nil {
		defer terminal.Close()
	}
	rootPath := initRoot(init.pid)
	if root != nil {
		defer root.Close()
		rootPath = fmt.Sprintf("/proc/self/fd/%d", root.Fd())
	}
	who, err := resolvePlanIdentity(rootPath, init.pid, cr.spec)
	if err != nil {
		return err
	}
	plan, err := createPlan(cr.spec, who, cr.req, root != nil)
	if err != nil {
		return err
	}
	cr.plan = plan
	debugf("create %s: plan of %s", cr.o.ID, plan)
	if err := init.conn.SendPlan(plan); err != nil {
		return fmt.Errorf("send the plan to container init: %w", err)
	}
	if root != nil {
		if err := init.conn.SendFile(nsenter.KindRoot, "", root); err != nil {
			return fmt.Errorf("send the container's root to container init: %w", err)
		}
	}
	if terminal != nil {
		if err := init.conn.SendFile(nsenter.KindConsole, "", terminal); err != nil {
			return fmt.Errorf("send the pty to container init: %w", err)
		}
	}
	return cr.c.waitForPlanRelease(init, plan, cr.spec, cr.cg, "create")
}

// receiveProcContexts takes the n procfs contexts the init makes.
func receiveProcContexts(init *child, n int, cg cgroups.Manager) ([]*os.File, error) {
	var contexts []*os.File
	fail := func(err error) ([]*os.File, error) {
		for _, f := range contexts {
			f.Close()
		}
		return nil, err
	}
	for len(contexts) < n {
		rep, err := init.conn.Recv()
		if errors.Is(err, nsenter.ErrPeerGone) {
			return fail(diedError(init.pid, cg, "create"))
		}
		if err != nil {
			return fail(fmt.Errorf("container init: %w", err))
		}
		if rep.Kind != nsenter.KindProcfs {
			if rep.File != nil {
				rep.File.Close()
			}
			return fail(fmt.Errorf("sync: unexpected %q from container init", rep.Kind))
		}
		contexts = append(contexts, rep.File)
	}
	return contexts, nil
}

// setUpInThread runs the init's setup of the container on a thread of
// this process that joins the init's namespaces, but for the pid and
// user namespaces (see the top of this file). With a terminal it returns
// the pty slave, for the init, and, where the switch of root did not
// move the init's root with the thread's (see switchesRootAlone), the
// container's root, which the init is to take. The thread is never
// unlocked:
// with the container's root and namespaces it ends with its goroutine,
// and the Go runtime starts no thread from it. The prestart and
// createRuntime hooks run on another thread, in the runtime's namespaces,
// between the mounts and the switch of root, where the Go init asks for
// them; the createContainer hooks right after them on this one, in the
// container's namespaces, as the Go init runs them, or, in a user
// namespace of the container's own, in the init, which is in it. The
// idmapping of a detached bind is made on another thread too, as for the
// Go init: it starts a process that holds the mapping's user namespace,
// which must not be born in the container's namespaces.
func (cr *creation) setUpInThread(contexts []*os.File) (terminal, root *os.File, err error) {
	rcfg, err := cr.outsideRootfsConfig(contexts)
	if err != nil {
		for _, f := range contexts {
			f.Close()
		}
		return nil, nil, err
	}
	// Every lookup of the thread's own /proc entries goes through the
	// runtime's procfs: once the root is switched, /proc shows the
	// container's pid namespace, where the thread does not exist.
	if err := useRuntimeProcfsHere(); err != nil {
		discardRootfsConfig(rcfg)
		return nil, nil, err
	}
	logf := func(format string, args ...any) { debugf("create "+cr.o.ID+": "+format, args...) }
	takeTerminal := func() error {
		p := cr.spec.Process
		if !p.Terminal {
			return nil
		}
		var err error
		if terminal, err = openTerminal(cr.req.fileAt(cr.req.config.ConsoleSocketFD), p.ConsoleSize); err != nil {
			return err
		}
		if err := rootfs.MountConsole(terminal); err != nil {
			return err
		}
		logf("pty set up as the process's terminal")
		return nil
	}
	// What must run in the runtime's own namespaces, the thread hands to
	// this goroutine.
	asks, answers := make(chan func() error), make(chan error)
	inRuntime := func(f func() error) error {
		asks <- f
		return <-answers
	}
	idmapper := rootfs.NewIdmapper(cr.spec)
	defer idmapper.Close()
	var containerRoot *userNamespaceRoot
	if inUserNamespace(cr.spec) {
		rcfg.MakeFilesystem = func(fsType string, settings []nsenter.FilesystemSetting) (*os.File, int, error) {
			ctx, failed, err := cr.init.conn.MakeFilesystem(fsType, settings)
			if err != nil {
				logf("init %d could not make a %s filesystem: %v", cr.init.pid, fsType, err)
			} else {
				logf("init %d made a %s filesystem, in the container's user namespace", cr.init.pid, fsType)
			}
			return ctx, failed, err
		}
		if containerRoot, err = rootOfUserNamespace(cr.init.pid); err != nil {
			discardRootfsConfig(rcfg)
			return nil, nil, err
		}
		if rcfg.Sysctl, err = sysctlsFromOutside(cr.spec.Linux.Sysctl, containerRoot.gidMap); err != nil {
			discardRootfsConfig(rcfg)
			return nil, nil, err
		}
	}
	rcfg.Idmap = func(index int, mnt *os.File) error {
		return inRuntime(func() error { return idmapper.Idmap(index, mnt) })
	}
	type outcome struct {
		root *os.File
		err  error
	}
	done := make(chan outcome, 1)
	nsFlags := threadNamespaces(cr.spec)
	if Log.Debug {
		logf("init %d runs no Go: the runtime sets the container up on a thread in its namespaces %s", cr.init.pid, namespaceNames(nsFlags))
	}
	runHooks := hookRunner(runHooksIn)
	if containerRoot != nil {
		runHooks = cr.runHooksInInit
	}
	go func() {
		runtime.LockOSThread()
		root, err := setUpInNamespaces(cr.initPidfd, nsFlags, containerRoot, rcfg, logf, func() error {
			if err := inRuntime(func() error { return cr.c.serveCreateHooks(cr.init, cr.spec, cr.cg) }); err != nil {
				return err
			}
			return runCreateContainerHooks(&cr.req.config, runHooks, logf)
		}, takeTerminal)
		done <- outcome{root, err}
	}()
	for {
		select {
		case f := <-asks:
			answers <- f()
		case out := <-done:
			if out.err != nil && terminal != nil {
				terminal.Close()
				terminal = nil
			}
			return terminal, out.root, out.err
		}
	}
}

// setUpInNamespaces is the thread's work: it takes a root and cwd of its
// own, joins the namespaces nsFlags of the process pidfd and sets the
// container up there as the Go init would, with the hooks run where the
// init asks for them and the terminal taken where it takes it. With
// containerRoot it acts as the root of the container's user namespace
// (see actAsContainerRoot). logf records its steps. Where the switch of
// root moved the thread's root alone, it returns the container's root,
// for the init.
func setUpInNamespaces(pidfd, nsFlags int, containerRoot *userNamespaceRoot, rcfg *rootfs.Config, logf func(string, ...any), hooks, takeTerminal func() error) (*os.File, error) {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		discardRootfsConfig(rcfg)
		return nil, fmt.Errorf("give the setup thread a root of its own: %w", err)
	}
	if containerRoot != nil {
		if err := actAsContainerRoot(containerRoot); err != nil {
			discardRootfsConfig(rcfg)
			return nil, err
		}
		logf("the setup thread acts as the root of the container's user namespace, host uid %d, gid %d (-1: host root's, the namespace maps no 0)", containerRoot.uid, containerRoot.gid)
	}
	// A container may share all of the runtime's namespaces, and setns
	// refuses a pidfd without any.
	if nsFlags != 0 {
		if err := unix.Setns(pidfd, nsFlags); err != nil {
			discardRootfsConfig(rcfg)
			return nil, fmt.Errorf("join the container init's namespaces: %w", err)
		}
	}
	beforePivot := func() error {
		logf("mounts done, the runtime runs the prestart and createRuntime hooks")
		return hooks()
	}
	alone := switchesRootAlone(rcfg)
	if err := rootfs.Setup(rcfg, beforePivot); err != nil {
		return nil, err
	}
	logf("root filesystem set up, root switched (%s)", rootSwitch(rcfg))
	if err := takeTerminal(); err != nil {
		return nil, err
	}
	if err := setupNames(rcfg.Spec); err != nil {
		return nil, err
	}
	if err := rootfs.Finish(rcfg); err != nil {
		return nil, err
	}
	logf("hostname, sysctls, read-only and masked paths set")
	if !alone {
		return nil, nil
	}
	root, err := sysfile.Open("/", unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, fmt.Errorf("open the container's root: %w", err)
	}
	return root, nil
}

// runHooksInInit is a hookRunner for the createContainer hooks of a
// container with a user namespace of its own: the init runs them, as
// that namespace's root, in it, as the Go init runs them, where no thread
// of the runtime can go (see nsenter.HooksRequest).
func (cr *creation) runHooksInInit(dir, kind string, hooks []specs.Hook, state *specs.State) error {
	stdin, err := json.Marshal(state)
	if err != nil {
		return err
	}
	debugf("create %s: init %d runs the %d %s hooks, as the root of the container's user namespace", cr.o.ID, cr.init.pid, len(hooks), kind)
	failed, err := cr.init.conn.RunHooks(&nsenter.HooksRequest{Dir: dir, State: stdin, Hooks: spawnHooks(hooks)})
	if err != nil {
		return fmt.Errorf("container init: %s hooks: %w", kind, err)
	}
	if failed != nil {
		return hookReportError(kind, hooks, failed)
	}
	return nil
}

// userNamespaceRoot is who the root of a user namespace is on the host:
// its uid and gid there, each -1 where the namespace maps no 0 (the init,
// unable to become 0 there, stays the host's root in that id).
type userNamespaceRoot struct {
	uid, gid int
	// gidMap is the namespace's gid_map, its outside ids as the
	// runtime's user namespace names them.
	gidMap string
}

// rootOfUserNamespace reads the root of process pid's user namespace
// from its maps: whichever wrote them, a namespace the container creates
// or one it joins, they are the kernel's and no longer change.
func rootOfUserNamespace(pid int) (*userNamespaceRoot, error) {
	ids := [2]int{-1, -1}
	var idMaps [2]string
	for i, name := range []string{"uid_map", "gid_map"} {
		data, err := sysfile.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
		if err != nil {
			return nil, fmt.Errorf("read the container's user namespace map: %w", err)
		}
		idMaps[i] = string(data)
		outside, mapped, err := idmap.Outside(idMaps[i], 0)
		if err != nil {
			return nil, fmt.Errorf("the container's user namespace %s: %w", name, err)
		}
		if mapped {
			ids[i] = int(outside)
		}
	}
	return &userNamespaceRoot{uid: ids[0], gid: ids[1], gidMap: idMaps[1]}, nil
}

// actAsContainerRoot has the calling thread act as root, the root of the
// container's user namespace, where the kernel looks at who asks rather
// than at capabilities: the files and directories it makes, and devpts
// its ptys, belong to that root, and the sysctls of the container's
// namespaces let that root write them, as they would the Go init, that
// root. The effective ids change on the calling thread alone (the system
// calls themselves, not the Go wrappers, which change every thread's);
// the real and saved ids stay host root's, so the thread keeps its
// permitted capabilities, and it takes back the effective ones the change
// took away: its rights stay host root's.
func actAsContainerRoot(root *userNamespaceRoot) error {
	// -1 leaves an id as it is.
	if _, _, errno := unix.RawSyscall(unix.SYS_SETRESGID, ^uintptr(0), uintptr(root.gid), ^uintptr(0)); errno != 0 {
		return fmt.Errorf("make the setup thread's group the container root's (%d): %w", root.gid, errno)
	}
	if _, _, errno := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), uintptr(root.uid), ^uintptr(0)); errno != 0 {
		return fmt.Errorf("make the setup thread's user the container root's (%d): %w", root.uid, errno)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	for i := range data {
		data[i].Effective = data[i].Permitted
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("take the setup thread's capabilities back: %w", err)
	}
	return nil
}

// switchesRootAlone tells whether the switch of root rcfg asks for
// changes the root of the thread that makes it only: a move and chroot
// (--no-pivot), or a chroot in the runtime's mount namespace. pivot_root
// moves the root of every process whose root was the old one, the
// init's with it.
func switchesRootAlone(rcfg *rootfs.Config) bool {
	return rcfg.NoPivot || rcfg.HostRoot != nil
}

// rootSwitch names the switch of root rcfg asks for, for the debug log.
func rootSwitch(rcfg *rootfs.Config) string {
	switch {
	case rcfg.HostRoot != nil:
		return "chroot"
	case rcfg.NoPivot:
		return "move and chroot"
	}
	return "pivot_root"
}

// namespaceNames names the namespaces in flags, for the debug log.
func namespaceNames(flags int) []string {
	var names []string
	for _, typ := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace, specs.CgroupNamespace} {
		if flags&int(namespaceFlags[typ]) != 0 {
			names = append(names, string(typ))
		}
	}
	return names
}

// threadNamespaces are the setup thread's namespaces to join: the
// container's, but its user namespace (see the top of this file), its
// time namespace (for children only) and its pid namespace, which a
// thread cannot enter and which the setup needs only for /proc. A thread
// may take it for its children, though: it does so when it starts the
// createContainer hooks, which run there when the Go init starts them.
// The Go runtime starts no thread from it (see setUpInThread), which a
// thread whose children's pid namespace is not its own could not.
func threadNamespaces(spec *specs.Spec) int {
	flags := 0
	for _, ns := range spec.Linux.Namespaces {
		switch ns.Type {
		case specs.MountNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.CgroupNamespace:
			flags |= int(namespaceFlags[ns.Type])
		case specs.PIDNamespace:
			if spec.Hooks != nil && len(spec.Hooks.CreateContainer) > 0 {
				flags |= unix.CLONE_NEWPID
			}
		}
	}
	return flags
}

// outsideRootfsConfig is rootfsConfig for the setup thread: the files are
// this process's own.
func (cr *creation) outsideRootfsConfig(contexts []*os.File) (*rootfs.Config, error) {
	rcfg := rootfsConfigWithoutFiles(&cr.req.config)
	root, err := duplicate(cr.root, rcfg.Rootfs)
	if err != nil {
		return nil, fmt.Errorf("duplicate the rootfs handle: %w", err)
	}
	rcfg.RootHandle, rcfg.ProcContexts = root, contexts
	if hostRoot := cr.req.config.HostRootFD; hostRoot != 0 {
		if rcfg.HostRoot, err = duplicate(cr.req.fileAt(hostRoot), rcfg.Rootfs); err != nil {
			discardRootfsConfig(rcfg)
			return nil, fmt.Errorf("duplicate the rootfs bind: %w", err)
		}
	}
	return rcfg, nil
}

// duplicate is a close-on-exec copy of f, named name: the setup closes
// the files it is given, and the creation keeps its own.
func duplicate(f *os.File, name string) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// discardRootfsConfig closes the files of a config rootfs.Setup will not
// get to close.
func discardRootfsConfig(rcfg *rootfs.Config) {
	rcfg.RootHandle.Close()
	if rcfg.HostRoot != nil {
		rcfg.HostRoot.Close()
	}
	for _, f := range rcfg.ProcContexts {
		f.Close()
	}
}

// initRoot is the path to the root of process pid.
func initRoot(pid int) string {
	return fmt.Sprintf("/proc/%d/root", pid)
}

// useRuntimeProcfsHere makes the runtime's procfs the one this process
// finds its threads' entries in (proc.UseProcfs).
func useRuntimeProcfsHere() error {
	procfs, err := sysfile.Open("/proc", unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return fmt.Errorf("open procfs: %w", err)
	}
	if err := proc.UseProcfs(procfs); err != nil {
		procfs.Close()
		return err
	}
	return nil
}

// createPlan is the plan of a create's init once the runtime has set the
// container up: the process as an exec plan sets it up, its identity
// before the release (so that a failure reaches create), then the wait
// for start and the execve. With rootFromParent it first takes the
// container's root from the runtime (see switchesRootAlone). A container
// that joins a pid namespace gets its process started there instead
// (see joinedPidNamespacePlan).
func createPlan(spec *specs.Spec, who *planIdentity, req *spawnRequest, rootFromParent bool) (*nsenter.Plan, error) {
	p := spec.Process
	joins := req.config.ExecPidNSFD != 0
	plan := &nsenter.Plan{}
	req.planCgroupJoins(plan)
	plan.Setsid()
	if rootFromParent {
		plan.RootFromParent()
	}
	if p.Terminal {
		// The process started in a joined pid namespace makes it its own.
		plan.TerminalFromParent(!joins)
	}
	// The next fd after the runtime's in the init: its own procfs, for
	// its /proc entries and the fifo; the init that stays outside a pid
	// namespace it joins has the runtime's for its entries.
	nextFD := 3 + len(req.preserved) + len(req.files)
	procfsFD := nextFD
	switch {
	case joins:
		procfsFD = req.config.ProcfsFD
	case writableProcAtProc(spec):
		plan.ProcfsAt(procfsFD, "/proc")
	default:
		plan.Procfs(procfsFD)
	}
	ps, err := planProcess(plan, spec, who, req, procfsFD)
	if err != nil {
		return nil, err
	}
	if joins {
		return joinedPidNamespacePlan(plan, p, who, req, ps, nextFD)
	}
	instructions, flags, err := planIdentityAndFilter(plan, p, who, ps)
	if err != nil {
		return nil, err
	}
	plan.Release()
	hooks, err := startHooks(&req.config, ps.env)
	if err != nil {
		return nil, err
	}
	if err := plan.ExecAfterStart(p.Args, ps.env, 3+req.config.PreserveFDs, req.config.FifoFD, procfsFD, instructions, flags, hooks); err != nil {
		return nil, err
	}
	return plan, nil
}

// joinedPidNamespacePlan ends the plan of an init that set the container
// up outside the pid namespace it joins (see joinPidNamespaceLate), as
// the Go init does: it makes the procfs of that namespace from the
// context the helper opened there, takes the namespace for its child,
// becomes the container's process, and, once create has seen it ready,
// starts the process create records, born in the namespace in its final
// context, which waits there for start, runs the startContainer hooks
// with the state create sends it, and executes. waitProcfsFD is the fd
// the procfs goes to.
func joinedPidNamespacePlan(plan *nsenter.Plan, p *specs.Process, who *planIdentity, req *spawnRequest, ps *plannedProcess, waitProcfsFD int) (*nsenter.Plan, error) {
	cfg := &req.config
	plan.ProcfsFrom(cfg.FifoProcfsFD, waitProcfsFD)
	plan.SetnsChildren(cfg.ExecPidNSFD, unix.CLONE_NEWPID, "join the container's pid namespace for the process")
	instructions, flags, err := planIdentityAndFilter(plan, p, who, ps)
	if err != nil {
		return nil, err
	}
	wait := joinedStartWait(cfg, waitProcfsFD, ps.env)
	if len(wait.Hooks) > 0 && instructions != nil {
		// The hooks run under the container's filter, as on every route.
		plan.Seccomp(instructions, flags)
		instructions, flags = nil, 0
	}
	plan.Release()
	if err := plan.Spawn(p.Args, ps.env, 3+cfg.PreserveFDs, p.Terminal, instructions, flags, wait); err != nil {
		return nil, err
	}
	return plan, nil
}

// writableProcAtProc tells whether the container's /proc is a procfs the
// runtime mounts writable, made from the init's own context (see
// receiveProcContexts), and leaves so: the init can take it as its procfs
// handle, which must write its LSM labels. The last mount at /proc is the
// one on top; a read-only or masked path of /proc itself covers it later.
func writableProcAtProc(spec *specs.Spec) bool {
	isProc := func(p string) bool { return path.Clean(p) == "/proc" }
	proc := false
	for _, m := range spec.Mounts {
		if isProc(m.Destination) {
			proc = m.Type == "proc" && !rootfs.IsReadOnlyMount(m)
		}
	}
	if spec.Linux != nil {
		if slices.ContainsFunc(spec.Linux.ReadonlyPaths, isProc) || slices.ContainsFunc(spec.Linux.MaskedPaths, isProc) {
			return false
		}
	}
	return proc
}
