package nsenter

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
)

const childEnv = "NSENTER_TEST_CHILD"

// TestMain lets the test binary play the role of oci-rt's init: by the time
// it runs, the constructor has done its work, and the child reports what it
// sees.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == ownUserNamespaceChild {
		reportOwnUserNamespace()
		os.Exit(0)
	}
	if os.Getenv(childEnv) != "" {
		// What fd 4 is, if anything: the Go runtime may have put a file of
		// its own there.
		fd4, _ := os.Readlink("/proc/self/fd/4")
		uts, _ := os.Readlink("/proc/self/ns/uts")
		user, _ := os.Readlink("/proc/self/ns/user")
		uidMap, _ := os.ReadFile("/proc/self/uid_map")
		prio, _ := unix.Getpriority(unix.PRIO_PROCESS, 0)
		cg, _ := os.ReadFile("/proc/self/cgroup")
		var unified string
		for _, line := range strings.Split(string(cg), "\n") {
			if strings.HasPrefix(line, "0::") {
				unified = line
			}
		}
		oom, _ := os.ReadFile("/proc/self/oom_score_adj")
		fmt.Printf("pid=%d uts=%s user=%s uid=%d uidmap=%s prio=%d cgroup=%s fd4=%s oom=%s\n", os.Getpid(), uts, user, os.Getuid(), strings.Join(strings.Fields(string(uidMap)), ","), prio, unified, fd4, strings.TrimSpace(string(oom)))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type stage struct {
	cmd    *exec.Cmd
	sock   *os.File
	conn   *Conn
	stdout *bytes.Buffer
}

// readReply reads the stage's next message as it is, an error message
// included.
func readReply(c *Conn) (*Message, error) {
	data, f, err := c.readFrame()
	if err != nil {
		return nil, err
	}
	return decodeMessage(data, f)
}

func startStage(t *testing.T, b *Bootstrap) *stage {
	t.Helper()
	return startStageRaw(t, b.Encode())
}

// startStageRaw starts the test binary as the stage, with extra files from
// fd 4 on, and sends it bootstrap.
func startStageRaw(t *testing.T, bootstrap []byte, extra ...*os.File) *stage {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("nsenter tests create namespaces and need root")
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "parent"), os.NewFile(uintptr(fds[1]), "child")
	defer child.Close()
	t.Cleanup(func() { parent.Close() })
	var out bytes.Buffer
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), childEnv+"=1", SyncFDEnv+"=3")
	cmd.ExtraFiles = append([]*os.File{child}, extra...)
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	conn := NewConn(parent)
	if err := conn.writeFrame(bootstrap); err != nil {
		t.Fatal(err)
	}
	return &stage{cmd: cmd, sock: parent, conn: conn, stdout: &out}
}

// waitPid reaps a process that the stage forked with CLONE_PARENT, which
// makes it a child of the test process rather than of the stage.
func waitPid(t *testing.T, pid int) {
	t.Helper()
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		t.Fatalf("wait for %d: %v", pid, err)
	}
	if ws.ExitStatus() != 0 {
		t.Fatalf("child %d exited with %v", pid, ws)
	}
}

func TestForkIntoNewPidAndUTSNamespace(t *testing.T) {
	s := startStage(t, &Bootstrap{CloneFlags: unix.CLONE_NEWPID | unix.CLONE_NEWUTS, Fork: true})
	rep, err := readReply(s.conn)
	if err != nil || rep.Kind != "pid" {
		t.Fatalf("reply %+v, %v", rep, err)
	}
	if rep.Pid == s.cmd.Process.Pid {
		t.Fatal("with Fork the reported pid must be the forked child")
	}
	// The child's stdout is the same buffer as the stage's: wait for both.
	if err := s.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	waitPid(t, rep.Pid)
	hostUTS, _ := os.Readlink("/proc/self/ns/uts")
	got := s.stdout.String()
	if !strings.Contains(got, "pid=1 ") {
		t.Errorf("child is not pid 1 of a new pid namespace: %q", got)
	}
	if strings.Contains(got, "uts="+hostUTS) {
		t.Errorf("child still in the host uts namespace: %q", got)
	}
}

