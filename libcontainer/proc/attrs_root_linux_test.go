package proc

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

type prepareArg struct {
	Process      specs.Process
	Personality  *specs.LinuxPersonality
	NoNewKeyring bool
}

// prepareObserved is what the scenario reads back through syscalls before it
// execs a shell that reports the same things from the new program.
type prepareObserved struct {
	NofileSoft, NofileHard uint64
	Nice                   int32
	Policy                 uint32
	IOPrio                 int
	Personality            int
	Affinity               int
	SessionKeyringChanged  bool
}

func sessionKeyring() (int, error) {
	return unix.KeyctlGetKeyringID(unix.KEY_SPEC_SESSION_KEYRING, false)
}

func init() {
	childScenarios["prepare-process"] = func(raw []byte) error {
		var arg prepareArg
		if err := json.Unmarshal(raw, &arg); err != nil {
			return err
		}
		keyringBefore, err := sessionKeyring()
		if err != nil {
			return err
		}
		if err := PrepareProcess(&arg.Process, arg.NoNewKeyring); err != nil {
			return err
		}
		if err := SetRlimits(arg.Process.Rlimits); err != nil {
			return err
		}
		if err := SetPersonality(arg.Personality); err != nil {
			return err
		}
		var seen prepareObserved
		var limit unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &limit); err != nil {
			return err
		}
		seen.NofileSoft, seen.NofileHard = limit.Cur, limit.Max
		attr, err := unix.SchedGetAttr(0, 0)
		if err != nil {
			return err
		}
		seen.Nice, seen.Policy = attr.Nice, attr.Policy
		prio, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, 0, 0)
		if errno != 0 {
			return errno
		}
		seen.IOPrio = int(prio)
		persona, _, errno := unix.Syscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
		if errno != 0 {
			return errno
		}
		seen.Personality = int(persona)
		var cpus unix.CPUSet
		if err := unix.SchedGetaffinity(0, &cpus); err != nil {
			return err
		}
		seen.Affinity = cpus.Count()
		keyringAfter, err := sessionKeyring()
		if err != nil {
			return err
		}
		seen.SessionKeyringChanged = keyringAfter != keyringBefore
		encoded, err := json.Marshal(seen)
		if err != nil {
			return err
		}
		// Each line of the shell's report is read by field position below.
		return printThenExec(string(encoded)+"\n", "/bin/busybox", "sh", "-c",
			`ulimit -n; ulimit -Hn; uname -m; ionice; taskset -p $$; cat /proc/self/stat`)
	}
}

func TestPrepareProcessAppliesAttributes(t *testing.T) {
	requireRoot(t)
	// The hard limit stays where it is: the Go runtime's restore at execve
	// (the bug this catches) could not undo a lowered hard limit anyway.
	hardNofile := lowerSoftNofile(t)
	out := runScenario(t, "prepare-process", prepareArg{
		Process: specs.Process{
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 100, Hard: hardNofile}},
			Scheduler:       &specs.Scheduler{Policy: specs.SchedBatch, Nice: 7},
			IOPriority:      &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 6},
			ExecCPUAffinity: &specs.CPUAffinity{Initial: "0"},
		},
		Personality: &specs.LinuxPersonality{Domain: specs.PerLinux32},
	}, nil)
	before, after := splitAtExec(t, out)

	var seen prepareObserved
	if err := json.Unmarshal([]byte(before), &seen); err != nil {
		t.Fatalf("%v: %q", err, before)
	}
	want := prepareObserved{
		NofileSoft: 100, NofileHard: hardNofile,
		Nice: 7, Policy: unix.SCHED_BATCH,
		IOPrio:                2<<ioprioClassShift | 6,
		Personality:           0x0008,
		Affinity:              1,
		SessionKeyringChanged: true,
	}
	if seen != want {
		t.Errorf("in the process: got %+v, want %+v", seen, want)
	}

	// After execve: the Go runtime must not have restored its own NOFILE
	// limit, and the thread's attributes carried over to the program.
	lines := strings.Split(strings.TrimSpace(after), "\n")
	if len(lines) != 6 {
		t.Fatalf("unexpected shell report:\n%s", after)
	}
	for i, wantLine := range []string{"100", strconv.FormatUint(hardNofile, 10), "i686", "best-effort: prio 6"} {
		if lines[i] != wantLine {
			t.Errorf("after execve, line %d: %q, want %q", i, lines[i], wantLine)
		}
	}
	if !strings.HasSuffix(lines[4], "current affinity mask: 1") {
		t.Errorf("after execve, affinity: %q", lines[4])
	}
	// /proc/self/stat: field 19 is nice; comm "(cat)" has no spaces.
	if stat := strings.Fields(lines[5]); len(stat) < 19 || stat[18] != "7" {
		t.Errorf("after execve, nice in %q", lines[5])
	}
}

