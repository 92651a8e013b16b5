package seccomp

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNativeTableMatchesXSys checks the generated native table against
// golang.org/x/sys/unix: every SYS_* constant of the version this module
// builds with has the same number in the table, and the compiled constants
// themselves agree for a sample the package is built against.
func TestNativeTableMatchesXSys(t *testing.T) {
	table := syscallTable(NativeArch)
	if table == nil {
		t.Fatalf("no syscall table for the native architecture %q", NativeArch)
	}
	for name, nr := range map[string]uintptr{
		"read": unix.SYS_READ, "openat": unix.SYS_OPENAT, "clone3": unix.SYS_CLONE3,
		"seccomp": unix.SYS_SECCOMP, "pidfd_open": unix.SYS_PIDFD_OPEN, "mount_setattr": unix.SYS_MOUNT_SETATTR,
	} {
		if got, ok := table[name]; !ok || uintptr(got) != nr {
			t.Errorf("%s: table has %d (present %v), x/sys/unix says %d", name, got, ok, nr)
		}
	}

	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/sys").Output()
	if err != nil {
		t.Fatalf("locate golang.org/x/sys: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "unix", "zsysnum_linux_"+runtime.GOARCH+".go"))
	if err != nil {
		t.Fatal(err)
	}
	constant := regexp.MustCompile(`(?m)^\s*SYS_([A-Z0-9_]+)\s*=\s*(\d+)`)
	matches := constant.FindAllStringSubmatch(string(src), -1)
	if len(matches) < 300 {
		t.Fatalf("only %d SYS_* constants found in x/sys: wrong file?", len(matches))
	}
	for _, m := range matches {
		name := strings.ToLower(m[1])
		want, _ := strconv.ParseUint(m[2], 10, 32)
		if got, ok := table[name]; !ok || uint64(got) != want {
			t.Errorf("%s: table has %d (present %v), x/sys/unix says %d", name, got, ok, want)
		}
	}
}
