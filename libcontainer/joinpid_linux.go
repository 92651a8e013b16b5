package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/nsenter"
)

// A container that joins an existing pid namespace by path (a pod that
// shares one) would, if its init entered that namespace first, be set up
// in plain view of the processes already there: one running as root of
// the host's user namespace with CAP_SYS_PTRACE may ptrace the init, open
// its /proc/<pid>/root (the host's /) or, with CAP_SYS_ADMIN, join its
// mount namespace while it still holds the host's tree. So such an init
// joins the pid namespace for its children only, sets the container up
// outside it, becomes the container's process (ids, capabilities, limits,
// root and cwd) and only then starts, through nsenter.SpawnAndExit, the
// process that create records: born inside the namespace in its final
// context, it waits there for `start` and executes the program. The
// config's proc mounts come from procfs contexts that a helper opened in
// the joined namespace (see nsenter.c), so /proc shows that namespace.
// The startContainer hooks run in that process, which runs no Go: it
// runs them as the init prepared them, with the state create sends it
// once it knows the process's pid (see creation.sendHookState), with
// the container's ids and capabilities, as on every route.
// A container with a user namespace of its own cannot take that route:
// its init holds no right over the joined pid namespace (see
// joinsFromNewUserNS). Its init only sets up, and the process create
// records comes from a stage that joins the pid namespace before the
// container's user namespace (see joinerBootstrap); it becomes the
// container's process in Go, inside the container's namespaces and root,
// and runs the startContainer hooks as the other routes do.
// One difference remains visible: the prestart, createRuntime and
// createContainer hooks run while only the init exists, so their state
// names the init's pid (in every namespace of the container but the pid
// namespace), not the pid create records in the end.

// joinedPidNamespace is the path of the pid namespace the config joins,
// or "".
func joinedPidNamespace(spec *specs.Spec) string {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.PIDNamespace {
			return ns.Path
		}
	}
	return ""
}

// joinsFromNewUserNS: the config joins an existing pid namespace and
// creates a user namespace. The new namespace holds no privilege over the
// pid namespace, which existed before it: its root may neither join it
// late (after setting up out of sight) nor mount its procfs. So its init
// only sets the container up, outside the pid namespace (SetupOnly), with
// procfs contexts a privileged helper opened there; create then starts the
// container's process through a stage that joins the pid namespace while
// it still holds the runtime's rights, and the init's namespaces after
// (see joinerBootstrap). `exec` starts its processes the same way.
func joinsFromNewUserNS(spec *specs.Spec) bool {
	if joinedPidNamespace(spec) == "" {
		return false
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.UserNamespace && ns.Path == "" {
			return true
		}
	}
	return false
}

// joinerBootstrap is the stage of a process that must be born in the pid
// namespace pidNS and the container's other namespaces (files, opened from
// its init) where a user namespace of the container's own holds no right
// to join pidNS (see joinsFromNewUserNS). The stage joins the pid
// namespace first, for its children, while it still has the runtime's
// rights; then the namespaces the container joined by path, which its user
// namespace may hold no rights over either; then that user namespace,
// whose owner it is, the ones created with it, and the mount namespace
// last, which makes the container's root its own. It closes the
// namespaces' fds and forks: the child is born in the pid namespace
// already in the container's context, where it only becomes the
// container's process. Nothing of the runtime's privileges is visible
// there: they went with the user namespace, before the fork. (The config
// has a mount namespace of its own: validation requires one with a user
// namespace.)
func joinerBootstrap(spec *specs.Spec, pidNS *os.File, files map[specs.LinuxNamespaceType]*os.File, req *spawnRequest) nsenter.Bootstrap {
	b := nsenter.Bootstrap{JoinInOrder: true, Fork: true}
	join := func(typ specs.LinuxNamespaceType, f *os.File) {
		fd := req.addFile(f)
		if b.CloseFirst == 0 {
			b.CloseFirst = fd
		}
		b.CloseLast = fd
		b.Join = append(b.Join, nsenter.NSPath{Type: namespaceFlags[typ], Path: fmt.Sprintf("/proc/self/fd/%d", fd)})
	}
	join(specs.PIDNamespace, pidNS)
	for _, joined := range []bool{true, false} {
		for _, ns := range spec.Linux.Namespaces {
			switch ns.Type {
			case specs.PIDNamespace, specs.UserNamespace, specs.MountNamespace:
				continue
			}
			if (ns.Path != "") == joined {
				join(ns.Type, files[ns.Type])
			}
		}
		if joined {
			join(specs.UserNamespace, files[specs.UserNamespace])
		}
	}
	join(specs.MountNamespace, files[specs.MountNamespace])
	return b
}

