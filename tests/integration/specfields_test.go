package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/tests/seccompagent"
)

// TestMemoryPolicy: linux.memoryPolicy reaches the process (numa_maps
// shows the task's policy on every mapping that has none of its own), and
// a node this host does not have fails create.
func TestMemoryPolicy(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, shell("head -1 /proc/self/numa_maps"), func(s *specs.Spec) {
		s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}}
	})
	if out := mustRun(t, r, b); !strings.Contains(out, " interleave=static:0 ") {
		t.Errorf("MPOL_INTERLEAVE|MPOL_F_STATIC_NODES on node 0: numa_maps %q", out)
	}
	editBundle(t, b, func(s *specs.Spec) { s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"} })
	if out := mustRun(t, r, b); !strings.Contains(out, " bind:0 ") {
		t.Errorf("MPOL_BIND on node 0: numa_maps %q", out)
	}
	missing := strings.Count(readFile(t, "/sys/devices/system/node/online"), ",") + 63
	editBundle(t, b, func(s *specs.Spec) {
		s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: fmt.Sprint(missing)}
	})
	expectCreateFails(t, r, b, fmt.Sprintf("node %d does not exist on this host", missing))
	editBundle(t, b, func(s *specs.Spec) { s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_SOMETIMES"} })
	expectCreateFails(t, r, b, `linux.memoryPolicy: mode "MPOL_SOMETIMES": unknown mode`)
}

// TestNetDevices: a host interface named in linux.netDevices moves into
// the container's network namespace under its new name, is gone from the
// host meanwhile, and comes back under its own name on delete; a device
// the host does not have, or a container without a network namespace of
// its own, fails create.
func TestNetDevices(t *testing.T) {
	id := newID(t)
	host := "ocirt" + id[len(id)-8:]
	if out, err := exec.Command("ip", "link", "add", host, "type", "veth", "peer", "name", host+"p").CombinedOutput(); err != nil {
		t.Fatalf("make a veth pair: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", host+"p").Run() })
	onHost := func() bool {
		_, err := os.Stat("/sys/class/net/" + host)
		return err == nil
	}
	r := newRuntime(t)
	b := newBundle(t, withArgs("sleep", "60"), func(s *specs.Spec) {
		s.Linux.NetDevices = map[string]specs.LinuxNetDevice{host: {Name: "eth1"}}
	})
	for _, how := range []string{"delete --force of a running container", "delete of a created one"} {
		c := r.Create(b)
		if onHost() {
			t.Errorf("%s still on the host after create", host)
		}
		if how == "delete --force of a running container" {
			r.Must("start", c.ID)
		}
		out := r.Must("exec", c.ID, "cat", "/sys/class/net/eth1/type")
		if out != "1\n" {
			t.Errorf("eth1 inside the container: type %q, want 1 (ethernet)", out)
		}
		if how == "delete --force of a running container" {
			r.Must("delete", "--force", c.ID)
		} else {
			r.Must("delete", c.ID)
		}
		if !onHost() {
			t.Fatalf("%s: %s did not come back to the host", how, host)
		}
	}

	editBundle(t, b, func(s *specs.Spec) { s.Linux.NetDevices = map[string]specs.LinuxNetDevice{host + "x": {}} })
	expectCreateFails(t, r, b, "no such network device on the host")
	editBundle(t, b, func(s *specs.Spec) {
		s.Linux.NetDevices = map[string]specs.LinuxNetDevice{host: {}}
		var kept []specs.LinuxNamespace
		for _, ns := range s.Linux.Namespaces {
			if ns.Type != specs.NetworkNamespace {
				kept = append(kept, ns)
			}
		}
		s.Linux.Namespaces = kept
	})
	expectCreateFails(t, r, b, "linux.netDevices: needs a new network namespace")
	if !onHost() {
		t.Errorf("%s left the host after a refused create", host)
	}
}

// TestIntelRdtRefusedWithoutResctrl: this host has no resctrl; runc's
// refusal, whatever part of intelRdt is set.
func TestIntelRdtRefusedWithoutResctrl(t *testing.T) {
	if strings.Contains(readFile(t, "/proc/self/mountinfo"), " - resctrl ") {
		t.Fatal("this test expects a host without resctrl")
	}
	r := newRuntime(t)
	for _, cfg := range []specs.LinuxIntelRdt{{ClosID: "gold"}, {L3CacheSchema: "L3:0=f"}, {EnableMonitoring: true}} {
		b := newBundle(t, func(s *specs.Spec) { s.Linux.IntelRdt = &cfg })
		expectCreateFails(t, r, b, "intelRdt is specified in config, but Intel RDT is not supported or enabled")
	}
}

// TestOtherPlatformSectionsWarn: runc ignores the sections for other
// platforms; so do we, with a warning in the log, and the container runs.
func TestOtherPlatformSectionsWarn(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, shell("echo ran"), func(s *specs.Spec) { s.Windows = &specs.Windows{LayerFolders: []string{`C:\layers`}} })
	log := filepath.Join(t.TempDir(), "log.json")
	res := r.Run("--log", log, "--log-format", "json", "run", "--bundle", b, newID(t))
	if res.Code != 0 || res.Stdout != "ran\n" || res.Stderr != "" {
		t.Fatalf("%s", res)
	}
	if got := readFile(t, log); !strings.Contains(got, `"level":"warning"`) || !strings.Contains(got, "the windows section is for another platform and is ignored") {
		t.Errorf("log %q: want a warning about the windows section", got)
	}
}

