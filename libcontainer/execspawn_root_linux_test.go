package libcontainer

// A differential test of the exec init's last step: the same prepared
// process, once execve'd by the Go init itself (the way `create` still
// ends) and once started by nsenter.Spawn (the way `exec` ends), must come
// out identical. Each runs in a re-executed copy of the test binary, so
// that the identity it switches to never touches the test process.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/libcontainer/proc"
	"github.com/oci-rt/oci-rt/nsenter"
)

const lastStepEnv = "OCI_RT_LAST_STEP_TEST"

// The spawn reports in the name of the main thread (see
// nsenter.SpawnAndExit), on which a lock taken in a package init keeps
// TestMain.
func init() {
	if os.Getenv(lastStepEnv) != "" {
		runtime.LockOSThread()
	}
}

func TestMain(m *testing.M) {
	if how := os.Getenv(lastStepEnv); how != "" {
		if err := becomeProcess(how); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// lastStepProcess has everything the init sets that execve or the spawn
// could lose or change: ids and groups, every capability set, limits,
// no_new_privs, a seccomp filter, cwd and environment.
func lastStepProcess() *specs.Process {
	caps := []string{"CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL"}
	return &specs.Process{
		Args: []string{"/bin/sh", "-c", "cat /proc/$$/status /proc/$$/limits; pwd; env | sort"},
		Env:  []string{"PATH=/usr/bin:/bin", "FOO=bar baz"},
		Cwd:  "/tmp",
		User: specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1001, 1002}},
		Capabilities: &specs.LinuxCapabilities{
			Bounding: caps, Effective: caps, Permitted: caps, Inheritable: caps, Ambient: caps,
		},
		Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 512, Hard: 1024}, {Type: "RLIMIT_CORE", Soft: 0, Hard: 0}},
		NoNewPrivileges: true,
	}
}

// becomeProcess runs the init's steps from the cwd on, in its order, and
// ends the way how says: "exec" or "spawn".
func becomeProcess(how string) error {
	p := lastStepProcess()
	spec := &specs.Spec{Process: p, Linux: &specs.Linux{Seccomp: &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno}},
	}}}
	// The init leads a session of its own, so does the process it becomes.
	if _, err := unix.Setsid(); err != nil {
		return err
	}
	caps, err := proc.ParseCapabilities(p.Capabilities)
	if err != nil {
		return err
	}
	if err := unix.Chdir(p.Cwd); err != nil {
		return err
	}
	id := &proc.Identity{UID: p.User.UID, GID: p.User.GID, AdditionalGids: p.User.AdditionalGids, Home: "/"}
	env := proc.Env(p, id)
	encoded, err := encodedFilter(seccompProfile(spec))
	if err != nil {
		return err
	}
	filter, err := decodeFilter(encoded)
	if err != nil {
		return err
	}
	debug.SetGCPercent(-1)
	if err := proc.SwitchIdentity(p, id, caps); err != nil {
		return err
	}
	if err := proc.NoNewPrivileges(p); err != nil {
		return err
	}
	if how == "exec" {
		if err := installSeccomp(filter); err != nil {
			return err
		}
		return unix.Exec(p.Args[0], p.Args, env)
	}
	if err := privateFileTable(); err != nil {
		return err
	}
	// The report socket is fd 3: the process keeps only stdio.
	return nsenter.SpawnAndExit(&nsenter.SpawnRequest{
		Path: p.Args[0], Argv: p.Args, Env: env, CloseFrom: 3,
		Filter: filter.Instructions(), SeccompFlags: filter.Flags(),
	}, 3)
}

// runLastStep returns what the process printed, once it has exited.
// startWithReportSocket starts cmd with one end of a socket pair as its
// fd 3, where the exec init reports, and returns the other end.
func startWithReportSocket(t *testing.T, cmd *exec.Cmd) *os.File {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "report"), os.NewFile(uintptr(fds[1]), "report")
	cmd.ExtraFiles = []*os.File{theirs}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		ours.Close()
		t.Fatal(err)
	}
	return ours
}

func runLastStep(t *testing.T, how string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), lastStepEnv+"="+how)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	ours := startWithReportSocket(t, cmd)
	defer ours.Close()
	if how == "spawn" {
		// The process is the test's child (CLONE_PARENT): it reaps it.
		rep := readSpawnOutcome(t, ours, cmd.Process.Pid)
		if rep.Kind != nsenter.KindPid {
			t.Fatalf("spawn: report %+v; stderr %s", rep, errOut.String())
		}
		var ws unix.WaitStatus
		if _, err := unix.Wait4(rep.Pid, &ws, 0, nil); err != nil || ws.ExitStatus() != 0 {
			t.Fatalf("spawned process %d: %v, status %#x", rep.Pid, err, uint32(ws))
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s: %v\n%s", how, err, errOut.String())
	}
	return out.String()
}

func TestSpawnedProcessMatchesExecvedOne(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch identities")
	}
	viaExec, viaSpawn := runLastStep(t, "exec"), runLastStep(t, "spawn")
	exe, spawned := lastStepFields(viaExec), lastStepFields(viaSpawn)
	for _, key := range []string{
		"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
		"NoNewPrivs", "Seccomp", "Seccomp_filters", "limits", "rest",
	} {
		if exe[key] == "" {
			t.Errorf("%s missing from the execve'd process's output:\n%s", key, viaExec)
		}
		if exe[key] != spawned[key] {
			t.Errorf("%s: execve'd %q, spawned %q", key, exe[key], spawned[key])
		}
	}
	for name, f := range map[string]map[string]string{"execve'd": exe, "spawned": spawned} {
		if f["NSsid"] != f["NSpid"] {
			t.Errorf("%s process does not lead its session: sid %s, pid %s", name, f["NSsid"], f["NSpid"])
		}
	}
	if want := "CapEff 0000000000002021"; !strings.Contains("CapEff "+exe["CapEff"], want) {
		t.Errorf("the identity switch did not happen as the test assumes: %q, want %q", exe["CapEff"], want)
	}
}

