package configs

import (
	"errors"
	"fmt"
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/libcontainer/proc"
	"github.com/oci-rt/oci-rt/seccomp"
)

// ngroupsMax is the kernel's NGROUPS_MAX: setgroups refuses a longer list.
const ngroupsMax = 65536

// Validate checks a spec semantically, before anything is created, and
// returns the first problem found as one line naming the field.
func Validate(spec *specs.Spec) error {
	if spec == nil {
		return errors.New("config is empty")
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return errors.New("root.path is missing")
	}
	if spec.Linux == nil {
		return errors.New("linux: missing")
	}
	checks := []func(*specs.Spec) error{
		validateProcess,
		validateNamespaces,
		validateIDMappings,
		validateMounts,
		validatePaths,
		validateSharedMountNamespace,
		validateSysctls,
		validateHostname,
		validateHooks,
		validateCgroupsPath,
		validateResources,
		validateDevices,
		validateSeccomp,
		validatePersonality,
	}
	for _, check := range checks {
		if err := check(spec); err != nil {
			return presentable(err)
		}
	}
	return nil
}

func validateProcess(spec *specs.Spec) error {
	p := spec.Process
	if p == nil {
		return errors.New("process: missing (the container needs a process to run)")
	}
	if len(p.Args) == 0 || p.Args[0] == "" {
		return errors.New("process.args: empty (nothing to run)")
	}
	for i, arg := range p.Args {
		if strings.IndexByte(arg, 0) >= 0 {
			return fmt.Errorf("process.args[%d] %q: contains a NUL byte", i, arg)
		}
	}
	if err := validateEnv("process.env", p.Env); err != nil {
		return err
	}
	if err := requireAbsolute("process.cwd", p.Cwd); err != nil {
		return err
	}
	if n := len(p.User.AdditionalGids); n > ngroupsMax {
		return fmt.Errorf("process.user.additionalGids: %d groups, more than the kernel's limit of %d", n, ngroupsMax)
	}
	if p.User.Umask != nil && *p.User.Umask > 0o777 {
		return fmt.Errorf("process.user.umask %#o: more than 0777", *p.User.Umask)
	}
	if p.OOMScoreAdj != nil && (*p.OOMScoreAdj < -1000 || *p.OOMScoreAdj > 1000) {
		return fmt.Errorf("process.oomScoreAdj %d: not in [-1000, 1000]", *p.OOMScoreAdj)
	}
	if err := validateCapabilities(p.Capabilities); err != nil {
		return err
	}
	if err := validateRlimits(p.Rlimits); err != nil {
		return err
	}
	if err := validateScheduler(p.Scheduler); err != nil {
		return err
	}
	if err := validateIOPriority(p.IOPriority); err != nil {
		return err
	}
	if err := validateCPUAffinity(p.ExecCPUAffinity); err != nil {
		return err
	}
	if err := validateLabel("process.apparmorProfile", p.ApparmorProfile, apparmorProblem); err != nil {
		return err
	}
	if err := validateLabel("process.selinuxLabel", p.SelinuxLabel, selinuxProblem); err != nil {
		return err
	}
	return validateLabel("linux.mountLabel", spec.Linux.MountLabel, selinuxProblem)
}

// validateEnv applies the rules execve and runc's environment handling
// impose: NAME=value with a non-empty name and no NUL anywhere.
func validateEnv(field string, env []string) error {
	for i, kv := range env {
		name, _, found := strings.Cut(kv, "=")
		switch {
		case !found:
			return fmt.Errorf("%s[%d] %q: missing '='", field, i, kv)
		case name == "":
			return fmt.Errorf("%s[%d] %q: empty variable name", field, i, kv)
		case strings.IndexByte(kv, 0) >= 0:
			return fmt.Errorf("%s[%d] %q: contains a NUL byte", field, i, kv)
		}
	}
	return nil
}

