package integration

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/oci-rt/oci-rt/tests/seccompagent"
	"github.com/oci-rt/oci-rt/tests/seccompprofile"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// staticPrograms are the testdata C programs built so far, by name.
var staticPrograms sync.Map // name → func() (string, error)

// withStaticProgram puts testdata/NAME.c, built static once per test
// binary, at /NAME in the bundle's rootfs: busybox has no applet for what
// these programs do (arbitrary syscalls, waiting for any signal).
func withStaticProgram(t *testing.T, bundle, name string) {
	t.Helper()
	build, _ := staticPrograms.LoadOrStore(name, sync.OnceValues(func() (string, error) {
		path := filepath.Join(harnessDir, name)
		if out, err := exec.Command("gcc", "-static", "-O2", "-o", path, "testdata/"+name+".c").CombinedOutput(); err != nil {
			return "", fmt.Errorf("gcc -static %s.c: %v\n%s", name, err, out)
		}
		return path, nil
	}))
	path, err := build.(func() (string, error))()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", path, filepath.Join(bundle, "rootfs", name)).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v\n%s", name, err, out)
	}
}

// withSysprobe puts testdata/sysprobe.c at /sysprobe: it makes any
// syscall, which seccomp tests need beyond busybox's applets.
func withSysprobe(t *testing.T, bundle string) { withStaticProgram(t, bundle, "sysprobe") }

func withSeccomp(p *specs.LinuxSeccomp) func(*specs.Spec) {
	return func(s *specs.Spec) { s.Linux.Seccomp = p }
}

// probeLine is the output line of `/sysprobe nr arg0` under label.
func probe(label string, nr int, arg0 string) string {
	return fmt.Sprintf(`echo "%s $(/sysprobe %d %s)"; `, label, nr, arg0)
}

// TestSeccompDockerProfile: Docker's default profile through the oci-rt
// binary. The container holds CAP_SYS_ADMIN on top of Docker's default
// capabilities while the profile is the one for the default set, so mount
// and unshare would succeed were it not for the filter: their EPERM is the
// filter's. (A syscall newer than the profile gets ENOSYS, not EPERM, so
// that libc falls back to an older one.)
func TestSeccompDockerProfile(t *testing.T) {
	r := newRuntime(t)
	prof, err := seccompprofile.DockerDefault()
	if err != nil {
		t.Fatal(err)
	}
	caps := append([]string{"CAP_SYS_ADMIN"}, seccompprofile.DefaultCaps...)
	script := statusFields("Seccomp") + "; " +
		// An ordinary workload.
		`grep -c root /etc/passwd | sed 's/^/passwd-root /' && ls / | grep -q bin && echo workload-ok; ` +
		`unshare -m true 2>&1; echo "unshare-status $?"; ` +
		// Without the filter, mount(NULL, ...) with CAP_SYS_ADMIN is EFAULT.
		probe("mount", unix.SYS_MOUNT, "0") +
		probe("keyctl", unix.SYS_KEYCTL, "0") +
		probe("personality-query", unix.SYS_PERSONALITY, "0xffffffff") +
		probe("personality-rie", unix.SYS_PERSONALITY, "0x0400000") +
		probe("personality-linux", unix.SYS_PERSONALITY, "0") +
		// file_getattr (468) postdates every syscall the profile names
		// (removexattrat, 466); the default action would say EPERM.
		probe("newer", unix.SYS_FILE_GETATTR, "0")
	bundle := newBundle(t, withSeccomp(prof), shell(script), func(s *specs.Spec) {
		c := s.Process.Capabilities
		c.Bounding, c.Effective, c.Permitted = caps, caps, caps
	})
	withSysprobe(t, bundle)
	out := mustRun(t, r, bundle)
	t.Logf("container output:\n%s", out)
	for _, want := range []string{
		"Seccomp:\t2",
		"passwd-root 1\nworkload-ok",
		"Operation not permitted\nunshare-status 1",
		"mount ret=-1 errno=1\n",
		"keyctl ret=-1 errno=1\n",
		// Docker allows the personality query and PER_LINUX; other
		// personalities such as READ_IMPLIES_EXEC are denied.
		"personality-rie ret=-1 errno=1\n",
		"personality-linux ret=0 errno=0\n",
		"newer ret=-1 errno=38\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "personality-query ret=-1") {
		t.Errorf("personality(0xffffffff) was denied; Docker's profile allows it")
	}
}

