package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/internal/sysfile"
	"github.com/oci-rt/oci-rt/libcontainer/proc"
	"github.com/oci-rt/oci-rt/nsenter"
	"github.com/oci-rt/oci-rt/seccomp"
)

// The fast path of exec: the runtime decides the whole setup of the
// process here and hands it to the namespace stage as a plan
// (nsenter.Plan), which carries it out in C right after joining the
// container's namespaces. No Go runtime starts in that process, and no
// init config is sent or decoded. The steps are those of the Go path
// (execInit), in its order, with the same security
// properties: the process stays outside the container's pid namespace and
// non-dumpable until the process it starts there has become the
// container's, and that process closes every fd of the runtime's first.

// planFallback says why this exec needs the Go path, or "" when the plan
// covers it; a test hook turns it off to compare the two paths. A process
// of a container that joins a pid namespace from a user namespace of its
// own is born in that pid namespace (see joinerBootstrap), where the
// runtime's procfs would be a handle on the host's; it writes its own
// entries through the container's /proc instead, which must be a
// writable procfs for that.
//
// Such a process also starts the program's process there, whose pid it
// can only tell as that namespace numbers it; pidns, the container's pid
// namespace, translates it (see hostPid).
func planFallback(spec *specs.Spec, pidns *os.File) string {
	if execPlanDisabled() {
		return "the plan is turned off by a test hook"
	}
	if !joinsFromNewUserNS(spec) {
		return ""
	}
	if !writableProcAtProc(spec) {
		return "the process is born in the pid namespace the container joins, and the container's /proc, where it would find its own entries, is not a writable procfs"
	}
	if _, err := hostPid(pidns, 1); err != nil {
		return fmt.Sprintf("the process is born in the pid namespace the container joins, and the pid it starts the program with there cannot be translated: %v", err)
	}
	return ""
}

// nsGetTgidFromPidns is the ioctl that translates a process's pid in the
// pid namespace an nsfs fd refers to into ours (Linux 6.10 on;
// golang.org/x/sys has no name for it): _IOR(NSIO, 0x7, int).
const nsGetTgidFromPidns = 0x8004b707

// hostPid is the pid in our pid namespace of the process numbered pid in
// pidns, which must be ours or one below it.
func hostPid(pidns *os.File, pid int) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, pidns.Fd(), nsGetTgidFromPidns, uintptr(pid))
	if errno != 0 {
		return 0, fmt.Errorf("pid %d of the container's pid namespace: NS_GET_TGID_FROM_PIDNS: %w", pid, errno)
	}
	return int(r), nil
}

// planIdentity is what the plan needs to know from inside the container
// before the process exists: who the user is by the container's account
// files, and whether its user namespace allows setgroups.
type planIdentity struct {
	id        *proc.Identity
	setgroups bool
}

// resolvePlanIdentity reads the container's account files through the
// container's root (a path to it, as /proc/<init>/root), resolving
// nothing outside it, and its user namespace's setgroups policy.
func resolvePlanIdentity(root string, initPid int, spec *specs.Spec) (*planIdentity, error) {
	// The container's account files are read through handles reopened in
	// /proc/thread-self: the runtime's own procfs serves that, where a
	// procfs mounted for the purpose would cost a superblock and, when it
	// goes at exit, a grace period.
	if !proc.UsesOwnProcfs() {
		if err := useRuntimeProcfsHere(); err != nil {
			return nil, err
		}
	}
	id, err := proc.ResolveUserInRoot(root, spec.Process.User)
	if err != nil {
		return nil, err
	}
	policy, err := sysfile.ReadFile(fmt.Sprintf("/proc/%d/setgroups", initPid))
	if err != nil {
		return nil, fmt.Errorf("read setgroups policy: %w", err)
	}
	return &planIdentity{id: id, setgroups: !bytes.HasPrefix(policy, []byte("deny"))}, nil
}

// execPlan is the plan for the exec'd process. req holds the fds the
// process gets; pidnsFD (or 0) is the container's pid namespace, procfsFD
// the runtime's procfs, both among them. bornInside: the process is born
// in the container's pid namespace (see joinerBootstrap), and procfsFD is
// where the plan puts the container's /proc, its procfs there.
func execPlan(spec *specs.Spec, who *planIdentity, req *spawnRequest, pidnsFD, procfsFD int, bornInside bool) (*nsenter.Plan, error) {
	p := spec.Process
	plan := &nsenter.Plan{}
	plan.Setsid()
	if fd := req.config.HostRootFD; fd != 0 {
		// No mount namespace to join: the container's root is a chroot.
		plan.Chroot(fd, "enter the container's root")
	}
	if pidnsFD != 0 {
		plan.SetnsChildren(pidnsFD, unix.CLONE_NEWPID, "join the container's pid namespace")
	}
	if bornInside {
		plan.ProcfsAt(procfsFD, "/proc")
	}
	if p.Terminal {
		var rows, cols uint16
		if size := p.ConsoleSize; size != nil {
			rows, cols = uint16(size.Height), uint16(size.Width)
		}
		plan.Console(req.config.ConsoleSocketFD, rows, cols)
	}
	ps, err := planProcess(plan, spec, who, req, procfsFD)
	if err != nil {
		return nil, err
	}
	plan.Release()
	instructions, flags, err := planIdentityAndFilter(plan, p, who, ps)
	if err != nil {
		return nil, err
	}
	if err := plan.Spawn(p.Args, ps.env, 3+req.config.PreserveFDs, p.Terminal, instructions, flags, nsenter.SpawnWait{}); err != nil {
		return nil, err
	}
	return plan, nil
}