// lastStepFields splits the output into the status fields, the limits
// table ("limits") and cwd plus environment ("rest").
func lastStepFields(out string) map[string]string {
	fields := map[string]string{}
	status, rest, _ := strings.Cut(out, "Limit ")
	for line := range strings.SplitSeq(status, "\n") {
		if key, value, found := strings.Cut(line, ":"); found {
			fields[key] = strings.Join(strings.Fields(value), " ")
		}
	}
	limits, tail, _ := strings.Cut(rest, "\n/")
	fields["limits"] = limits
	fields["rest"] = "/" + tail
	return fields
}

// readSpawnOutcome reads what the exec init's last step reports, as the
// runtime does: a frame on the socket before the clone, or else the name
// it exits with.
func readSpawnOutcome(t *testing.T, sock *os.File, initPid int) *nsenter.Message {
	t.Helper()
	rep, err := readFrameMessage(sock)
	if errors.Is(err, io.EOF) {
		rep, err = readSpawnReport(initPid)
	}
	if err != nil {
		t.Fatalf("spawn report: %v", err)
	}
	return rep
}

// readFrameMessage decodes one frame as a message, without the version
// check of a Conn, which expects a conversation from its start.
func readFrameMessage(sock *os.File) (*nsenter.Message, error) {
	var h [4]byte
	if _, err := io.ReadFull(sock, h[:]); err != nil {
		return nil, err
	}
	data := make([]byte, binary.LittleEndian.Uint32(h[:]))
	if _, err := io.ReadFull(sock, data); err != nil {
		return nil, err
	}
	var m nsenter.Message
	return &m, json.Unmarshal(data, &m)
}

// TestSpawnedProcessNeverHoldsTheReportSocket catches the exec'd process
// at its birth, stopped by ptrace before it runs a single instruction, and
// looks at its fds: the socket to the runtime must not be among them, nor
// anything else but stdio and the pipe that carries an execve failure
// back (close-on-exec, and the child's first act closes all but its end).
// The container could take an fd held even for that instant.
func TestSpawnedProcessNeverHoldsTheReportSocket(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch identities")
	}
	// ptrace requests come from the thread that traces.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), lastStepEnv+"=spawn")
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	ours := startWithReportSocket(t, cmd)
	defer ours.Close()
	initPid := cmd.Process.Pid
	var ws unix.WaitStatus
	// Stopped at its execve, with one thread: from here on the process
	// it forks starts stopped and traced, not the threads it creates.
	if _, err := unix.Wait4(initPid, &ws, unix.WALL, nil); err != nil || !ws.Stopped() {
		t.Fatalf("exec init did not stop at execve: %v, %#x", err, uint32(ws))
	}
	if err := unix.PtraceSetOptions(initPid, unix.PTRACE_O_TRACEFORK|unix.PTRACE_O_TRACEVFORK|unix.PTRACE_O_EXITKILL); err != nil {
		t.Fatal(err)
	}
	if err := unix.PtraceCont(initPid, 0); err != nil {
		t.Fatal(err)
	}
	spawned, seen, initDone := 0, "", false
	for seen == "" || !initDone {
		pid, err := unix.Wait4(-1, &ws, unix.WALL, nil)
		if err != nil {
			t.Fatalf("wait: %v; stderr %s", err, errOut.String())
		}
		switch {
		case !ws.Stopped():
			t.Fatalf("process %d ended (%#x) before the spawn; stderr %s", pid, uint32(ws), errOut.String())
		case pid != initPid:
			// The only other tracee: the spawned process, stopped at
			// birth, before its first instruction.
			spawned, seen = pid, fdTargets(t, pid)
			err = unix.PtraceDetach(pid)
		case ws.TrapCause() == unix.PTRACE_EVENT_VFORK:
			initDone = true
			err = unix.PtraceDetach(pid)
		default:
			sig := ws.StopSignal()
			if sig == unix.SIGTRAP {
				sig = 0
			}
			err = unix.PtraceCont(pid, int(sig))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("the spawned process's fds at birth:\n%s", seen)
	if strings.Contains(seen, " socket:") {
		t.Errorf("the spawned process held a socket at birth")
	}
	if !strings.Contains(seen, " pipe:") {
		t.Errorf("no error pipe among the newborn's fds: is it the spawned process?")
	}
	rep := readSpawnOutcome(t, ours, initPid)
	if rep.Kind != nsenter.KindPid || rep.Pid != spawned {
		t.Errorf("report %+v, want the pid of %d", rep, spawned)
	}
	killAndReap(spawned)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exec init: %v; stderr %s", err, errOut.String())
	}
}

// fdTargets lists what pid's fds point to, one per line.
func fdTargets(t *testing.T, pid int) string {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range entries {
		target, _ := os.Readlink(dir + "/" + e.Name())
		lines = append(lines, e.Name()+" "+target)
	}
	return strings.Join(lines, "\n")
}
