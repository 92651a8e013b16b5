package sysfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadFileReadsWhatOSReads(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	// Longer than the first buffer and not a multiple of any of its sizes.
	content := bytes.Repeat([]byte("0123456789abcdef"), 70000)[:1100003]
	if err := os.WriteFile(big, content, 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// Files under /proc report size 0 and are read until the end.
	for _, path := range []string{big, empty, "/proc/self/mountinfo", "/proc/self/cmdline", "/proc/sys/kernel/random/boot_id"} {
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(path)
		if err != nil {
			t.Fatalf("ReadFile(%s): %v", path, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("ReadFile(%s) gave %d bytes that differ from os.ReadFile's %d", path, len(got), len(want))
		}
	}
}

func TestReadFileErrorsAreOSErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := ReadFile(missing)
	var pathErr *os.PathError
	if !errors.Is(err, os.ErrNotExist) || !errors.As(err, &pathErr) || pathErr.Op != "open" || pathErr.Path != missing {
		t.Errorf("ReadFile of a missing file: %v, want an open *os.PathError that is os.ErrNotExist", err)
	}
	_, err = ReadFile(t.TempDir())
	if err == nil || !strings.HasPrefix(err.Error(), "read ") {
		t.Errorf("ReadFile of a directory: %v, want a read error", err)
	}
}

// Open gives the file os.OpenFile gives, close-on-exec, and its errors.
func TestOpenIsOSOpenFile(t *testing.T) {
	for _, c := range []struct {
		path  string
		flags int
	}{{"/proc/self/ns/net", unix.O_RDONLY}, {"/proc", unix.O_PATH | unix.O_DIRECTORY}} {
		want, err := os.OpenFile(c.path, c.flags, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer want.Close()
		got, err := Open(c.path, c.flags)
		if err != nil {
			t.Fatalf("Open(%s): %v", c.path, err)
		}
		defer got.Close()
		var a, b unix.Stat_t
		if err := unix.Fstat(int(want.Fd()), &a); err != nil {
			t.Fatal(err)
		}
		if err := unix.Fstat(int(got.Fd()), &b); err != nil {
			t.Fatal(err)
		}
		if a.Dev != b.Dev || a.Ino != b.Ino || got.Name() != c.path {
			t.Errorf("Open(%s) is %s, inode %d:%d; want inode %d:%d", c.path, got.Name(), b.Dev, b.Ino, a.Dev, a.Ino)
		}
		if fl, err := unix.FcntlInt(got.Fd(), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
			t.Errorf("Open(%s): not close-on-exec (%#x, %v)", c.path, fl, err)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := Open(missing, unix.O_RDONLY)
	var pathErr *os.PathError
	if !errors.Is(err, os.ErrNotExist) || !errors.As(err, &pathErr) || pathErr.Op != "open" || pathErr.Path != missing {
		t.Errorf("Open of a missing file: %v, want an open *os.PathError that is os.ErrNotExist", err)
	}
}
