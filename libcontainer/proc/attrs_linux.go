package proc

import (
	"fmt"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
)

var rlimitResources = map[string]int{
	"RLIMIT_AS":         unix.RLIMIT_AS,
	"RLIMIT_CORE":       unix.RLIMIT_CORE,
	"RLIMIT_CPU":        unix.RLIMIT_CPU,
	"RLIMIT_DATA":       unix.RLIMIT_DATA,
	"RLIMIT_FSIZE":      unix.RLIMIT_FSIZE,
	"RLIMIT_LOCKS":      unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK":    unix.RLIMIT_MEMLOCK,
	"RLIMIT_MSGQUEUE":   unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE":       unix.RLIMIT_NICE,
	"RLIMIT_NOFILE":     unix.RLIMIT_NOFILE,
	"RLIMIT_NPROC":      unix.RLIMIT_NPROC,
	"RLIMIT_RSS":        unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO":     unix.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME":     unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK":      unix.RLIMIT_STACK,
}

// RlimitResource maps a spec rlimit type ("RLIMIT_NOFILE") to its resource
// number.
func RlimitResource(name string) (int, error) {
	resource, known := rlimitResources[name]
	if !known {
		return 0, fmt.Errorf("unknown rlimit type %q", name)
	}
	return resource, nil
}

// PrepareProcess applies the process attributes that need privileges (but
// the oom_score_adj, which the process's stage sets: see
// nsenter.Bootstrap.OOMScoreAdj), so it runs before SwitchIdentity.
// Scheduler, I/O priority and CPU affinity are per-thread: the caller must
// stay on its locked OS thread until execve.
// Rlimits are only checked here: they bind the container's process, not
// the runtime's Go code that still runs until execve (an RLIMIT_AS of 1 GiB
// starves its heap); SwitchIdentity applies them.
func PrepareProcess(p *specs.Process, noNewKeyring bool) error {
	if err := checkRlimits(p.Rlimits); err != nil {
		return err
	}
	if p.Scheduler != nil {
		if err := setScheduler(p.Scheduler); err != nil {
			return err
		}
	}
	if p.IOPriority != nil {
		if err := setIOPriority(p.IOPriority); err != nil {
			return err
		}
	}
	if p.ExecCPUAffinity != nil && p.ExecCPUAffinity.Initial != "" {
		if err := setCPUAffinity(p.ExecCPUAffinity.Initial); err != nil {
			return fmt.Errorf("execCPUAffinity.initial: %w", err)
		}
	}
	if err := applyLSMLabels(p); err != nil {
		return err
	}
	if !noNewKeyring {
		if err := joinNewSessionKeyring(); err != nil {
			return err
		}
	}
	return nil
}

// checkRlimits fails on what SetRlimits would refuse, without changing a
// limit, so that such a config fails create rather than start.
func checkRlimits(rlimits []specs.POSIXRlimit) error {
	canRaise, err := effectiveCap(unix.CAP_SYS_RESOURCE)
	if err != nil {
		return err
	}
	for _, r := range rlimits {
		resource, err := RlimitResource(r.Type)
		if err != nil {
			return err
		}
		if r.Soft > r.Hard {
			return fmt.Errorf("rlimit %s: soft limit %d exceeds hard limit %d", r.Type, r.Soft, r.Hard)
		}
		var current unix.Rlimit
		if err := unix.Prlimit(0, resource, nil, &current); err != nil {
			return fmt.Errorf("get rlimit %s: %w", r.Type, err)
		}
		if r.Hard > current.Max && !canRaise {
			return fmt.Errorf("set rlimit %s to soft %d hard %d: %w (raising the hard limit above %d needs CAP_SYS_RESOURCE)", r.Type, r.Soft, r.Hard, unix.EPERM, current.Max)
		}
	}
	return nil
}

