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

// A base that contains the binary's directory is refused by overlay as
// an overlapping layer: a detached empty tmpfs takes its place where the
// kernel takes one as a layer, and where it does not the overlay fails
// (and openSealedSelf copies the binary).
func TestSelfOverlayOverlappingBase(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: the overlay is a mount")
	}
	empty, err := newEmptyTmpfs()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(empty)
	exe := selfPath(t)
	probe, detachedErr := openOnOverlay(exe, "lowerdir+", filepath.Dir(exe), fmt.Sprintf("/proc/self/fd/%d", empty))
	if detachedErr == nil {
		probe.Close()
	}
	if _, err := openOnOverlay(exe, "lowerdir", overlayLowerDirs(filepath.Dir(exe), "/")); err == nil {
		t.Fatal("overlay took / under the binary's directory as a layer")
	}
	f, err := openSelfOnOverlay("/")
	switch {
	case detachedErr == nil && err != nil:
		t.Fatalf("this kernel takes a detached layer, but: %v", err)
	case detachedErr == nil:
		defer f.Close()
		var fs unix.Statfs_t
		if err := unix.Fstatfs(int(f.Fd()), &fs); err != nil || fs.Type != unix.OVERLAYFS_SUPER_MAGIC {
			t.Errorf("the handle is on a filesystem of type %#x (%v), want the overlay", fs.Type, err)
		}
	case err == nil:
		f.Close()
		t.Fatalf("this kernel takes no detached layer (%v), yet the overlay was built", detachedErr)
	}
}

// sealedFallbackChildEnv marks the test binary run from a memfd copy.
const sealedFallbackChildEnv = "OCI_RT_SEALED_FALLBACK_CHILD"

// Where no overlay can show the binary (here: it runs from a memfd, in no
// directory), openSealedSelf still protects it, by the memfd copy.
func TestSealedSelfFallsBackToMemfd(t *testing.T) {
	const name = "TestSealedSelfFallsBackToMemfd"
	if os.Getenv(sealedFallbackChildEnv) != "" {
		f, err := openSealedSelf(t.TempDir())
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
		return
	}
	if os.Geteuid() != 0 {
		t.Fatal("needs root: the overlay is a mount")
	}
	out, err := runSealedCopy(t, []string{"-test.run=^" + name + "$", "-test.v", "-test.count=1"}, sealedFallbackChildEnv+"=1")
	if err != nil || !strings.Contains(out, "--- PASS: "+name) {
		t.Fatalf("run from a memfd copy: %v\n%s", err, out)
	}
}

func TestNested(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"/usr/local/sbin", "/run/oci-rt", false},
		{"/usr/local/sbin", "/usr/local/sbin", true},
		{"/work/main", "/work/main/state", true},
		{"/work/main/state", "/work/main", true},
		{"/work/main", "/work/main2", false},
		{"/", "/run/oci-rt", true},
		{"/usr/bin", "/", true},
	} {
		if got := nested(c.a, c.b); got != c.want {
			t.Errorf("nested(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
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
	out, err := runSealedCopy(t, []string{"-test.list=^" + name + "$"})
	if err != nil {
		t.Fatalf("run the sealed copy: %v: %s", err, out)
	}
	if got := strings.TrimSpace(out); got != name {
		t.Fatalf("the sealed copy ran something else: %q", got)
	}
}

// runSealedCopy runs the test binary from its sealed memfd copy with args
// and env added to ours, and returns its output.
func runSealedCopy(t *testing.T, args []string, env ...string) (string, error) {
	t.Helper()
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
	cmd := &exec.Cmd{Path: path, Args: append([]string{"libcontainer.test"}, args...), Env: append(os.Environ(), env...)}
	out, err := cmd.CombinedOutput()
	return string(out), err
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