func requireAbsolute(field, p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%s: missing", field)
	case !path.IsAbs(p):
		return fmt.Errorf("%s %q: not an absolute path", field, p)
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("%s %q: contains a NUL byte", field, p)
	}
	return nil
}

func validateRlimits(rlimits []specs.POSIXRlimit) error {
	seen := make(map[string]bool, len(rlimits))
	for i, rl := range rlimits {
		field := fmt.Sprintf("process.rlimits[%d]", i)
		if _, err := proc.RlimitResource(rl.Type); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		if seen[rl.Type] {
			return fmt.Errorf("%s: %s is listed more than once", field, rl.Type)
		}
		seen[rl.Type] = true
		if rl.Soft > rl.Hard {
			return fmt.Errorf("%s: %s soft limit %d is above the hard limit %d", field, rl.Type, rl.Soft, rl.Hard)
		}
	}
	return nil
}

var schedulerPolicies = map[specs.LinuxSchedulerPolicy]bool{
	specs.SchedOther: true, specs.SchedFIFO: true, specs.SchedRR: true,
	specs.SchedBatch: true, specs.SchedISO: true, specs.SchedIdle: true,
	specs.SchedDeadline: true,
}

var schedulerFlags = map[specs.LinuxSchedulerFlag]bool{
	specs.SchedFlagResetOnFork: true, specs.SchedFlagReclaim: true,
	specs.SchedFlagDLOverrun: true, specs.SchedFlagKeepPolicy: true,
	specs.SchedFlagKeepParams: true, specs.SchedFlagUtilClampMin: true,
	specs.SchedFlagUtilClampMax: true,
}

// validateScheduler rejects combinations sched_setattr(2) would refuse
// only after the container is half built.
func validateScheduler(s *specs.Scheduler) error {
	if s == nil {
		return nil
	}
	if !schedulerPolicies[s.Policy] {
		return fmt.Errorf("process.scheduler.policy %q: unknown policy", s.Policy)
	}
	for _, flag := range s.Flags {
		if !schedulerFlags[flag] {
			return fmt.Errorf("process.scheduler.flags: unknown flag %q", flag)
		}
	}
	if s.Nice < -20 || s.Nice > 19 {
		return fmt.Errorf("process.scheduler.nice %d: not in [-20, 19]", s.Nice)
	}
	realtime := s.Policy == specs.SchedFIFO || s.Policy == specs.SchedRR
	switch {
	case realtime && (s.Priority < 1 || s.Priority > 99):
		return fmt.Errorf("process.scheduler.priority %d: %s needs a priority in [1, 99]", s.Priority, s.Policy)
	case !realtime && s.Priority != 0:
		return fmt.Errorf("process.scheduler.priority %d: only SCHED_FIFO and SCHED_RR take a priority", s.Priority)
	}
	if s.Policy != specs.SchedDeadline && (s.Runtime != 0 || s.Deadline != 0 || s.Period != 0) {
		return errors.New("process.scheduler: runtime, deadline and period are only for SCHED_DEADLINE")
	}
	return nil
}

func validateIOPriority(p *specs.LinuxIOPriority) error {
	if p == nil {
		return nil
	}
	switch p.Class {
	case specs.IOPRIO_CLASS_RT, specs.IOPRIO_CLASS_BE, specs.IOPRIO_CLASS_IDLE:
	default:
		return fmt.Errorf("process.ioPriority.class %q: unknown class", p.Class)
	}
	if p.Priority < 0 || p.Priority > 7 {
		return fmt.Errorf("process.ioPriority.priority %d: not in [0, 7]", p.Priority)
	}
	return nil
}

func validateCPUAffinity(a *specs.CPUAffinity) error {
	if a == nil {
		return nil
	}
	if err := validateCPUList(a.Initial); err != nil {
		return fmt.Errorf("process.execCPUAffinity.initial %q: %w", a.Initial, err)
	}
	if err := validateCPUList(a.Final); err != nil {
		return fmt.Errorf("process.execCPUAffinity.final %q: %w", a.Final, err)
	}
	return nil
}

