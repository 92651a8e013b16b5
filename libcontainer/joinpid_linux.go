package libcontainer

import (
	"errors"
	"fmt"
	"os"
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
// once it knows the process's pid (see creation.sendHookState); unlike
// on the ordinary route, they run with the container's ids and
// capabilities, as runc runs them.
// One difference remains visible: the prestart, createRuntime and
// createContainer hooks run while only the init exists, so their state
// names the init's pid (in every namespace of the container but the pid
// namespace), not the pid create records in the end.

// joinsPidNamespaceLate returns the path of the pid namespace the config
// joins, and whether the init sets up outside it (or why not). It cannot
// where the init would lose the right to join it first (a new user
// namespace owns none of the joined one).
func joinsPidNamespaceLate(spec *specs.Spec) (path string, late bool, why string) {
	newUserNS := false
	for _, ns := range spec.Linux.Namespaces {
		switch {
		case ns.Type == specs.PIDNamespace:
			path = ns.Path
		case ns.Type == specs.UserNamespace && ns.Path == "":
			newUserNS = true
		}
	}
	switch {
	case path == "":
		return "", false, ""
	case newUserNS:
		return path, false, "a new user namespace could not join it"
	}
	return path, true, ""
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
	r.config.ExecPidNSFD = r.addFile(ns)
	procfs, err := os.OpenFile("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("open procfs: %w", err)
	}
	r.config.ProcfsFD = r.addFile(procfs)
	req := nsenter.ProcfsRequest{PidNSFD: r.addFile(ns), Count: procMounts(spec) + 1}
	// The stage puts the contexts over these copies of the namespace fd.
	req.First = r.addFile(ns)
	fds := []int{req.First}
	for len(fds) < req.Count {
		fds = append(fds, r.addFile(ns))
	}
	r.config.ProcContextFDs, r.config.FifoProcfsFD = fds[:len(fds)-1], fds[len(fds)-1]
	r.bootstrap.Procfs = req
	owned := []*os.File{ns, procfs}
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