// plannedProcess is what planProcess resolved for the steps after it.
type plannedProcess struct {
	caps *proc.CapSets
	env  []string
	// filter is the seccomp filter still to install, nil once installed.
	filter *seccomp.Filter
}

// planProcess adds the steps of every plan's process up to its release,
// in the Go path's order: personality, limits and scheduling, memory
// policy, stdio owner, cwd, the program, and a seccomp filter with a
// listener (the agent must have it before the process runs).
func planProcess(plan *nsenter.Plan, spec *specs.Spec, who *planIdentity, req *spawnRequest, procfsFD int) (*plannedProcess, error) {
	p := spec.Process
	if pers := spec.Linux.Personality; pers != nil {
		value, err := proc.PersonalityValue(pers)
		if err != nil {
			return nil, err
		}
		plan.Personality(uint32(value), "personality "+string(pers.Domain))
	}
	if err := proc.PlanPrepare(plan, p, procfsFD); err != nil {
		return nil, err
	}
	if err := proc.PlanMemoryPolicy(plan, spec.Linux.MemoryPolicy); err != nil {
		return nil, err
	}
	for fd, f := range req.stdio {
		// With a terminal, stdio is the pty by now.
		if p.Terminal || (f != nil && !isDevNull(f)) {
			plan.ChownStdio(fd, who.id.UID)
		}
	}
	caps, err := proc.ParseCapabilities(p.Capabilities)
	if err != nil {
		return nil, err
	}
	if !inUserNamespace(spec) {
		// The process has the runtime's capabilities; in a user namespace
		// it has all of that namespace's.
		if err := proc.CheckHeld(caps); err != nil {
			return nil, err
		}
	}
	cwdFailed := fmt.Sprintf("chdir to cwd (%q) set in config.json failed", p.Cwd)
	if !filepath.IsAbs(p.Cwd) {
		return nil, errors.New(cwdFailed + ": not an absolute path")
	}
	plan.Chdir(p.Cwd, cwdFailed)
	env := proc.Env(p, who.id)
	candidates, err := proc.ProgramCandidates(p.Args[0], env)
	if err != nil {
		return nil, err
	}
	if strings.Contains(p.Args[0], "/") {
		plan.FindProgram(candidates, fmt.Sprintf("exec: %q", p.Args[0]), false)
	} else {
		plan.FindProgram(candidates, fmt.Sprintf("exec: %q: executable file not found in $PATH", p.Args[0]), true)
	}
	filter, err := decodeFilter(req.config.SeccompFilter)
	if err != nil {
		return nil, err
	}
	if filter != nil && filter.Notifies() {
		plan.SeccompListener(filter.Instructions(), uint32(filter.Flags()))
		filter = nil
	}
	return &plannedProcess{caps: caps, env: env, filter: filter}, nil
}

// planIdentityAndFilter adds the switch to the process's identity and the
// seccomp filter where it must go before it, and returns the filter left
// for the last step, right before execve. As in the Go path: without
// no_new_privs the filter can only go in while the process still has
// CAP_SYS_ADMIN; with it, right before execve, so that a profile need not
// allow the setup's system calls.
func planIdentityAndFilter(plan *nsenter.Plan, p *specs.Process, who *planIdentity, ps *plannedProcess) ([]unix.SockFilter, uint32, error) {
	filter := ps.filter
	if filter != nil && !p.NoNewPrivileges {
		plan.Seccomp(filter.Instructions(), uint32(filter.Flags()))
		filter = nil
	}
	if err := proc.PlanSwitchIdentity(plan, p, who.id, ps.caps, who.setgroups); err != nil {
		return nil, 0, err
	}
	if p.NoNewPrivileges {
		plan.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, "set no_new_privs")
	}
	if filter == nil {
		return nil, 0, nil
	}
	return filter.Instructions(), uint32(filter.Flags()), nil
}

func isDevNull(f *os.File) bool {
	var st unix.Stat_t
	return unix.Fstat(int(f.Fd()), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == devNullRdev
}

// waitForPlanRelease waits until the plan has set the process up to its
// release step, passing a seccomp listener on to the agent on the way.
// what names the operation ("exec" or "create").
func (c *Container) waitForPlanRelease(init *child, plan *nsenter.Plan, spec *specs.Spec, cg cgroups.Manager, what string) error {
	for {
		rep, err := init.conn.Recv()
		if errors.Is(err, nsenter.ErrPeerGone) {
			return diedError(init.pid, cg, what)
		}
		if err != nil {
			killAndReap(init.pid)
			return err
		}
		switch rep.Kind {
		case nsenter.KindPlanError:
			killAndReap(init.pid)
			return plan.Err(rep)
		case nsenter.KindNotify:
			if err := c.forwardSeccompListener(init, spec, rep.File); err != nil {
				killAndReap(init.pid)
				return err
			}
			continue
		case nsenter.KindReady:
			if Log.Debug {
				debugf("%s %s: the plan's %s", what, c.State.ID, plan.RanToRelease())
			}
			return init.joinCgroup(cg)
		}
		killAndReap(init.pid)
		return fmt.Errorf("sync: unexpected %q from the %s process", rep.Kind, what)
	}
}
