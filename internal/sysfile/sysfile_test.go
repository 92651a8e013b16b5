package sysfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
