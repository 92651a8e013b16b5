package nsenter

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// ownUserNamespaceChild is the test binary's role (childEnv) as a runtime
// re-executed into a user namespace of its own: it reports what its
// constructor made (reportOwnUserNamespace).
const ownUserNamespaceChild = "own-user-namespace"

// reportOwnUserNamespace prints the process's ids, maps, setgroups
// policy, mount and user namespaces, whether it has CAP_SYS_ADMIN, and
// whether the request is still in its environment once taken.
func reportOwnUserNamespace() {
	read := func(path string) string {
		data, _ := os.ReadFile(path)
		return strings.Join(strings.Fields(string(data)), ",")
	}
	mnt, _ := os.Readlink("/proc/self/ns/mnt")
	user, _ := os.Readlink("/proc/self/ns/user")
	var capEff uint64
	status, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(status), "\n") {
		if hex, ok := strings.CutPrefix(line, "CapEff:\t"); ok {
			capEff, _ = strconv.ParseUint(hex, 16, 64)
		}
	}
	_, _, asked := TakeOwnUserNamespaceRequest()
	_, left := os.LookupEnv(ownUIDMapEnv)
	fmt.Printf("uid=%d gid=%d uidmap=%s gidmap=%s setgroups=%s mnt=%s user=%s sysadmin=%v asked=%v left=%v\n", os.Getuid(), os.Getgid(),
		read("/proc/self/uid_map"), read("/proc/self/gid_map"), read("/proc/self/setgroups"), mnt, user, capEff&(1<<unix.CAP_SYS_ADMIN) != 0, asked, left)
}

// runAsNobody runs the test binary in the role ownUserNamespaceChild as
// uid and gid 65534, with env added, and returns what it printed.
func runAsNobody(t *testing.T, env ...string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the test switches to another user and needs root")
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(append(os.Environ(), childEnv+"="+ownUserNamespaceChild), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return string(out)
}

// A process without privilege asked for a user namespace of its own gets
// one, with a mount namespace, the maps written as given and setgroups
// denied, and is its root with every capability; the request leaves its
// environment once taken. Without the request nothing changes; maps the
// kernel refuses leave the process in a namespace without them, which is
// what the runtime reads to report it.
func TestOwnUserNamespace(t *testing.T) {
	hostMnt, _ := os.Readlink("/proc/self/ns/mnt")
	hostUser, _ := os.Readlink("/proc/self/ns/user")
	got := runAsNobody(t, OwnUserNamespaceEnv(nil, "0 65534 1", "0 65534 1")...)
	for _, want := range []string{"uid=0 gid=0 uidmap=0,65534,1 gidmap=0,65534,1 setgroups=deny ", "sysadmin=true asked=true left=false"} {
		if !strings.Contains(got, want) {
			t.Errorf("asked for a namespace: %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "mnt="+hostMnt) || strings.Contains(got, "user="+hostUser) {
		t.Errorf("asked for a namespace: %q is in the host's mount or user namespace", got)
	}

	got = runAsNobody(t)
	if want := "uid=65534 gid=65534 uidmap=0,0,4294967295 gidmap=0,0,4294967295 setgroups=allow mnt=" + hostMnt + " user=" + hostUser; !strings.HasPrefix(got, want) ||
		!strings.Contains(got, "sysadmin=false asked=false") {
		t.Errorf("not asked: %q, want %q and nothing asked", got, want)
	}

	got = runAsNobody(t, OwnUserNamespaceEnv(nil, "0 0 1", "0 65534 1")...)
	if want := "uid=65534 gid=65534 uidmap= gidmap= setgroups=deny "; !strings.HasPrefix(got, want) || strings.Contains(got, "user="+hostUser) {
		t.Errorf("a uid map of another's id: %q, want %q in a namespace of its own", got, want)
	}
}