// TestSystemdCgroupAndRootlessFlags: --systemd-cgroup fails create and run
// with runc's words on this host without systemd (other commands do not
// care, as in runc); --rootless takes runc's values, and as root on the
// host true and false both run the container, since its cgroup can be
// made.
func TestSystemdCgroupAndRootlessFlags(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Fatal("this test expects a host where systemd does not run")
	}
	r := newRuntime(t)
	b := newBundle(t, shell("echo ran"))
	const runcWords = "systemd not running on this host, cannot use systemd cgroups manager"
	for _, cmd := range []string{"create", "run"} {
		id := newID(t)
		res := r.Run("--systemd-cgroup", cmd, "--bundle", b, id)
		checkFailure(t, res, runcWords)
		checkNothingLeft(t, r, id)
	}
	c := r.Create(newBundle(t, withArgs("sleep", "60")))
	r.Must("--systemd-cgroup", "state", c.ID)
	r.Must("--systemd-cgroup", "delete", "--force", c.ID)

	for _, value := range []string{"true", "false", "auto", "1", "FALSE"} {
		res := r.Run("--rootless", value, "run", "--bundle", b, newID(t))
		if res.Code != 0 || res.Stdout != "ran\n" {
			t.Errorf("--rootless %s: %s", value, res)
		}
	}
	checkFailure(t, r.Run("--rootless", "maybe", "list"), `invalid --rootless value "maybe"`)
}

// TestRunBundleDirectory: `run DIR/` runs the bundle in DIR under its
// base name; an ID without a slash keeps runc's meaning (the bundle is
// --bundle or the current directory).
func TestRunBundleDirectory(t *testing.T) {
	r := newRuntime(t)
	parent := t.TempDir()
	b := filepath.Join(parent, "webapp")
	must(t, os.Rename(newBundle(t, shell("echo ran")), b))
	res := r.Run("run", "--keep", b+"/")
	if res.Code != 0 || res.Stdout != "ran\n" {
		t.Fatalf("run DIR/: %s", res)
	}
	if st := r.State("webapp"); st.Bundle != b || st.Status != specs.StateStopped {
		t.Errorf("run DIR/: state %+v, want container webapp from bundle %s", st, b)
	}
	r.Must("delete", "webapp")
	// Relative, from the parent: still a path with a slash.
	cmd := r.Command("run", "./webapp")
	cmd.Dir = parent
	if res := r.RunCmd(cmd); res.Code != 0 {
		t.Fatalf("run ./webapp: %s", res)
	}
	// Without a slash, "webapp" is an ID and the bundle is the current
	// directory, which has no config.json.
	cmd = r.Command("run", "webapp")
	cmd.Dir = parent
	checkFailure(t, r.RunCmd(cmd), "config.json")
	// With --bundle, the argument is an ID, and "a/b" is not a valid one.
	checkFailure(t, r.Run("run", "--bundle", b, b+"/"), "invalid container id")
}

