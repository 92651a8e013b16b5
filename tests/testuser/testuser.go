// Package testuser makes throwaway unprivileged accounts for the tests of
// rootless containers (tests/integration and tests/e2e): useradd gives
// each one subordinate id ranges, and the account, its directories and
// everything below them go when the test ends.
package testuser

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// User is an account made for one test.
type User struct {
	Name     string
	UID, GID uint32
	// Dir is the user's own directory, its HOME, readable by all as a
	// home would be.
	Dir string
	// RuntimeDir is its XDG_RUNTIME_DIR: Dir/xdg unless UseRunUserDir
	// moves it to where logind would make it.
	RuntimeDir string
}

// New adds the account name (removing one an interrupted run left) with a
// directory below parent ("" for the default temporary directory), and
// removes both when the test ends. Clean-ups the test registers later run
// first, so the user's processes can be ended before userdel.
func New(t testing.TB, name, parent string) *User {
	t.Helper()
	_ = exec.Command("userdel", name).Run()
	if out, err := exec.Command("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v\n%s", name, err, out)
		}
	})
	account, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(account.Uid)
	gid, _ := strconv.Atoi(account.Gid)
	dir, err := os.MkdirTemp(parent, "ocirt-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	// Below the user's directory are files the user's subordinate ids
	// own, which only root may remove.
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	u := &User{Name: name, UID: uint32(uid), GID: uint32(gid), Dir: dir, RuntimeDir: filepath.Join(dir, "xdg")}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(u.RuntimeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	u.Chown(t, dir, u.RuntimeDir)
	return u
}

// UseRunUserDir makes /run/user/<uid>, mode 0700 and the user's, as
// logind makes it at login on hosts that have logind, and uses it as the
// user's XDG_RUNTIME_DIR until the test ends. One left by an interrupted
// run belonged to the account just removed and is replaced.
func (u *User) UseRunUserDir(t testing.TB) {
	t.Helper()
	// /run/user is 0755 where logind makes it; on a host without logind
	// it may be missing, and a parent made 0700 by MkdirAll would keep
	// the user out of its own directory.
	if err := os.Mkdir("/run/user", 0o755); err == nil {
		t.Cleanup(func() { _ = os.Remove("/run/user") })
	} else if !os.IsExist(err) {
		t.Fatal(err)
	}
	dir := filepath.Join("/run/user", strconv.Itoa(int(u.UID)))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	u.Chown(t, dir)
	u.RuntimeDir = dir
}

// Chown gives paths, and everything below them, to the user.
func (u *User) Chown(t testing.TB, paths ...string) {
	t.Helper()
	owner := strconv.Itoa(int(u.UID)) + ":" + strconv.Itoa(int(u.GID))
	if out, err := exec.Command("chown", append([]string{"-R", owner}, paths...)...).CombinedOutput(); err != nil {
		t.Fatalf("chown %s: %v\n%s", paths, err, out)
	}
}

// Copy copies src (a file or a tree) to dst and gives the copy to the
// user.
func (u *User) Copy(t testing.TB, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp %s: %v\n%s", src, err, out)
	}
	u.Chown(t, dst)
}

// Command is binary args... run as the user, with stdin from /dev/null.
func (u *User) Command(binary string, args ...string) *exec.Cmd {
	return u.As(exec.Command(binary, args...))
}

// As makes cmd run as the user, in its directory, with the environment of
// its login session and nothing of the caller's.
func (u *User) As(cmd *exec.Cmd) *exec.Cmd {
	cmd.Dir = u.Dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + u.Dir, "USER=" + u.Name, "XDG_RUNTIME_DIR=" + u.RuntimeDir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: []uint32{}}}
	return cmd
}

// SubordinateStart is the first id of the user's range in file,
// /etc/subuid or /etc/subgid (useradd gives a new user one of
// SUB_UID_COUNT ids).
func (u *User) SubordinateStart(t testing.TB, file string) uint32 {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Split(line, ":")
		if len(fields) == 3 && fields[0] == u.Name {
			start, err := strconv.ParseUint(fields[1], 10, 32)
			if err != nil {
				t.Fatalf("%s: %q: %v", file, line, err)
			}
			return uint32(start)
		}
	}
	t.Fatalf("%s has no range for %s (SUB_UID_COUNT in /etc/login.defs)", file, u.Name)
	return 0
}
