package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Both ways of protecting the binary hand out a file with our binary's
// bytes that cannot be written however it is reopened, and whose mount,
// where it has one, cannot be made writable. The tests need root (the
// overlay is a mount); the container-side attacks are in
// tests/integration (TestRuntimeBinaryPrivilegedAttacker).
func TestSealedSelf(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: the overlay is a mount")
	}
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	// The state root the overlay stacks under the binary's directory: a
	// name overlay would split without escapes, holding a decoy under the
	// binary's name that the binary's directory must hide.
	base := filepath.Join(t.TempDir(), `state:root\x`)
	if err := os.Mkdir(base, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, filepath.Base(selfPath(t))), []byte("decoy"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		open  func() (*os.File, error)
		magic int64
	}{
		{"overlay", func() (*os.File, error) { return openSelfOnOverlay(base) }, unix.OVERLAYFS_SUPER_MAGIC},
		{"memfd", copySelfToSealedMemfd, unix.TMPFS_MAGIC},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := c.open()
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var fs unix.Statfs_t
			if err := unix.Fstatfs(int(f.Fd()), &fs); err != nil {
				t.Fatal(err)
			}
			if fs.Type != c.magic {
				t.Errorf("the handle is on a filesystem of type %#x, want %#x", fs.Type, c.magic)
			}
			got, err := os.ReadFile(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, self) {
				t.Fatalf("the handle reads %d bytes that are not our binary (%d bytes)", len(got), len(self))
			}
			attr := unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}
			if err := unix.MountSetattr(int(f.Fd()), "", unix.AT_EMPTY_PATH, &attr); err == nil {
				t.Error("mount_setattr cleared read-only on the binary's mount")
			}
			assertUnwritable(t, fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
			if _, err := f.Write([]byte("x")); err == nil {
				t.Error("wrote through the handle itself")
			}
		})
	}
}

// Where the overlay cannot be built (here: a base that contains the
// binary's directory, which overlay refuses as overlapping layers), the
// binary is still protected, by the memfd copy.
func TestSealedSelfFallsBackToMemfd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: the overlay is a mount")
	}
	if _, err := openSelfOnOverlay("/"); err == nil {
		t.Fatal("overlay built with / under the binary's directory")
	}
	f, err := openSealedSelf("/")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	target, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(target, "/memfd:") {
		t.Fatalf("the binary's handle is %s, want the sealed memfd copy", target)
	}
}

func TestOverlayLowerDirs(t *testing.T) {
	for _, c := range []struct {
		dirs []string
		want string
	}{
		{[]string{"/usr/local/sbin", "/run/oci-rt"}, "/usr/local/sbin:/run/oci-rt"},
		{[]string{"/opt/a:b", `/run/x\y`}, `/opt/a\:b:/run/x\\y`},
		{[]string{`/t/\:`, "relative/root"}, `/t/\\\::relative/root`},
	} {
		if got := overlayLowerDirs(c.dirs...); got != c.want {
			t.Errorf("overlayLowerDirs(%q) = %q, want %q", c.dirs, got, c.want)
		}
	}
}

// selfPath is the path of the running test binary.
func selfPath(t *testing.T) string {
	t.Helper()
	p, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// memfdNoexecChildEnv marks the re-executed test binary that runs the
// memfd check in a pid namespace of its own.
const memfdNoexecChildEnv = "OCI_RT_MEMFD_NOEXEC_CHILD"

// Where vm.memfd_noexec is 1, a memfd made without MFD_EXEC cannot be
// executed: the sealed copy must still start. The sysctl is per pid
// namespace, so the check runs in a new one and leaves the host's alone.
func TestSealedMemfdRunsUnderMemfdNoexec(t *testing.T) {
	const name = "TestSealedMemfdRunsUnderMemfdNoexec"
	if os.Getenv(memfdNoexecChildEnv) != "" {
		runSealedMemfd(t, name)
		return
	}
	if os.Geteuid() != 0 {
		t.Fatal("needs root: a pid namespace")
	}
	cmd := exec.Command("/proc/self/exe", "-test.run=^"+name+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), memfdNoexecChildEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWPID}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("in a pid namespace with vm.memfd_noexec=1: %v\n%s", err, out)
	}
}

// runSealedMemfd, in the pid namespace, sets vm.memfd_noexec to 1 and
// runs the test binary from its sealed copy.
func runSealedMemfd(t *testing.T, name string) {
	if err := os.WriteFile("/proc/sys/vm/memfd_noexec", []byte("1"), 0); err != nil {
		t.Fatalf("this kernel has no per-namespace vm.memfd_noexec (before 6.3?): %v", err)
	}
	f, err := copySelfToSealedMemfd()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	path, fd, err := execPathAboveShuffle(f, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	cmd := &exec.Cmd{Path: path, Args: []string{"libcontainer.test", "-test.list=^" + name + "$"}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run the sealed copy: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != name {
		t.Fatalf("the sealed copy ran something else: %q", got)
	}
}

// assertUnwritable checks that path cannot be opened for writing, or that
// what opens refuses writes and mappings for writing.
func assertUnwritable(t *testing.T, path string) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		if !errors.Is(err, unix.EROFS) {
			t.Errorf("reopen for writing: %v, want EROFS", err)
		}
		return
	}
	defer unix.Close(fd)
	if _, err := unix.Pwrite(fd, []byte("x"), 0); !errors.Is(err, unix.EPERM) {
		t.Errorf("write to the reopened handle: %v, want EPERM (sealed)", err)
	}
	if m, err := unix.Mmap(fd, 0, 4096, unix.PROT_WRITE, unix.MAP_SHARED); err == nil {
		_ = unix.Munmap(m)
		t.Error("mapped the binary shared and writable")
	}
}

// BenchmarkSealedSelf is what protecting the binary costs each `run`,
// `create` and `exec`, for a binary the size of the test binary (the
// overlay's cost does not depend on the size, the memfd copy's does).
func BenchmarkSealedSelf(b *testing.B) {
	st, err := os.Stat("/proc/self/exe")
	if err != nil {
		b.Fatal(err)
	}
	base := b.TempDir()
	for _, c := range []struct {
		name string
		open func() (*os.File, error)
	}{{"overlay", func() (*os.File, error) { return openSelfOnOverlay(base) }}, {"memfd", copySelfToSealedMemfd}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(st.Size())
			for i := 0; i < b.N; i++ {
				f, err := c.open()
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}
