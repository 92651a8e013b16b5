package proc

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestRlimitResource(t *testing.T) {
	for name, want := range map[string]int{
		"RLIMIT_NOFILE":     unix.RLIMIT_NOFILE,
		"RLIMIT_CORE":       unix.RLIMIT_CORE,
		"RLIMIT_RTTIME":     unix.RLIMIT_RTTIME,
		"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
		"RLIMIT_AS":         unix.RLIMIT_AS,
	} {
		if got, err := RlimitResource(name); err != nil || got != want {
			t.Errorf("%s: got %d, %v; want %d", name, got, err, want)
		}
	}
	if len(rlimitResources) != 16 {
		t.Errorf("%d rlimit types mapped, Linux has 16", len(rlimitResources))
	}
	for _, name := range []string{"RLIMIT_FOO", "rlimit_nofile", "NOFILE", ""} {
		if _, err := RlimitResource(name); err == nil || err.Error() != `unknown rlimit type "`+name+`"` {
			t.Errorf("%q: got %v", name, err)
		}
	}
}

func TestCheckRlimitsRejectsBadInput(t *testing.T) {
	err := checkRlimits([]specs.POSIXRlimit{{Type: "RLIMIT_BOGUS", Soft: 1, Hard: 1}})
	if err == nil || err.Error() != `unknown rlimit type "RLIMIT_BOGUS"` {
		t.Fatalf("got %v", err)
	}
	err = checkRlimits([]specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 5}})
	if err == nil || err.Error() != "rlimit RLIMIT_NOFILE: soft limit 10 exceeds hard limit 5" {
		t.Fatalf("got %v", err)
	}
}

func TestSchedAttr(t *testing.T) {
	attr, err := schedAttr(&specs.Scheduler{
		Policy:   specs.SchedDeadline,
		Flags:    []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork, specs.SchedFlagReclaim},
		Runtime:  10,
		Deadline: 20,
		Period:   30,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_DEADLINE, Flags: unix.SCHED_FLAG_RESET_ON_FORK | unix.SCHED_FLAG_RECLAIM, Runtime: 10, Deadline: 20, Period: 30}
	if *attr != want {
		t.Fatalf("got %+v, want %+v", *attr, want)
	}
	attr, err = schedAttr(&specs.Scheduler{Policy: specs.SchedOther, Nice: -5})
	if err != nil || attr.Policy != unix.SCHED_NORMAL || attr.Nice != -5 {
		t.Fatalf("got %+v, %v", attr, err)
	}
	for s, want := range map[*specs.Scheduler]string{
		{Policy: "SCHED_BOGUS"}: `scheduler: unknown policy "SCHED_BOGUS"`,
		{Policy: specs.SchedFIFO, Flags: []specs.LinuxSchedulerFlag{"SCHED_FLAG_X"}}: `scheduler: unknown flag "SCHED_FLAG_X"`,
		{Policy: specs.SchedRR, Priority: -1}:                                        "scheduler: negative priority -1",
	} {
		if _, err := schedAttr(s); err == nil || err.Error() != want {
			t.Errorf("%+v: got %v, want %q", s, err, want)
		}
	}
}

func TestIOPriorityValue(t *testing.T) {
	for p, want := range map[specs.LinuxIOPriority]int{
		{Class: specs.IOPRIO_CLASS_RT, Priority: 0}:   1 << 13,
		{Class: specs.IOPRIO_CLASS_BE, Priority: 7}:   2<<13 | 7,
		{Class: specs.IOPRIO_CLASS_IDLE, Priority: 3}: 3<<13 | 3,
	} {
		if got, err := ioPriorityValue(&p); err != nil || got != want {
			t.Errorf("%+v: got %d, %v; want %d", p, got, err, want)
		}
	}
	for p, want := range map[specs.LinuxIOPriority]string{
		{Class: "IOPRIO_CLASS_NONE"}:                 "unknown class",
		{Class: specs.IOPRIO_CLASS_BE, Priority: 8}:  "priority 8 is outside 0..7",
		{Class: specs.IOPRIO_CLASS_BE, Priority: -1}: "priority -1 is outside 0..7",
	} {
		if _, err := ioPriorityValue(&p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: got %v, want %q", p, err, want)
		}
	}
}

// The list syntax is cgroups.ParseCPUList's (tested there); the bound is
// the affinity mask's.
func TestParseCPUAffinity(t *testing.T) {
	set, err := ParseCPUAffinity("0-2, 5,7-7,1023")
	if err != nil {
		t.Fatal(err)
	}
	for _, cpu := range []int{0, 1, 2, 3, 5, 7, 8, 1022, 1023} {
		want := cpu <= 2 || cpu == 5 || cpu == 7 || cpu == 1023
		if set.IsSet(cpu) != want {
			t.Errorf("cpu %d: set=%v, want %v", cpu, set.IsSet(cpu), want)
		}
	}
	if set.Count() != 6 {
		t.Errorf("count %d, want 6", set.Count())
	}
	for bad, want := range map[string]string{
		"": "names no CPU", "a": "not a CPU number", "3-1": "runs backwards",
		"1024": "CPU 1024 is beyond the last supported, 1023",
	} {
		if _, err := ParseCPUAffinity(bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", bad, err, want)
		}
	}
}

func TestSetPersonalityRejectsUnknown(t *testing.T) {
	if err := SetPersonality(&specs.LinuxPersonality{Domain: "LINUX64"}); err == nil || err.Error() != `personality: unknown domain "LINUX64"` {
		t.Fatalf("got %v", err)
	}
	err := SetPersonality(&specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}})
	if err == nil || err.Error() != `personality: unknown flag "ADDR_NO_RANDOMIZE"` {
		t.Fatalf("got %v", err)
	}
}