// SetRlimits applies the process's rlimits with prlimit, a raw system call
// (see rawsys_linux.go). SwitchIdentity calls it as late as it can: before
// CAP_SYS_RESOURCE may go.
func SetRlimits(rlimits []specs.POSIXRlimit) error {
	for _, r := range rlimits {
		resource, err := RlimitResource(r.Type)
		if err != nil {
			return err
		}
		// prlimit (unlike a raw syscall) tells the Go runtime not to restore
		// its own RLIMIT_NOFILE at execve.
		limit := unix.Rlimit{Cur: r.Soft, Max: r.Hard}
		if err := unix.Prlimit(0, resource, &limit, nil); err != nil {
			return fmt.Errorf("set rlimit %s to soft %d hard %d: %w", r.Type, r.Soft, r.Hard, err)
		}
	}
	return nil
}

// effectiveCap reports whether this thread holds capability c.
func effectiveCap(c int) (bool, error) {
	data, err := capget()
	if err != nil {
		return false, err
	}
	return data[c/32].Effective&(1<<(c%32)) != 0, nil
}

var schedulerPolicies = map[specs.LinuxSchedulerPolicy]uint32{
	specs.SchedOther:    unix.SCHED_NORMAL,
	specs.SchedFIFO:     unix.SCHED_FIFO,
	specs.SchedRR:       unix.SCHED_RR,
	specs.SchedBatch:    unix.SCHED_BATCH,
	specs.SchedISO:      4, // reserved by the kernel; sched_setattr refuses it
	specs.SchedIdle:     unix.SCHED_IDLE,
	specs.SchedDeadline: unix.SCHED_DEADLINE,
}

var schedulerFlags = map[specs.LinuxSchedulerFlag]uint64{
	specs.SchedFlagResetOnFork:  unix.SCHED_FLAG_RESET_ON_FORK,
	specs.SchedFlagReclaim:      unix.SCHED_FLAG_RECLAIM,
	specs.SchedFlagDLOverrun:    unix.SCHED_FLAG_DL_OVERRUN,
	specs.SchedFlagKeepPolicy:   unix.SCHED_FLAG_KEEP_POLICY,
	specs.SchedFlagKeepParams:   unix.SCHED_FLAG_KEEP_PARAMS,
	specs.SchedFlagUtilClampMin: unix.SCHED_FLAG_UTIL_CLAMP_MIN,
	specs.SchedFlagUtilClampMax: unix.SCHED_FLAG_UTIL_CLAMP_MAX,
}

// schedAttr translates the spec's scheduler into sched_setattr's argument.
func schedAttr(s *specs.Scheduler) (*unix.SchedAttr, error) {
	policy, known := schedulerPolicies[s.Policy]
	if !known {
		return nil, fmt.Errorf("scheduler: unknown policy %q", s.Policy)
	}
	if s.Priority < 0 {
		return nil, fmt.Errorf("scheduler: negative priority %d", s.Priority)
	}
	attr := &unix.SchedAttr{
		Size:     unix.SizeofSchedAttr,
		Policy:   policy,
		Nice:     s.Nice,
		Priority: uint32(s.Priority),
		Runtime:  s.Runtime,
		Deadline: s.Deadline,
		Period:   s.Period,
	}
	for _, name := range s.Flags {
		flag, known := schedulerFlags[name]
		if !known {
			return nil, fmt.Errorf("scheduler: unknown flag %q", name)
		}
		attr.Flags |= flag
	}
	return attr, nil
}

func setScheduler(s *specs.Scheduler) error {
	attr, err := schedAttr(s)
	if err != nil {
		return err
	}
	if err := unix.SchedSetAttr(0, attr, 0); err != nil {
		return fmt.Errorf("scheduler: sched_setattr policy %s nice %d priority %d: %w", s.Policy, s.Nice, s.Priority, err)
	}
	return nil
}

const (
	ioprioClassShift = 13
	ioprioWhoProcess = 1
)