func TestPrepareProcessNoNewKeyring(t *testing.T) {
	requireRoot(t)
	out := runScenario(t, "prepare-process", prepareArg{NoNewKeyring: true}, nil)
	before, _ := splitAtExec(t, out)
	var seen prepareObserved
	if err := json.Unmarshal([]byte(before), &seen); err != nil {
		t.Fatal(err)
	}
	if seen.SessionKeyringChanged {
		t.Fatal("noNewKeyring: the session keyring was replaced")
	}
}

func TestPrepareProcessErrors(t *testing.T) {
	requireRoot(t)
	var current unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &current); err != nil {
		t.Fatal(err)
	}
	raise := "needs CAP_SYS_RESOURCE"
	if hasEffectiveCap(t, unix.CAP_SYS_RESOURCE) || current.Max == unix.RLIM_INFINITY {
		raise = "" // nothing to raise to, or the raise is allowed
	}
	for name, tc := range map[string]struct {
		process specs.Process
		want    string
	}{
		"raise hard rlimit": {
			specs.Process{Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: current.Max + 1, Hard: current.Max + 1}}},
			raise,
		},
		"apparmor unavailable": {
			specs.Process{ApparmorProfile: "docker-default"},
			"apparmor profile docker-default requested but AppArmor is not enabled",
		},
		"bad rlimit": {
			specs.Process{Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_WHAT"}}},
			`unknown rlimit type "RLIMIT_WHAT"`,
		},
		"cpu beyond the machine": {
			specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Initial: "1000"}},
			`execCPUAffinity.initial: set CPU affinity "1000": invalid argument`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.want == "" {
				t.Skip("the hard NOFILE limit cannot be raised into an error here")
			}
			if name == "apparmor unavailable" && AppArmorEnabled() {
				t.Skip("AppArmor is enabled on this host")
			}
			stderr, err := runScenarioErr(t, "prepare-process", prepareArg{Process: tc.process})
			if err == nil || !strings.Contains(stderr, tc.want) {
				t.Fatalf("got %v, stderr %q, want %q", err, stderr, tc.want)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Fatalf("the error is not one line: %q", stderr)
			}
		})
	}
}

// A label that cannot take effect is an error, as in runc: dropping it
// would run the process less confined than the config asks.
func TestSELinuxLabelRefusedWhenSELinuxIsOff(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
		t.Skip("SELinux is on here")
	}
	stderr, err := runScenarioErr(t, "prepare-process", prepareArg{Process: specs.Process{SelinuxLabel: "system_u:system_r:container_t:s0"}})
	if err == nil || !strings.Contains(stderr, ErrSELinuxDisabled.Error()) {
		t.Fatalf("scenario with an SELinux label: err %v, stderr %q; want %q", err, stderr, ErrSELinuxDisabled)
	}
}

// lowerSoftNofile starts children with a soft NOFILE limit below the hard one,
// as runtimes are usually started. The Go runtime then raises the soft limit
// at startup and restores it at execve unless told otherwise, which is the
// behaviour the NOFILE check after execve has to catch.
func lowerSoftNofile(t *testing.T) (hard uint64) {
	t.Helper()
	var saved unix.Rlimit
	if err := unix.Prlimit(0, unix.RLIMIT_NOFILE, nil, &saved); err != nil {
		t.Fatal(err)
	}
	if saved.Max <= 1024 {
		t.Fatalf("hard NOFILE limit %d leaves no room below it", saved.Max)
	}
	lowered := unix.Rlimit{Cur: 1024, Max: saved.Max}
	if err := unix.Prlimit(0, unix.RLIMIT_NOFILE, &lowered, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Prlimit(0, unix.RLIMIT_NOFILE, &saved, nil); err != nil {
			t.Error(err)
		}
	})
	return saved.Max
}

func hasEffectiveCap(t *testing.T, c int) bool {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	eff, err := strconv.ParseUint(statusFields(string(status))["CapEff"], 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return eff&(1<<c) != 0
}