// validateCPUList parses an execCPUAffinity list the way the init will,
// so that one it could not apply fails here; an empty list means "not
// set".
func validateCPUList(list string) error {
	if list == "" {
		return nil
	}
	_, err := proc.ParseCPUAffinity(list)
	return err
}

// labelMaxLength is generous for both LSMs; the kernel itself caps what it
// accepts through /proc/self/attr at a page.
const labelMaxLength = 4096

func validateLabel(field, label string, problem func(string) string) error {
	if label == "" {
		return nil
	}
	if len(label) > labelMaxLength {
		return fmt.Errorf("%s: longer than %d bytes", field, labelMaxLength)
	}
	for _, c := range []byte(label) {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("%s %q: contains a control character", field, label)
		}
	}
	if reason := problem(label); reason != "" {
		return fmt.Errorf("%s %q: %s", field, label, reason)
	}
	return nil
}

// apparmorProblem rejects what aa_change_onexec would misparse: the profile
// name is written as "exec <name>", so spaces would split it.
func apparmorProblem(profile string) string {
	if strings.ContainsAny(profile, " \t") {
		return "contains whitespace"
	}
	return ""
}

// selinuxProblem requires the user:role:type[:level] shape of a context.
func selinuxProblem(label string) string {
	parts := strings.SplitN(label, ":", 4)
	if len(parts) < 3 {
		return "not a user:role:type[:level] context"
	}
	for _, part := range parts {
		if part == "" {
			return "empty component in user:role:type[:level] context"
		}
	}
	if strings.ContainsAny(label, " \t") {
		return "contains whitespace"
	}
	return ""
}

func validateHooks(spec *specs.Spec) error {
	h := spec.Hooks
	if h == nil {
		return nil
	}
	lists := []struct {
		name  string
		hooks []specs.Hook
	}{
		{"prestart", h.Prestart},
		{"createRuntime", h.CreateRuntime},
		{"createContainer", h.CreateContainer},
		{"startContainer", h.StartContainer},
		{"poststart", h.Poststart},
		{"poststop", h.Poststop},
	}
	for _, list := range lists {
		for i, hook := range list.hooks {
			field := fmt.Sprintf("hooks.%s[%d]", list.name, i)
			if err := requireAbsolute(field+".path", hook.Path); err != nil {
				return err
			}
			if hook.Timeout != nil && *hook.Timeout <= 0 {
				return fmt.Errorf("%s.timeout %d: must be more than 0 seconds", field, *hook.Timeout)
			}
			for j, arg := range hook.Args {
				if strings.IndexByte(arg, 0) >= 0 {
					return fmt.Errorf("%s.args[%d] %q: contains a NUL byte", field, j, arg)
				}
			}
			if err := validateEnv(field+".env", hook.Env); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateSeccomp(spec *specs.Spec) error {
	// seccomp.Validate names the field itself ("seccomp: ...").
	return seccomp.Validate(spec.Linux.Seccomp)
}

func validatePersonality(spec *specs.Spec) error {
	p := spec.Linux.Personality
	if p == nil {
		return nil
	}
	if p.Domain != specs.PerLinux && p.Domain != specs.PerLinux32 {
		return fmt.Errorf("linux.personality.domain %q: unknown domain (LINUX or LINUX32)", p.Domain)
	}
	// runtime-spec 1.3 defines no personality flags.
	if len(p.Flags) > 0 {
		return fmt.Errorf("linux.personality.flags: unknown flag %q", p.Flags[0])
	}
	return nil
}

func validateCapabilities(caps *specs.LinuxCapabilities) error {
	if _, err := proc.ParseCapabilities(caps); err != nil {
		return fmt.Errorf("process.capabilities: %w", err)
	}
	return nil
}