// TestSeccompErrnoRetAndKill: errnoRet is the errno the process sees, and a
// KILL_PROCESS rule ends it with SIGSYS (run exits 128+31).
func TestSeccompErrnoRetAndKill(t *testing.T) {
	r := newRuntime(t)
	exdev := uint(unix.EXDEV)
	prof := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getppid", "no_such_syscall"}, Action: specs.ActErrno, ErrnoRet: &exdev},
			{Names: []string{"sethostname"}, Action: specs.ActKillProcess},
		},
	}
	bundle := newBundle(t, withSeccomp(prof), shell(probe("getppid", unix.SYS_GETPPID, "")))
	withSysprobe(t, bundle)
	res := runContainer(t, r, bundle)
	if res.Code != 0 || !strings.Contains(res.Stdout, fmt.Sprintf("getppid ret=-1 errno=%d\n", unix.EXDEV)) {
		t.Fatalf("errnoRet: %s", res)
	}
	bundle = newBundle(t, withSeccomp(prof), withArgs("/sysprobe", "170"))
	withSysprobe(t, bundle)
	if res := runContainer(t, r, bundle); res.Code != 128+int(unix.SIGSYS) || strings.Contains(res.Stdout, "ret=") {
		t.Fatalf("KILL_PROCESS: want exit %d and no output, got %s", 128+int(unix.SIGSYS), res)
	}
}

// TestSeccompNotify: a NOTIFY rule with listenerPath delivers the state and
// a working listener to an agent, whose answer the container's syscall
// returns.
func TestSeccompNotify(t *testing.T) {
	r := newRuntime(t)
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	prof := &specs.LinuxSeccomp{
		DefaultAction:    specs.ActAllow,
		ListenerPath:     sock,
		ListenerMetadata: "agent-meta",
		Syscalls:         []specs.LinuxSyscall{{Names: []string{"getppid"}, Action: specs.ActNotify}},
	}
	bundle := newBundle(t, withSeccomp(prof), withArgs("/sysprobe", fmt.Sprint(unix.SYS_GETPPID)))
	withSysprobe(t, bundle)
	id := newID(t)
	const fake = 31337
	agent := make(chan error, 1)
	go func() {
		state, fd, err := seccompagent.Receive(ln)
		if err != nil {
			agent <- err
			return
		}
		defer unix.Close(fd)
		if state.State.ID != id || state.Metadata != "agent-meta" || state.Pid <= 0 || state.State.Pid != state.Pid {
			agent <- fmt.Errorf("unexpected state %+v", state)
			return
		}
		_, err = seccompagent.Answer(fd, unix.SYS_GETPPID, fake)
		agent <- err
	}()
	res := r.Run("run", "--bundle", bundle, id)
	if res.Code != 0 || !strings.Contains(res.Stdout, fmt.Sprintf("ret=%d errno=0", fake)) {
		t.Errorf("container did not see the agent's answer: %s", res)
	}
	select {
	case err := <-agent:
		if err != nil {
			t.Errorf("agent: %v", err)
		}
	default:
		t.Errorf("agent did not finish")
	}
}

// TestSeccompBadProfile: an architecture or action oci-rt does not know
// makes create fail with a one-line error, and no container remains.
func TestSeccompBadProfile(t *testing.T) {
	r := newRuntime(t)
	for name, prof := range map[string]*specs.LinuxSeccomp{
		"arch":   {DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_VAX"}},
		"action": {DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: "SCMP_ACT_MAYBE"}}},
	} {
		t.Run(name, func(t *testing.T) {
			id := newID(t)
			res := r.Run("create", "--bundle", newBundle(t, withSeccomp(prof)), id)
			stderr := strings.TrimSuffix(res.Stderr, "\n")
			if res.Code != 1 || stderr == "" || strings.Contains(stderr, "\n") || !strings.Contains(stderr, "seccomp") {
				t.Fatalf("want exit 1 with one seccomp error line: %s", res)
			}
			if st := r.Run("state", id); st.Code == 0 {
				t.Fatalf("container %s exists after failed create: %s", id, st)
			}
		})
	}
}
