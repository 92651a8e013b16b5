package seccomp

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/oci-rt/oci-rt/tests/seccompagent"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const (
	notifySocketEnv = "OCIRT_SECCOMP_NOTIFY_SOCKET"
	// fakePpid is what the agent makes getppid return; no real parent has
	// it in a test run.
	fakePpid = 424242
	// threadMetadataFormat carries the child's filtered thread id in the
	// state's metadata.
	threadMetadataFormat = "tid=%d"
)

func threadMetadata(tid int) string { return fmt.Sprintf(threadMetadataFormat, tid) }

// notifyChild installs a filter that notifies on getppid, sends the
// listener to the agent socket with SendListener and reports whether
// getppid returned the agent's answer.
func notifyChild() int {
	runtime.LockOSThread()
	cfg := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		ListenerPath:  os.Getenv(notifySocketEnv),
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"getppid"}, Action: specs.ActNotify}},
	}
	f, err := Compile(cfg)
	if err != nil {
		fmt.Println(err)
		return 2
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Println(err)
		return 2
	}
	fd, err := f.Install()
	if err != nil || fd < 0 {
		fmt.Println("install:", fd, err)
		return 2
	}
	// The notification names the thread that made the syscall, which is
	// the process's main thread only by chance: tell the agent which one.
	state := specs.ContainerProcessState{Pid: os.Getpid(), Metadata: threadMetadata(unix.Gettid()),
		State: specs.State{ID: "notify-test", Status: specs.StateRunning, Pid: os.Getpid()}}
	if err := SendListener(os.Getenv(notifySocketEnv), fd, state); err != nil {
		fmt.Println(err)
		return 2
	}
	unix.Close(fd)
	// Raw syscall on this thread, the only one the filter covers.
	r, _, e := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	if e != 0 || r != fakePpid {
		fmt.Printf("getppid = %d (%v), want %d from the agent\n", r, e, fakePpid)
		return 1
	}
	return 0
}

// TestNotifyListener: a NOTIFY rule's listener, sent by SendListener over a
// unix socket, lets an agent answer the filtered process's syscall.
func TestNotifyListener(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=notify", notifySocketEnv+"="+sock)
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	agentErr := func() error {
		state, fd, err := seccompagent.Receive(ln)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		var tid uint32
		if _, err := fmt.Sscanf(state.Metadata, threadMetadataFormat, &tid); err != nil ||
			state.Pid != cmd.Process.Pid || state.State.ID != "notify-test" || state.Version != specs.Version {
			return fmt.Errorf("unexpected state %+v", state)
		}
		from, err := seccompagent.Answer(fd, unix.SYS_GETPPID, fakePpid)
		if err == nil && from != tid {
			err = fmt.Errorf("notification from thread %d, want %d", from, tid)
		}
		return err
	}()
	if agentErr != nil {
		_ = cmd.Process.Kill()
	}
	waitErr := cmd.Wait()
	b, _ := os.ReadFile(out.Name())
	if agentErr != nil || waitErr != nil {
		t.Fatalf("agent: %v; child: %v; child output: %s", agentErr, waitErr, b)
	}
}
