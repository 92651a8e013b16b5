package proc

import (
	"fmt"
	"math/bits"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/nsenter"
)

// The process attributes as steps of an exec plan (nsenter.Plan), for a
// process that sets itself up without the Go runtime. PlanPrepare and
// PlanSwitchIdentity make the same system calls, in the same order and
// with the same arguments, as PrepareProcess and SwitchIdentity; the
// exec differential test holds the two to the same result.

// PlanPrepare adds what PrepareProcess does. procfsFD is a private
// procfs handle in the process, of the pid namespace it lives in.
func PlanPrepare(plan *nsenter.Plan, p *specs.Process, procfsFD int) error {
	for _, r := range p.Rlimits {
		if _, err := RlimitResource(r.Type); err != nil {
			return err
		}
		if r.Soft > r.Hard {
			return fmt.Errorf("rlimit %s: soft limit %d exceeds hard limit %d", r.Type, r.Soft, r.Hard)
		}
	}
	if s := p.Scheduler; s != nil {
		attr, err := schedAttr(s)
		if err != nil {
			return err
		}
		plan.SchedAttr(attr, fmt.Sprintf("scheduler: sched_setattr policy %s nice %d priority %d", s.Policy, s.Nice, s.Priority))
	}
	if io := p.IOPriority; io != nil {
		value, err := ioPriorityValue(io)
		if err != nil {
			return err
		}
		plan.IOPrio(value, fmt.Sprintf("ioPriority: ioprio_set class %s priority %d", io.Class, io.Priority))
	}
	if a := p.ExecCPUAffinity; a != nil && a.Initial != "" {
		set, err := ParseCPUAffinity(a.Initial)
		if err != nil {
			return fmt.Errorf("execCPUAffinity.initial: %w", err)
		}
		plan.Affinity(set, fmt.Sprintf("execCPUAffinity.initial: set CPU affinity %q", a.Initial))
	}
	if err := planLSMLabels(plan, p, procfsFD); err != nil {
		return err
	}
	plan.SessionKeyring()
	return nil
}

// planLSMLabels adds what applyLSMLabels does: the labels the kernel
// gives the process at execve, written to the attribute files of the
// process's own thread.
func planLSMLabels(plan *nsenter.Plan, p *specs.Process, procfsFD int) error {
	if profile := p.ApparmorProfile; profile != "" {
		attr, err := appArmorExecAttr()
		if err != nil {
			return fmt.Errorf("apparmor profile %s requested but AppArmor is not enabled", profile)
		}
		plan.WriteAt(procfsFD, "thread-self/"+attr, "exec "+profile, "set apparmor profile "+profile)
	}
	if label := p.SelinuxLabel; label != "" {
		if !selinux.GetEnabled() {
			return ErrSELinuxDisabled
		}
		plan.WriteAt(procfsFD, "thread-self/attr/exec", label, fmt.Sprintf("set SELinux label %q", label))
	}
	return nil
}

// PlanSwitchIdentity adds what SwitchIdentity does. setgroups says
// whether the user namespace allows setgroups(2) (see setgroupsAllowed).
func PlanSwitchIdentity(plan *nsenter.Plan, p *specs.Process, id *Identity, caps *CapSets, setgroups bool) error {
	if !setgroups && len(id.AdditionalGids) > 0 {
		return fmt.Errorf("additional gids %v requested but setgroups is denied in this user namespace", id.AdditionalGids)
	}
	for _, r := range p.Rlimits {
		resource, err := RlimitResource(r.Type)
		if err != nil {
			return err
		}
		plan.Rlimit(resource, r.Soft, r.Hard, fmt.Sprintf("set rlimit %s to soft %d hard %d", r.Type, r.Soft, r.Hard))
	}
	plan.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, "set keep-capabilities")
	for c := uint(0); c <= lastKernelCap(); c++ {
		if caps.Bounding&(1<<c) == 0 {
			plan.Prctl(unix.PR_CAPBSET_DROP, uint64(c), 0, "drop "+capabilityName(c)+" from the bounding set")
		}
	}
	if setgroups {
		plan.Setgroups(id.AdditionalGids)
	}
	plan.Setresgid(id.GID)
	plan.Setresuid(id.UID)
	plan.Capset(caps.Effective, caps.Permitted, caps.Inheritable, "set capabilities")
	plan.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, "clear keep-capabilities")
	for ambient := caps.Ambient; ambient != 0; {
		c := uint(bits.TrailingZeros64(ambient))
		ambient &^= 1 << c
		plan.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uint64(c), "raise ambient capability "+capabilityName(c))
	}
	if id.Umask != nil {
		plan.Umask(*id.Umask)
	}
	if a := p.ExecCPUAffinity; a != nil && a.Final != "" {
		set, err := ParseCPUAffinity(a.Final)
		if err != nil {
			return fmt.Errorf("execCPUAffinity.final: %w", err)
		}
		plan.Affinity(set, fmt.Sprintf("execCPUAffinity.final: set CPU affinity %q", a.Final))
	}
	return nil
}

// PlanMemoryPolicy adds what SetMemoryPolicy does.
func PlanMemoryPolicy(plan *nsenter.Plan, p *specs.LinuxMemoryPolicy) error {
	if p == nil {
		return nil
	}
	policy, err := ParseMemoryPolicy(p)
	if err != nil {
		return fmt.Errorf("linux.memoryPolicy: %w", err)
	}
	plan.MemoryPolicy(uint32(policy.Mode), policy.Nodes, fmt.Sprintf("linux.memoryPolicy: set_mempolicy(%s, nodes %q)", p.Mode, p.Nodes))
	return nil
}