// handOver starts the container's process in the joined pid namespace for
// an init that only set the container up (SetupOnly), lets the init exit,
// and makes that process the container's: recorded, pinned, and what the
// pid file names.
func (cr *creation) handOver() error {
	init := cr.init
	if init.console != nil {
		defer init.console.Close()
	}
	files, err := openNamespaces(init.pid, cr.spec)
	defer closeFiles(files)
	if err != nil {
		return err
	}
	req := &spawnRequest{
		config: initConfig{
			Spec: cr.spec, ID: cr.o.ID, Bundle: cr.bundle, Rootfs: cr.rootfsPath,
			NoNewKeyring: cr.o.NoNewKeyring, PreserveFDs: cr.o.PreserveFDs, Joiner: true,
			SeccompFilter: cr.filter,
		},
		stdio:     cr.o.Stdio,
		preserved: cr.req.preserved,
		stateRoot: cr.store.Root,
	}
	if init.console != nil {
		req.stdio = [3]*os.File{init.console, init.console, init.console}
	}
	req.bootstrap = joinerBootstrap(cr.spec, cr.req.pidNS, files, req)
	fifo, err := os.OpenFile(filepath.Join(cr.lock.Dir(), fifoName), unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer fifo.Close()
	req.config.FifoFD = req.addFile(fifo)
	cgFiles, err := req.startIn(cr.cg, false)
	for _, f := range cgFiles {
		defer f.Close()
	}
	if err != nil {
		return err
	}
	debugf("create %s: starting the container's process in the joined pid namespace from the namespaces of init %d", cr.o.ID, init.pid)
	p, err := spawn(req, "oci-rt")
	if err != nil {
		return err
	}
	cr.closers = append(cr.closers, func() { p.conn.Close() })
	pidfd, err := unix.PidfdOpen(p.pid, 0)
	if err != nil {
		killAndReap(p.pid)
		return fmt.Errorf("pidfd of container process %d: %w", p.pid, err)
	}
	// The init's part is done, and its namespaces live on in the process.
	if err := init.conn.Send(nsenter.KindAck, ""); err == nil {
		init.conn.WaitClosed()
	}
	killAndReap(init.pid)
	unix.Close(cr.initPidfd)
	cr.initPidfd, cr.init = pidfd, p
	if err := recordInit(cr.st, p.pid); err != nil {
		return err
	}
	if err := cr.lock.Save(cr.st); err != nil {
		return err
	}
	if err := addToIntelRdt(cr.st, cr.spec, p.pid); err != nil {
		return err
	}
	req.config.HookState = &specs.State{Version: specs.Version, ID: cr.o.ID, Status: specs.StateCreating, Pid: p.pid, Bundle: cr.bundle, Annotations: cr.spec.Annotations}
	if err := p.conn.SendConfig(&req.config); err != nil {
		return fmt.Errorf("send config to the container's process: %w", err)
	}
	return cr.c.talkToInit(p, cr.spec, cr.cg, "create")
}

// fifoProcfs creates, from the context at fd, the procfs of the joined
// pid namespace through which the started process reopens the exec fifo.
func fifoProcfs(fd int) (int, error) {
	defer unix.Close(fd)
	if err := unix.FsconfigCreate(fd); err != nil {
		return -1, fmt.Errorf("procfs of the joined pid namespace: %w", err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOEXEC|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return -1, fmt.Errorf("procfs of the joined pid namespace: fsmount: %w", err)
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(mfd, &fs); err != nil || fs.Type != unix.PROC_SUPER_MAGIC {
		unix.Close(mfd)
		return -1, errors.New("procfs of the joined pid namespace: the context is not a procfs")
	}
	return mfd, nil
}

// procSource is the source the config's proc mounts show: that of the
// first, or "proc".
func procSource(spec *specs.Spec) string {
	for _, m := range spec.Mounts {
		if m.Type == "proc" && m.Source != "" {
			return m.Source
		}
	}
	return "proc"
}

func procMounts(spec *specs.Spec) int {
	n := 0
	for _, m := range spec.Mounts {
		if m.Type == "proc" {
			n++
		}
	}
	return n
}

// joinPidNamespaceLate sets r up for an init that joins the pid
// namespace at path only for the process it starts: the stage does not
// join it, and opens procfs contexts of it for the config's proc mounts
// and one more, through which the started process reopens the exec fifo
// (it may not mount one, and the container need not have one).
// The returned files are the parent's copies, to close once the init is
// spawned.
func (r *spawnRequest) joinPidNamespaceLate(spec *specs.Spec, path string) ([]*os.File, error) {
	ns, err := os.OpenFile(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open pid namespace %s: %w", path, err)
	}
	r.bootstrap.Join = slices.DeleteFunc(r.bootstrap.Join, func(j nsenter.NSPath) bool { return j.Type == unix.CLONE_NEWPID })
	// The stage forks only to enter a new time namespace now.
	r.bootstrap.Fork = r.bootstrap.TimeOffsets != "" || r.bootstrap.CloneFlags&unix.CLONE_NEWTIME != 0
	setupOnly := joinsFromNewUserNS(spec)
	count := procMounts(spec)
	if setupOnly {
		r.config.SetupOnly, r.pidNS = true, ns
	} else {
		r.config.ExecPidNSFD = r.addFile(ns)
		count++ // the procfs to reopen the fifo through
	}
	procfs, err := os.OpenFile("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("open procfs: %w", err)
	}
	r.config.ProcfsFD = r.addFile(procfs)
	owned := []*os.File{ns, procfs}
	if count > 0 {
		req := nsenter.ProcfsRequest{PidNSFD: r.addFile(ns), Count: count}
		// The stage puts the contexts over these copies of the namespace fd.
		req.First = r.addFile(ns)
		fds := []int{req.First}
		for len(fds) < req.Count {
			fds = append(fds, r.addFile(ns))
		}
		r.config.ProcContextFDs = fds
		if setupOnly {
			req.Source = procSource(spec)
		} else {
			r.config.ProcContextFDs, r.config.FifoProcfsFD = fds[:len(fds)-1], fds[len(fds)-1]
		}
		r.bootstrap.Procfs = req
	}
	if setupOnly {
		return owned, nil
	}
	if spec.Hooks != nil && len(spec.Hooks.StartContainer) > 0 {
		rd, wr, err := os.Pipe()
		if err != nil {
			return owned, fmt.Errorf("pipe for the startContainer hooks' state: %w", err)
		}
		r.config.HookStateFD, r.hookState = r.addFile(rd), wr
		owned = append(owned, rd, wr)
	}
	return owned, nil
}
