package proc

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

type switchArg struct {
	Process specs.Process
	ID      Identity
}

func init() {
	childScenarios["switch-identity"] = func(raw []byte) error {
		var arg switchArg
		if err := json.Unmarshal(raw, &arg); err != nil {
			return err
		}
		caps, err := ParseCapabilities(arg.Process.Capabilities)
		if err != nil {
			return err
		}
		if err := NoNewPrivileges(&arg.Process); err != nil {
			return err
		}
		if err := SwitchIdentity(&arg.Process, &arg.ID, caps); err != nil {
			return err
		}
		// The locked thread, not the thread-group leader, carries the caps.
		status, err := os.ReadFile("/proc/thread-self/status")
		if err != nil {
			return err
		}
		return printThenExec(string(status), "/bin/busybox", "cat", "/proc/self/status")
	}
}

func capHex(caps ...int) string {
	var mask uint64
	for _, c := range caps {
		mask |= 1 << c
	}
	return fmt.Sprintf("%016x", mask)
}

func assertStatus(t *testing.T, when, status string, want map[string]string) {
	t.Helper()
	fields := statusFields(status)
	for key, value := range want {
		if fields[key] != value {
			t.Errorf("%s: %s = %q, want %q", when, key, fields[key], value)
		}
	}
}

func TestSwitchIdentityToUnprivilegedUser(t *testing.T) {
	requireRoot(t)
	umask := uint32(0o027)
	out := runScenario(t, "switch-identity", switchArg{
		Process: specs.Process{
			NoNewPrivileges: true,
			Capabilities: &specs.LinuxCapabilities{
				Bounding:    []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
				Effective:   []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
				Permitted:   []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
				Inheritable: []string{"CAP_NET_BIND_SERVICE"},
				Ambient:     []string{"CAP_NET_BIND_SERVICE"},
			},
		},
		ID: Identity{UID: 1000, GID: 1001, AdditionalGids: []uint32{10, 20}, Umask: &umask},
	}, nil)
	before, after := splitAtExec(t, out)

	common := map[string]string{
		"Uid":        "1000 1000 1000 1000",
		"Gid":        "1001 1001 1001 1001",
		"Groups":     "10 20",
		"NoNewPrivs": "1",
		"Umask":      "0027",
		"CapBnd":     capHex(unix.CAP_CHOWN, unix.CAP_KILL, unix.CAP_NET_BIND_SERVICE),
		"CapInh":     capHex(unix.CAP_NET_BIND_SERVICE),
		"CapAmb":     capHex(unix.CAP_NET_BIND_SERVICE),
	}
	assertStatus(t, "before execve", before, common)
	assertStatus(t, "before execve", before, map[string]string{
		"CapPrm": capHex(unix.CAP_CHOWN, unix.CAP_KILL, unix.CAP_NET_BIND_SERVICE),
		"CapEff": capHex(unix.CAP_CHOWN, unix.CAP_NET_BIND_SERVICE),
	})
	// A non-root execve of a file without file capabilities keeps only the
	// ambient set: that is what the container's program really runs with.
	assertStatus(t, "after execve", after, common)
	assertStatus(t, "after execve", after, map[string]string{
		"CapPrm": capHex(unix.CAP_NET_BIND_SERVICE),
		"CapEff": capHex(unix.CAP_NET_BIND_SERVICE),
	})
}

func TestSwitchIdentityExecCapsKeepInheritableEmpty(t *testing.T) {
	requireRoot(t)
	base := &specs.LinuxCapabilities{
		Bounding:  []string{"CAP_KILL"},
		Effective: []string{"CAP_KILL"},
		Permitted: []string{"CAP_KILL"},
	}
	out := runScenario(t, "switch-identity", switchArg{
		Process: specs.Process{Capabilities: WithExecCaps(base, []string{"CAP_NET_ADMIN"})},
		ID:      Identity{UID: 0, GID: 0},
	}, nil)
	before, after := splitAtExec(t, out)
	want := map[string]string{
		"Uid":    "0 0 0 0",
		"Groups": "",
		"CapInh": capHex(),
		"CapAmb": capHex(),
		"CapBnd": capHex(unix.CAP_KILL, unix.CAP_NET_ADMIN),
		"CapPrm": capHex(unix.CAP_KILL, unix.CAP_NET_ADMIN),
		"CapEff": capHex(unix.CAP_KILL, unix.CAP_NET_ADMIN),
	}
	assertStatus(t, "before execve", before, want)
	assertStatus(t, "after execve", after, want)
}

func TestSwitchIdentityNilCapabilitiesKeepNone(t *testing.T) {
	requireRoot(t)
	out := runScenario(t, "switch-identity", switchArg{ID: Identity{UID: 0, GID: 0}}, nil)
	_, after := splitAtExec(t, out)
	for _, set := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if got := statusFields(after)[set]; got != capHex() {
			t.Errorf("%s = %s, want empty", set, got)
		}
	}
	if got := statusFields(after)["NoNewPrivs"]; got != "0" {
		t.Errorf("NoNewPrivs = %s without noNewPrivileges", got)
	}
}

func TestSwitchIdentityInheritableOutsideBoundingIsAnError(t *testing.T) {
	requireRoot(t)
	cmdOut, err := runScenarioErr(t, "switch-identity", switchArg{
		Process: specs.Process{Capabilities: &specs.LinuxCapabilities{
			Bounding:    []string{"CAP_KILL"},
			Permitted:   []string{"CAP_KILL", "CAP_SYS_ADMIN"},
			Inheritable: []string{"CAP_SYS_ADMIN"},
		}},
		ID: Identity{UID: 1000, GID: 1000},
	})
	if err == nil || !strings.Contains(cmdOut, "inheritable CAP_SYS_ADMIN not in the bounding set") {
		t.Fatalf("got %v: %s", err, cmdOut)
	}
}

func TestSwitchIdentityWhereSetgroupsIsDenied(t *testing.T) {
	requireRoot(t)
	// Root stays root inside, so the re-exec'd child keeps its capabilities.
	idMap := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: 1, HostID: 100001, Size: 65535}}
	userns := func() *syscall.SysProcAttr {
		return &syscall.SysProcAttr{
			Cloneflags:                 syscall.CLONE_NEWUSER,
			UidMappings:                idMap,
			GidMappings:                idMap,
			GidMappingsEnableSetgroups: false,
		}
	}
	out := runScenario(t, "switch-identity", switchArg{ID: Identity{UID: 1000, GID: 1000}}, userns())
	_, after := splitAtExec(t, out)
	// status shows the ids as the reader's (the namespace's) view.
	assertStatus(t, "after execve", after, map[string]string{"Uid": "1000 1000 1000 1000", "Gid": "1000 1000 1000 1000", "Groups": ""})

	stdout, stderr, err := startScenario(t, "switch-identity", switchArg{ID: Identity{UID: 1000, GID: 1000, AdditionalGids: []uint32{10}}}, userns())
	if err == nil || !strings.Contains(stderr, "additional gids [10] requested but setgroups is denied in this user namespace") {
		t.Fatalf("got %v: %s%s", err, stdout, stderr)
	}
}