// testCgroup makes a cgroup below root for the test, removed with it.
// The stage that entered it may still be on its way out when the test
// ends early (a failed check before it was waited for): RemoveTree
// retries while the kernel refuses with EBUSY, rather than leave the
// cgroup behind on the host.
func testCgroup(t *testing.T, root string) string {
	t.Helper()
	dir, err := os.MkdirTemp(root, "nsenter-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cgroups.RemoveTree(dir, time.Now().Add(5*time.Second)); err != nil {
			t.Errorf("remove the test's cgroup: %v", err)
		}
	})
	return dir
}

// With CgroupProcsFD the stage enters the given cgroup to create the cgroup
// namespace, and the process that goes on runs no Go until the parent acks
// its pid: what the parent changes in between (its cgroup, its nice value)
// is what it sees from its first instruction on.
func TestCgroupNamespaceRootedInGivenCgroup(t *testing.T) {
	root := "/sys/fs/cgroup/unified"
	if _, err := os.Stat(root + "/cgroup.procs"); err != nil {
		root = "/sys/fs/cgroup"
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	ownPath := ""
	for _, line := range strings.Split(string(own), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			ownPath = p
		}
	}
	dir := testCgroup(t, root)
	procs, err := os.OpenFile(dir+"/cgroup.procs", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer procs.Close()

	s := startStageRaw(t, (&Bootstrap{CloneFlags: unix.CLONE_NEWPID | unix.CLONE_NEWCGROUP, Fork: true, CgroupProcsFD: 4}).Encode(), procs)
	rep, err := readReply(s.conn)
	if err != nil || rep.Kind != "pid" {
		t.Fatalf("reply %+v, %v", rep, err)
	}
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", rep.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if want := "0::" + strings.TrimPrefix(dir, root) + "\n"; !strings.Contains(string(cg), want) {
		t.Errorf("after its pid message the process is in %q, want %q", cg, want)
	}
	if err := os.WriteFile(root+ownPath+"/cgroup.procs", []byte(fmt.Sprint(rep.Pid)), 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setpriority(unix.PRIO_PROCESS, rep.Pid, 7); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.Send(KindAck, ""); err != nil {
		t.Fatal(err)
	}
	// The child's stdout is the same buffer as the stage's: wait for both.
	if err := s.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	waitPid(t, rep.Pid)
	got := s.stdout.String()
	// getpriority(2) returns 20-nice.
	if !strings.Contains(got, "prio=13") {
		t.Errorf("the process ran before the ack, or missed the change made before it: %q", got)
	}
	// Moved back to our cgroup, one level above its namespace's root.
	if !strings.Contains(got, "cgroup=0::/..") {
		t.Errorf("the cgroup namespace is not rooted in %s: %q", dir, got)
	}
}

// mapStageUserNamespace answers the stage's request for the maps of the
// user namespace it created: root is host uid and gid 100000, of 65536
// ids. It returns the pid whose maps were asked for.
func mapStageUserNamespace(t *testing.T, s *stage) int {
	t.Helper()
	rep, err := s.conn.Recv()
	if err != nil || rep.Kind != KindUsermap {
		t.Fatalf("reply %+v, %v; want the usermap request", rep, err)
	}
	for _, f := range []string{"uid_map", "gid_map"} {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/%s", rep.Pid, f), []byte("0 100000 65536"), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.conn.Send(KindAck, ""); err != nil {
		t.Fatal(err)
	}
	return rep.Pid
}

func TestNewUserNamespaceAsksForMaps(t *testing.T) {
	s := startStage(t, &Bootstrap{CloneFlags: unix.CLONE_NEWUSER})
	if pid := mapStageUserNamespace(t, s); pid != s.cmd.Process.Pid {
		t.Fatalf("the maps of %d asked for, want the stage's, %d", pid, s.cmd.Process.Pid)
	}
	rep, err := readReply(s.conn)
	if err != nil || rep.Kind != "pid" || rep.Pid != s.cmd.Process.Pid {
		t.Fatalf("reply %+v, %v", rep, err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := s.stdout.String(); !strings.Contains(got, "uid=0 ") || !strings.Contains(got, "uidmap=0,100000,65536") {
		t.Errorf("child is not root of the mapped user namespace: %q", got)
	}
}

func TestJoinNamespaceOfAnotherProcess(t *testing.T) {
	// A sleeping child in a new uts namespace is the namespace to join.
	holder := exec.Command("/bin/sleep", "30")
	holder.SysProcAttr = &unix.SysProcAttr{Cloneflags: unix.CLONE_NEWUTS}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Process.Kill(); _ = holder.Wait() }()
	path := fmt.Sprintf("/proc/%d/ns/uts", holder.Process.Pid)
	want, _ := os.Readlink(path)

	s := startStage(t, &Bootstrap{Join: []NSPath{{Type: unix.CLONE_NEWUTS, Path: path}}})
	rep, err := readReply(s.conn)
	if err != nil || rep.Kind != "pid" {
		t.Fatalf("reply %+v, %v", rep, err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := s.stdout.String(); !strings.Contains(got, "uts="+want) {
		t.Errorf("child did not join %s (%s): %q", path, want, got)
	}
}

func TestErrorsAreReadableMessages(t *testing.T) {
	s := startStage(t, &Bootstrap{Join: []NSPath{{Type: unix.CLONE_NEWNET, Path: "/nonexistent/ns\"net"}}})
	rep, err := readReply(s.conn)
	if err != nil {
		t.Fatal(err)
	}
	want := `open net namespace /nonexistent/ns"net: no such file or directory`
	if rep.Kind != "error" || rep.Err().Error() != want || rep.Errno != int(unix.ENOENT) {
		t.Fatalf("got %+v, want error %q with errno ENOENT", rep, want)
	}
	if err := s.cmd.Wait(); err == nil {
		t.Fatal("stage exited 0 after an error")
	}
}

// TestLongErrorsStayWholeFrames: a message that fills the frame once
// escaped (a path of control characters from the config) is cut short,
// and the frame still ends as JSON and carries the errno, wherever the
// last escape ends (hence every length of plain prefix, an escape being
// six bytes).
func TestLongErrorsStayWholeFrames(t *testing.T) {
	for plain := range 6 {
		prefix := "/nonexistent/" + strings.Repeat("a", plain)
		s := startStage(t, &Bootstrap{Join: []NSPath{{Type: unix.CLONE_NEWNET, Path: prefix + strings.Repeat("\x01", 400)}}})
		rep, err := readReply(s.conn)
		if err != nil {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
		if rep.Kind != "error" || !strings.HasPrefix(rep.Message, "open net namespace "+prefix+"\x01") || rep.Errno != int(unix.ENOENT) {
			t.Fatalf("prefix %q: got %+v, want the start of the error with errno ENOENT", prefix, rep)
		}
		if err := s.cmd.Wait(); err == nil {
			t.Fatalf("prefix %q: stage exited 0 after an error", prefix)
		}
	}
}

func TestGarbageBootstrapIsRejected(t *testing.T) {
	garbage := append(record(recVersion, ProtocolVersion), 99, 0, 0, 0, 0, 0, 0, 0)
	s := startStageRaw(t, garbage)
	rep, err := readReply(s.conn)
	if err != nil || rep.Kind != KindError || rep.Message != "nsenter: unknown bootstrap record 99" {
		t.Fatalf("got %+v, %v", rep, err)
	}
	if err := s.cmd.Wait(); err == nil {
		t.Fatal("stage exited 0 after a bad bootstrap")
	}
}

// record is one bootstrap record with a uint32 value.
func record(typ uint16, value uint32) []byte {
	b := binary.LittleEndian.AppendUint16(nil, typ)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 4)
	return binary.LittleEndian.AppendUint32(b, value)
}

// A runtime and an init of different protocol versions must not misread
// each other: the stage refuses a bootstrap of another version, or one
// without a version, before it acts on any record, and says so; the
// runtime's Conn reports it as a mismatch.
func TestStageRefusesAnotherProtocolVersion(t *testing.T) {
	for _, tc := range []struct {
		name      string
		bootstrap []byte
		want      string
	}{
		{"newer", append(record(recVersion, ProtocolVersion+1), record(recFork, 1)...), fmt.Sprintf("the runtime speaks version %d, this init %d", ProtocolVersion+1, ProtocolVersion)},
		{"none", record(recCloneFlags, unix.CLONE_NEWUTS), "the runtime sent no version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startStageRaw(t, tc.bootstrap)
			_, err := s.conn.Recv()
			if err == nil || !strings.Contains(err.Error(), "protocol version mismatch") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a protocol version mismatch saying %q", err, tc.want)
			}
			if err := s.cmd.Wait(); err == nil {
				t.Fatal("stage exited 0 after a bootstrap of another version")
			}
		})
	}
}

// A process to be born in a pid namespace that a user namespace it also
// joins holds no right over (owned by ours): joined in the order given,
// the pid namespace first, while the stage still has our rights, then
// the user namespace and one it owns. The child is born in both; the
// fds of the namespaces are closed before. In the usual order, user
// namespace first, the pid namespace is refused.
func TestJoinPidNamespaceBeforeUserNamespace(t *testing.T) {
	pidHolder := exec.Command("/bin/sleep", "30")
	pidHolder.SysProcAttr = &unix.SysProcAttr{Cloneflags: unix.CLONE_NEWPID}
	userHolder := exec.Command("/bin/sleep", "30")
	userHolder.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWUTS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
	}
	for _, h := range []*exec.Cmd{pidHolder, userHolder} {
		if err := h.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = h.Process.Kill(); _ = h.Wait() }()
	}
	ns := func(pid int, typ string) string { return fmt.Sprintf("/proc/%d/ns/%s", pid, typ) }
	join := []NSPath{
		{Type: unix.CLONE_NEWPID, Path: ns(pidHolder.Process.Pid, "pid")},
		{Type: unix.CLONE_NEWUSER, Path: ns(userHolder.Process.Pid, "user")},
		{Type: unix.CLONE_NEWUTS, Path: ns(userHolder.Process.Pid, "uts")},
	}
	marker, err := os.Create(filepath.Join(t.TempDir(), "namespace-fd"))
	if err != nil {
		t.Fatal(err)
	}
	defer marker.Close()

	s := startStageRaw(t, (&Bootstrap{Join: join, JoinInOrder: true, Fork: true, CloseFirst: 4, CloseLast: 4}).Encode(), marker)
	rep, err := readReply(s.conn)
	if err != nil || rep.Kind != "pid" {
		t.Fatalf("reply %+v, %v", rep, err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	waitPid(t, rep.Pid)
	user, _ := os.Readlink(join[1].Path)
	uts, _ := os.Readlink(join[2].Path)
	got := s.stdout.String()
	for _, want := range []string{"pid=2 ", "user=" + user + " ", "uts=" + uts + " ", "uid=0 "} {
		if !strings.Contains(got, want) {
			t.Errorf("child reports %q, want %q in it", got, want)
		}
	}
	if strings.Contains(got, marker.Name()) {
		t.Errorf("the child still holds fd 4, which the stage was to close: %q", got)
	}

	s = startStage(t, &Bootstrap{Join: join, Fork: true})
	rep, err = readReply(s.conn)
	if err != nil || rep.Kind != "error" || !strings.Contains(rep.Message, "join pid namespace") {
		t.Errorf("user namespace first: %+v, %v; want the pid namespace refused", rep, err)
	}
	_ = s.cmd.Wait()
}

// With JoinCgroups the stage writes 0 into each "tasks" file before it
// joins or creates anything, is in that cgroup from its first message on,
// and has closed the file; a file it cannot write fails it, naming the
// hierarchy.
func TestStageJoinsCgroupsFirst(t *testing.T) {
	const hierarchy = "pids"
	root := "/sys/fs/cgroup/" + hierarchy
	if _, err := os.Stat(root + "/tasks"); err != nil {
		t.Skipf("no v1 %s hierarchy on this host (cgroup v2 only)", hierarchy)
	}
	dir := testCgroup(t, root)
	d, err := os.OpenFile(dir+"/tasks", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	var p Plan
	p.FindProgram([]string{"/bin/true"}, "find true", false)
	p.Release()
	if err := p.Spawn([]string{"true"}, nil, 3, false, nil, 0, SpawnWait{}); err != nil {
		t.Fatal(err)
	}
	s := startStageRaw(t, (&Bootstrap{CloneFlags: unix.CLONE_NEWUTS, JoinCgroups: []CgroupTasks{{FD: 4, Hierarchy: hierarchy}}, Plan: &p}).Encode(), d)
	rep, err := readReply(s.conn)
	if err != nil || rep.Kind != KindPid {
		t.Fatalf("reply %+v, %v", rep, err)
	}
	if rep, err := readReply(s.conn); err != nil || rep.Kind != KindReady {
		t.Fatalf("reply %+v, %v; want the plan's release", rep, err)
	}
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", rep.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if want := ":" + hierarchy + ":" + strings.TrimPrefix(dir, root) + "\n"; !strings.Contains(string(cg), want) {
		t.Errorf("the stage is in %q, want %q", cg, want)
	}
	// A host cgroup's file: the stage holds it no longer than the join.
	if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/4", rep.Pid)); err == nil {
		t.Errorf("the stage still holds fd 4 (%s) after joining the cgroup", target)
	}
	if err := s.conn.Send(KindAck, ""); err != nil {
		t.Fatal(err)
	}
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, rep.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	report, err := ReadExitReport(rep.Pid)
	if err != nil || report.Kind != KindPid {
		t.Fatalf("exit report %+v, %v", report, err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	waitPid(t, report.Pid)

	readOnly, err := os.OpenFile(dir+"/tasks", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer readOnly.Close()
	s = startStageRaw(t, (&Bootstrap{JoinCgroups: []CgroupTasks{{FD: 4, Hierarchy: hierarchy}}, Plan: &p}).Encode(), readOnly)
	rep, err = readReply(s.conn)
	if err != nil || rep.Kind != KindError || !strings.Contains(rep.Message, "join the container's cgroup in the pids hierarchy") {
		t.Fatalf("reply %+v, %v; want the failed join, naming the hierarchy", rep, err)
	}
	if err := s.cmd.Wait(); err == nil {
		t.Error("the stage exited 0 after a failed join")
	}
}

// The stage writes the process's oom_score_adj before it creates a user
// namespace: a process in one whose root is not host root could not write
// its own, its /proc files being the host root's while it is not
// dumpable.
func TestStageSetsOOMScoreAdjFirst(t *testing.T) {
	own, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		t.Fatal(err)
	}
	score := 321
	if strings.TrimSpace(string(own)) == "321" {
		t.Fatal("the test's own oom_score_adj is the one asked for: the check would prove nothing")
	}
	s := startStage(t, &Bootstrap{CloneFlags: unix.CLONE_NEWUSER, OOMScoreAdj: &score})
	mapStageUserNamespace(t, s)
	if rep, err := readReply(s.conn); err != nil || rep.Kind != KindPid {
		t.Fatalf("reply %+v, %v", rep, err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := s.stdout.String(); !strings.Contains(got, "uid=0 ") || !strings.HasSuffix(strings.TrimSpace(got), " oom=321") {
		t.Errorf("the process in the mapped user namespace: %q; want its oom_score_adj 321", got)
	}
}
