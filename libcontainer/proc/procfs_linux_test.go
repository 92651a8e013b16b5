package proc

import (
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOwnProcfs: through a procfs handed over, the process finds its own
// entries and reopens its handles, and nothing but a procfs is taken.
func TestOwnProcfs(t *testing.T) {
	notProc, err := os.OpenFile(t.TempDir(), unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer notProc.Close()
	if err := UseProcfs(notProc); err == nil {
		t.Fatal("a plain directory was taken as a procfs")
	}
	procfs, err := os.OpenFile("/proc", unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer procfs.Close()
	if err := UseProcfs(procfs); err != nil {
		t.Fatal(err)
	}
	defer func() { ownProcfs = nil }()

	f, closeThread, err := openThreadSelf("status", unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	status, _ := io.ReadAll(f)
	f.Close()
	closeThread()
	if !strings.Contains(string(status), "\nPid:\t") {
		t.Errorf("thread-self/status read %q", status)
	}

	path := t.TempDir() + "/file"
	if err := os.WriteFile(path, []byte("content"), 0o600); err != nil {
		t.Fatal(err)
	}
	handle, err := os.OpenFile(path, unix.O_PATH, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer handle.Close()
	reopened, err := Reopen(handle, unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	if got, _ := io.ReadAll(reopened); string(got) != "content" {
		t.Errorf("reopened handle read %q", got)
	}
}
