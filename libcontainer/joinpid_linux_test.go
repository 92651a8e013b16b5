package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestJoinsFromNewUserNS(t *testing.T) {
	spec := func(ns ...specs.LinuxNamespace) *specs.Spec {
		return &specs.Spec{Linux: &specs.Linux{Namespaces: ns}}
	}
	pid := func(path string) specs.LinuxNamespace {
		return specs.LinuxNamespace{Type: specs.PIDNamespace, Path: path}
	}
	user := func(path string) specs.LinuxNamespace {
		return specs.LinuxNamespace{Type: specs.UserNamespace, Path: path}
	}
	for _, c := range []struct {
		name string
		spec *specs.Spec
		want bool
	}{
		{"own pid namespace, new user namespace", spec(pid(""), user("")), false},
		{"joined pid namespace", spec(pid("/proc/1/ns/pid")), false},
		{"joined pid and user namespaces", spec(pid("/proc/1/ns/pid"), user("/proc/1/ns/user")), false},
		{"joined pid namespace, new user namespace", spec(user(""), pid("/proc/1/ns/pid")), true},
	} {
		if got := joinsFromNewUserNS(c.spec); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// The stage joins the pid namespace first, then what the container
// joined by path, its user namespace, what it created with it, and its
// mount namespace last; and closes exactly the fds it joined them by.
func TestJoinerBootstrapOrder(t *testing.T) {
	spec := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.PIDNamespace, Path: "/proc/1/ns/pid"},
		{Type: specs.IPCNamespace},
		{Type: specs.MountNamespace},
		{Type: specs.NetworkNamespace, Path: "/var/run/netns/pod"},
		{Type: specs.UserNamespace},
		{Type: specs.UTSNamespace},
	}}}
	open := func() *os.File {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	files := map[specs.LinuxNamespaceType]*os.File{}
	for _, ns := range spec.Linux.Namespaces {
		files[ns.Type] = open()
	}
	req := &spawnRequest{}
	req.addFile(open()) // something before the namespaces
	b := joinerBootstrap(spec, open(), files, req)
	var got []uint32
	for i, j := range b.Join {
		got = append(got, j.Type)
		if want := fmt.Sprintf("/proc/self/fd/%d", b.CloseFirst+i); j.Path != want {
			t.Errorf("namespace %d joined by %s, want %s", i, j.Path, want)
		}
	}
	want := []uint32{unix.CLONE_NEWPID, unix.CLONE_NEWNET, unix.CLONE_NEWUSER, unix.CLONE_NEWIPC, unix.CLONE_NEWUTS, unix.CLONE_NEWNS}
	if !slices.Equal(got, want) {
		t.Errorf("join order %#x, want %#x", got, want)
	}
	if !b.JoinInOrder || !b.Fork || b.CloseFirst != 4 || b.CloseLast != 4+len(want)-1 {
		t.Errorf("bootstrap %+v: want joined in order, a fork, and fds 4…%d closed", b, 4+len(want)-1)
	}
}

// A process born in a joined pid namespace takes the plan only where the
// container's /proc lets it write its own entries and the kernel can tell
// the pid it starts its program with as ours.
func TestPlanFallbackForProcessBornInside(t *testing.T) {
	pidns, err := os.Open("/proc/self/ns/pid")
	if err != nil {
		t.Fatal(err)
	}
	defer pidns.Close()
	netns, err := os.Open("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer netns.Close()
	spec := func(procOptions ...string) *specs.Spec {
		return &specs.Spec{
			Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
				{Type: specs.UserNamespace}, {Type: specs.PIDNamespace, Path: "/proc/1/ns/pid"}, {Type: specs.MountNamespace},
			}},
			Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc", Options: procOptions}},
		}
	}
	for _, c := range []struct {
		name  string
		spec  *specs.Spec
		pidns *os.File
		want  string
	}{
		{"writable /proc, a kernel that translates", spec(), pidns, ""},
		{"read-only /proc", spec("ro"), pidns, "is not a writable procfs"},
		{"no translation", spec(), netns, "NS_GET_TGID_FROM_PIDNS"},
		{"own pid namespace", &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.UserNamespace}, {Type: specs.PIDNamespace}}}}, netns, ""},
	} {
		got := planFallback(c.spec, c.pidns)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestHostPid(t *testing.T) {
	pidns, err := os.Open("/proc/self/ns/pid")
	if err != nil {
		t.Fatal(err)
	}
	defer pidns.Close()
	if got, err := hostPid(pidns, os.Getpid()); err != nil || got != os.Getpid() {
		t.Errorf("our own pid in our pid namespace: %d, %v; want %d", got, err, os.Getpid())
	}
	// Pid 1 of a pid namespace of its own.
	cmd := exec.Command("/bin/sleep", "10")
	cmd.SysProcAttr = &unix.SysProcAttr{Cloneflags: unix.CLONE_NEWPID}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start a process in a new pid namespace: %v", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	sleeper := cmd.Process.Pid
	inner, err := os.Open(fmt.Sprintf("/proc/%d/ns/pid", sleeper))
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	if got, err := hostPid(inner, 1); err != nil || got != sleeper {
		t.Errorf("pid 1 of the new pid namespace: %d, %v; want %d", got, err, sleeper)
	}
	if _, err := hostPid(inner, 2); !errors.Is(err, unix.ESRCH) {
		t.Errorf("pid 2 of the new pid namespace, which has none: %v, want ESRCH", err)
	}
}
