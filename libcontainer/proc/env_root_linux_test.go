package proc

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

type escapeArg struct{ Rootfs, HostDir string }

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func init() {
	// Inside a private mount namespace: procfs in a temp rootfs, a host
	// directory fd left open (the CVE-2024-21626 leak), then chroot.
	childScenarios["leaked-fd-escape"] = func(raw []byte) error {
		var arg escapeArg
		if err := json.Unmarshal(raw, &arg); err != nil {
			return err
		}
		if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("make / a slave: %w", err)
		}
		if err := unix.Mount("proc", filepath.Join(arg.Rootfs, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("mount proc: %w", err)
		}
		leaked, err := unix.Open(arg.HostDir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			return err
		}
		viaFd := "/proc/self/fd/" + strconv.Itoa(leaked)
		if err := os.Symlink(viaFd, filepath.Join(arg.Rootfs, "leak")); err != nil {
			return err
		}
		if err := unix.Chroot(arg.Rootfs); err != nil {
			return err
		}
		if err := unix.Chdir("/"); err != nil {
			return err
		}
		results := map[string]string{}
		if _, err := os.Stat(viaFd + "/host-marker"); err == nil {
			results["precondition"] = "host reachable"
		}
		for name, path := range map[string]string{
			"chdir fd":        viaFd,
			"chdir fd/..":     viaFd + "/..",
			"chdir symlink":   "/leak",
			"chdir symlink/.": "/leak/.",
			"chdir relative":  "etc",
		} {
			results[name] = errText(Chdir(path))
		}
		var accepted []int
		for fd := 3; fd <= 64; fd++ {
			if Chdir("/proc/self/fd/"+strconv.Itoa(fd)) == nil {
				accepted = append(accepted, fd)
			}
		}
		results["chdir fds 3..64 accepted"] = fmt.Sprint(accepted)
		results["chdir /etc"] = errText(Chdir("/etc"))
		if wd, err := os.Getwd(); err == nil {
			results["cwd"] = wd
		}
		if err := unix.Fchdir(leaked); err != nil {
			return err
		}
		results["verify outside"] = errText(verifyCwdInsideRoot())
		if err := unix.Chdir("/"); err != nil {
			return err
		}
		_, err = LookPath(viaFd+"/host-marker", nil)
		results["lookpath fd"] = errText(err)
		_, err = LookPath("/leak/host-marker", nil)
		results["lookpath symlink"] = errText(err)
		sh, err := LookPath("sh", []string{"PATH=/nowhere:/bin"})
		results["lookpath sh"] = sh + " " + errText(err)
		id, err := ResolveUser(specs.User{Username: "alice"})
		if err == nil {
			results["user alice"] = fmt.Sprintf("%d:%d %s", id.UID, id.GID, id.Home)
		} else {
			results["user alice"] = err.Error()
		}
		encoded, err := json.Marshal(results)
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(encoded)
		return err
	}
}

func TestLeakedHostFdCannotBeCwdOrExecutable(t *testing.T) {
	requireRoot(t)
	rootfs, hostDir := t.TempDir(), t.TempDir()
	for _, dir := range []string{"proc", "etc", "bin"} {
		if err := os.Mkdir(filepath.Join(rootfs, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeExecutable(t, filepath.Join(rootfs, "bin", "sh"), 0o755)
	writeExecutable(t, filepath.Join(hostDir, "host-marker"), 0o755)
	if err := os.WriteFile(filepath.Join(rootfs, "etc", "passwd"), []byte("alice:x:2000:2001::/home/alice:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The host has no alice: a result naming her proves the lookup read the rootfs.
	if host, _ := os.ReadFile("/etc/passwd"); strings.Contains(string(host), "alice:") {
		t.Fatal("the host has a user alice; the lookup would prove nothing")
	}
	out := runScenario(t, "leaked-fd-escape", escapeArg{Rootfs: rootfs, HostDir: hostDir},
		&syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS})
	var results map[string]string
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if results["precondition"] != "host reachable" {
		t.Fatalf("the leaked fd does not reach the host directory, so the test proves nothing: %v", results)
	}
	for _, name := range []string{"chdir fd", "chdir fd/..", "chdir symlink", "chdir symlink/.", "lookpath fd", "lookpath symlink"} {
		if !strings.Contains(results[name], "magic link") {
			t.Errorf("%s: %q, want a refusal naming the magic link", name, results[name])
		}
	}
	if got := results["chdir fds 3..64 accepted"]; got != "[]" {
		t.Errorf("/proc/self/fd/N accepted as cwd for N in %s", got)
	}
	if got := results["chdir relative"]; !strings.Contains(got, "not an absolute path") {
		t.Errorf("chdir relative: %q", got)
	}
	if results["chdir /etc"] != "ok" || results["cwd"] != "/etc" {
		t.Errorf("chdir /etc: %q, cwd %q", results["chdir /etc"], results["cwd"])
	}
	if got := results["verify outside"]; !strings.Contains(got, "(unreachable)") || !strings.Contains(got, "outside the container") {
		t.Errorf("verify outside: %q", got)
	}
	if got := results["lookpath sh"]; got != "/bin/sh ok" {
		t.Errorf("lookpath sh: %q", got)
	}
	if got := results["user alice"]; got != "2000:2001 /home/alice" {
		t.Errorf("user alice: %q", got)
	}
}
