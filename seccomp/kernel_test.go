package seccomp

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const childEnv = "OCIRT_SECCOMP_CHILD"

// kernelProfile is Docker's default plus an errnoRet rule and a
// KILL_PROCESS rule.
func kernelProfile(t testing.TB) *specs.LinuxSeccomp {
	p := dockerDefault(t)
	e := uint(unix.EXDEV)
	p.Syscalls = append(p.Syscalls,
		specs.LinuxSyscall{Names: []string{"syslog"}, Action: specs.ActErrno, ErrnoRet: &e},
		specs.LinuxSyscall{Names: []string{"sethostname"}, Action: specs.ActKillProcess})
	return p
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode == "notify" {
		os.Exit(notifyChild())
	} else if mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

func child(mode string) int {
	runtime.LockOSThread()
	f, err := Compile(kernelProfile(&testing.T{}))
	if err == nil {
		err = unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	}
	if err == nil {
		_, err = f.Install()
	}
	if err != nil {
		fmt.Println(err)
		return 2
	}
	errnoOf := func(_, _ uintptr, e syscall.Errno) syscall.Errno { return e }
	switch mode {
	case "eperm":
		checks := map[string]syscall.Errno{
			"unshare": errnoOf(unix.RawSyscall(unix.SYS_UNSHARE, unix.CLONE_NEWNS, 0, 0)),
			"mount":   errnoOf(unix.RawSyscall(unix.SYS_MOUNT, 0, 0, 0)),
			"keyctl":  errnoOf(unix.RawSyscall(unix.SYS_KEYCTL, 0, 0, 0)),
			// Docker allows only a few personalities; 0xffffffff (a query)
			// is one of them, READ_IMPLIES_EXEC is not.
			"personality": errnoOf(unix.RawSyscall(unix.SYS_PERSONALITY, 0x0400000, 0, 0)),
		}
		for name, e := range checks {
			if e != unix.EPERM {
				fmt.Printf("%s: got %v, want EPERM\n", name, e)
				return 1
			}
		}
		if e := errnoOf(unix.RawSyscall(unix.SYS_SYSLOG, 0, 0, 0)); e != unix.EXDEV {
			fmt.Printf("syslog: got %v, want EXDEV\n", e)
			return 1
		}
		if e := errnoOf(unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)); e != 0 {
			fmt.Printf("personality query: %v\n", e)
			return 1
		}
		if e := errnoOf(unix.RawSyscall(unix.SYS_GETPID, 0, 0, 0)); e != 0 {
			fmt.Printf("getpid: %v\n", e)
			return 1
		}
		return 0
	case "kill":
		_, _, _ = unix.RawSyscall(unix.SYS_SETHOSTNAME, 0, 0, 0)
		return 0
	}
	return 3
}

func runChild(t *testing.T, mode string) error {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	out, err := cmd.CombinedOutput()
	if len(out) > 0 {
		t.Logf("child: %s", out)
	}
	return err
}

func TestKernelDockerProfile(t *testing.T) {
	if err := runChild(t, "eperm"); err != nil {
		t.Fatalf("child failed: %v", err)
	}
}

func TestKernelKillProcess(t *testing.T) {
	err := runChild(t, "kill")
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("child was not killed: %v", err)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != unix.SIGSYS {
		t.Fatalf("child ended with %v, want SIGSYS", ws)
	}
}
