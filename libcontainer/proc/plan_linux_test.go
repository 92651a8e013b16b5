package proc

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/nsenter"
)

func TestPlanPrepareRefusesBadAttributes(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    specs.Process
		want string
	}{
		{"soft above hard", specs.Process{Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 2, Hard: 1}}}, "soft limit 2 exceeds hard limit 1"},
		{"unknown rlimit", specs.Process{Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOPE"}}}, `unknown rlimit type "RLIMIT_NOPE"`},
		{"unknown policy", specs.Process{Scheduler: &specs.Scheduler{Policy: "SCHED_NOPE"}}, `unknown policy "SCHED_NOPE"`},
		{"bad cpu list", specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Initial: "3-1"}}, "execCPUAffinity.initial"},
	} {
		err := PlanPrepare(&nsenter.Plan{}, &tc.p, 5)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

// The identity steps come in SwitchIdentity's order: limits while the
// capabilities to raise them are still held, the bounding set while
// CAP_SETPCAP is, groups and ids with keep-capabilities set, ambient
// capabilities after the uid switch that would clear them.
func TestPlanSwitchIdentityOrder(t *testing.T) {
	umask := uint32(0o077)
	p := &specs.Process{Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 20}}}
	id := &Identity{UID: 1000, GID: 1001, AdditionalGids: []uint32{5}, Umask: &umask}
	caps := &CapSets{Bounding: 1<<13 | 1<<10, Permitted: 1 << 13, Effective: 1 << 13, Inheritable: 1 << 13, Ambient: 1 << 13}
	plan := &nsenter.Plan{}
	if err := PlanSwitchIdentity(plan, p, id, caps, true); err != nil {
		t.Fatal(err)
	}
	got := plan.String()
	order := []string{"set rlimit RLIMIT_NOFILE to soft 10 hard 20", "set keep-capabilities", "drop CAP_CHOWN from the bounding set",
		"setgroups [5]", "setresgid 1001", "setresuid 1000", "set capabilities", "clear keep-capabilities",
		"raise ambient capability CAP_NET_RAW", "umask"}
	at := 0
	for _, step := range order {
		i := strings.Index(got[at:], step)
		if i < 0 {
			t.Fatalf("%q missing or out of order in %s", step, got)
		}
		at += i + len(step)
	}
	for _, kept := range []string{"drop CAP_NET_RAW", "drop CAP_NET_BIND_SERVICE"} {
		if strings.Contains(got, kept) {
			t.Errorf("the plan drops a capability the bounding set keeps: %s", got)
		}
	}
}

func TestPlanSwitchIdentityRespectsDeniedSetgroups(t *testing.T) {
	id := &Identity{UID: 1, GID: 1}
	plan := &nsenter.Plan{}
	if err := PlanSwitchIdentity(plan, &specs.Process{}, id, &CapSets{}, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plan.String(), "setgroups") {
		t.Errorf("setgroups planned where the user namespace denies it: %s", plan)
	}
	id.AdditionalGids = []uint32{5}
	if err := PlanSwitchIdentity(&nsenter.Plan{}, &specs.Process{}, id, &CapSets{}, false); err == nil {
		t.Error("additional gids accepted where setgroups is denied")
	}
}
