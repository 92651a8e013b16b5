package libcontainer

import (
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

// joinsPidNamespaceLate reports whether the init sets up outside the pid
// namespace the config joins, and which one. It cannot where the init
// would lose the right to join it first (a new user namespace owns none
// of the joined one), where startContainer hooks must run as the
// container's process before its program (the process that waits runs
// no Go), or where the config mounts no procfs that the waiting process
// could reopen the exec fifo through.
func joinsPidNamespaceLate(spec *specs.Spec) (string, bool) {
	path := ""
	for _, ns := range spec.Linux.Namespaces {
		switch {
		case ns.Type == specs.PIDNamespace:
			path = ns.Path
		case ns.Type == specs.UserNamespace && ns.Path == "":
			return "", false
		}
	}
	if path == "" || procMounts(spec) == 0 {
		return "", false
	}
	if spec.Hooks != nil && len(spec.Hooks.StartContainer) > 0 {
		return "", false
	}
	return path, true
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
// join it, and opens procfs contexts of it for the config's proc mounts.
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
	req := nsenter.ProcfsRequest{PidNSFD: r.addFile(ns), Count: procMounts(spec)}
	// The stage puts the contexts over these copies of the namespace fd.
	for i := 0; i < req.Count; i++ {
		fd := r.addFile(ns)
		if i == 0 {
			req.First = fd
		}
		r.config.ProcContextFDs = append(r.config.ProcContextFDs, fd)
	}
	r.bootstrap.Procfs = req
	return []*os.File{ns, procfs}, nil
}