var ioPriorityClasses = map[specs.IOPriorityClass]int{
	specs.IOPRIO_CLASS_RT:   1,
	specs.IOPRIO_CLASS_BE:   2,
	specs.IOPRIO_CLASS_IDLE: 3,
}

// ioPriorityValue encodes class and level the way ioprio_set takes them.
func ioPriorityValue(p *specs.LinuxIOPriority) (int, error) {
	class, known := ioPriorityClasses[p.Class]
	if !known {
		return 0, fmt.Errorf("ioPriority: unknown class %q", p.Class)
	}
	if p.Priority < 0 || p.Priority > 7 {
		return 0, fmt.Errorf("ioPriority: priority %d is outside 0..7", p.Priority)
	}
	return class<<ioprioClassShift | p.Priority, nil
}

func setIOPriority(p *specs.LinuxIOPriority) error {
	value, err := ioPriorityValue(p)
	if err != nil {
		return err
	}
	if _, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(value)); errno != 0 {
		return fmt.Errorf("ioPriority: ioprio_set class %s priority %d: %w", p.Class, p.Priority, errno)
	}
	return nil
}

// affinityCPUs is how many CPUs the affinity mask sched_setaffinity
// gets has room for: a CPU numbered beyond it cannot be asked for.
const affinityCPUs = int(unsafe.Sizeof(unix.CPUSet{})) * 8

// ParseCPUAffinity parses an execCPUAffinity list ("0-3,7"); create
// validates with it, so that a list the init could not apply fails there.
func ParseCPUAffinity(list string) (*unix.CPUSet, error) {
	cpus, err := cgroups.ParseCPUList(list, affinityCPUs)
	if err != nil {
		return nil, err
	}
	set := &unix.CPUSet{}
	for cpu := range affinityCPUs {
		if cpus.IsSet(cpu) {
			set.Set(cpu)
		}
	}
	return set, nil
}

func setCPUAffinity(list string) error {
	set, err := ParseCPUAffinity(list)
	if err != nil {
		return fmt.Errorf("CPU list %q: %w", list, err)
	}
	if err := unix.SchedSetaffinity(0, set); err != nil {
		return fmt.Errorf("set CPU affinity %q: %w", list, err)
	}
	return nil
}

// joinNewSessionKeyring gives the process a fresh anonymous session keyring so
// that it cannot reach the keys of the session it was started from.
func joinNewSessionKeyring() error {
	_, _, errno := unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_JOIN_SESSION_KEYRING, 0, 0)
	// Without keyring support there is nothing to inherit.
	if errno != 0 && errno != unix.ENOSYS {
		return fmt.Errorf("join a new session keyring: %w", errno)
	}
	return nil
}

// personality(2) domains from <linux/personality.h>.
var personalityDomains = map[specs.LinuxPersonalityDomain]uintptr{
	specs.PerLinux:   0x0000,
	specs.PerLinux32: 0x0008,
}

// SetPersonality applies linux.personality (not part of process, hence
// separate from PrepareProcess). The spec defines no flags, so any flag is an
// error rather than silently dropped.
func SetPersonality(p *specs.LinuxPersonality) error {
	if p == nil {
		return nil
	}
	domain, err := PersonalityValue(p)
	if err != nil {
		return err
	}
	if _, _, errno := unix.Syscall(unix.SYS_PERSONALITY, domain, 0, 0); errno != 0 {
		return fmt.Errorf("personality %s: %w", p.Domain, errno)
	}
	return nil
}

// PersonalityValue is personality(2)'s argument for p.
func PersonalityValue(p *specs.LinuxPersonality) (uintptr, error) {
	domain, known := personalityDomains[p.Domain]
	if !known {
		return 0, fmt.Errorf("personality: unknown domain %q", p.Domain)
	}
	if len(p.Flags) > 0 {
		return 0, fmt.Errorf("personality: unknown flag %q", p.Flags[0])
	}
	return domain, nil
}