// TestFeaturesWork: every seccomp action, architecture and flag, the
// remount option and every memory policy mode and flag that `features`
// lists is used in a container that runs (TestSpecAndFeatures does the
// same for namespaces and the other mount options).
func TestFeaturesWork(t *testing.T) {
	r := newRuntime(t)
	var f features.Features
	must(t, json.Unmarshal([]byte(r.Must("features")), &f))
	sc := f.Linux.Seccomp
	if sc == nil || len(sc.Actions) == 0 || len(sc.Archs) == 0 {
		t.Fatalf("features lists no seccomp actions or architectures: %+v", sc)
	}
	// Syscalls nothing in `echo` makes, one per action.
	unused := []string{"acct", "add_key", "adjtimex", "bpf", "delete_module", "fanotify_init", "finit_module", "init_module", "kexec_load", "lookup_dcookie", "move_pages", "nfsservctl"}
	if len(sc.Actions) > len(unused) {
		t.Fatalf("more actions (%d) than unused syscalls to give them", len(sc.Actions))
	}
	// A notify rule needs an agent to hand the listener to; this one takes
	// it and lets it go (no notified syscall is ever made).
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			_, fd, err := seccompagent.Receive(ln)
			if err != nil {
				return
			}
			unix.Close(fd)
		}
	}()
	profile := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: sock}
	for _, arch := range sc.Archs {
		profile.Architectures = append(profile.Architectures, specs.Arch(arch))
	}
	for _, flag := range sc.SupportedFlags {
		profile.Flags = append(profile.Flags, specs.LinuxSeccompFlag(flag))
	}
	for i, action := range sc.Actions {
		profile.Syscalls = append(profile.Syscalls, specs.LinuxSyscall{Names: []string{unused[i]}, Action: specs.LinuxSeccompAction(action)})
	}
	b := newBundle(t, shell("echo ran"), func(s *specs.Spec) { s.Linux.Seccomp = profile })
	if out := mustRun(t, r, b); out != "ran\n" {
		t.Fatalf("profile with every listed action, arch and flag: output %q", out)
	}
	// Each flag alone too, without a notify rule: WAIT_KILLABLE_RECV must
	// not need one.
	for _, flag := range sc.SupportedFlags {
		editBundle(t, b, func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlag(flag)},
				Syscalls: []specs.LinuxSyscall{{Names: []string{"acct"}, Action: specs.ActErrno}}}
		})
		if out := mustRun(t, r, b); out != "ran\n" {
			t.Errorf("flag %s alone: output %q", flag, out)
		}
	}
	// TestSpecAndFeatures mounts every listed option on its own; remount
	// needs a mount to act on, so it gets one here.
	if slices.Contains(f.MountOptions, "remount") {
		editBundle(t, b, func(s *specs.Spec) {
			s.Linux.Seccomp = nil
			s.Process.Args = []string{"sh", "-c", "grep ' /mnt ' /proc/self/mounts"}
			s.Mounts = append(s.Mounts,
				specs.Mount{Destination: "/mnt", Type: "tmpfs", Source: "tmpfs"},
				specs.Mount{Destination: "/mnt", Type: "tmpfs", Source: "tmpfs", Options: []string{"remount", "ro"}})
		})
		if out := mustRun(t, r, b); !strings.HasPrefix(out, "tmpfs /mnt tmpfs ro,") {
			t.Errorf("tmpfs remounted ro: /proc/self/mounts says %q", out)
		}
		editBundle(t, b, func(s *specs.Spec) {
			s.Process.Args = []string{"sh", "-c", "echo ran"}
			s.Mounts = s.Mounts[:len(s.Mounts)-2]
		})
	}
	// Every listed memory policy mode and flag is accepted and applied.
	mp := f.Linux.MemoryPolicy
	if mp == nil || len(mp.Modes) == 0 {
		t.Fatalf("features lists no memory policy modes: %+v", mp)
	}
	for _, mode := range mp.Modes {
		policy := &specs.LinuxMemoryPolicy{Mode: specs.MemoryPolicyModeType(mode), Nodes: "0"}
		if mode == string(specs.MpolDefault) || mode == string(specs.MpolLocal) {
			policy.Nodes = ""
		}
		editBundle(t, b, func(s *specs.Spec) { s.Linux.Seccomp, s.Linux.MemoryPolicy = nil, policy })
		if out := mustRun(t, r, b); out != "ran\n" {
			t.Errorf("memory policy %s: output %q", mode, out)
		}
	}
	for _, flag := range mp.Flags {
		policy := &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MemoryPolicyFlagType(flag)}}
		editBundle(t, b, func(s *specs.Spec) { s.Linux.MemoryPolicy = policy })
		if out := mustRun(t, r, b); out != "ran\n" {
			t.Errorf("memory policy flag %s: output %q", flag, out)
		}
	}
}
