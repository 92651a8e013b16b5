package rootfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenRootFollowsNoSymlink: the bundle loader's path names no symlink,
// so one found there later was swapped in and the open fails; the host's
// / and a non-directory are refused too.
func TestOpenRootFollowsNoSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := OpenRoot(target)
	if err != nil {
		t.Fatal(err)
	}
	root.Close()

	if err := os.Symlink(target, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "link"), filepath.Join(dir, "link", ".")} {
		if _, err := OpenRoot(p); err == nil || !strings.Contains(err.Error(), "symlink") {
			t.Errorf("OpenRoot(%s) = %v, want it refused as a symlink", p, err)
		}
	}
	if _, err := OpenRoot("/"); err == nil || !strings.Contains(err.Error(), "host's /") {
		t.Errorf("OpenRoot(/) = %v, want it refused", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenRoot(file); err == nil {
		t.Error("OpenRoot of a regular file succeeded")
	}
}

// TestLocateRootRefusesAReplacedDirectory: the init's lookup must reach
// the very directory the parent validated; one renamed into its place is
// refused, the original accepted.
func TestLocateRootRefusesAReplacedDirectory(t *testing.T) {
	dir := t.TempDir()
	rootfs, other := filepath.Join(dir, "rootfs"), filepath.Join(dir, "other")
	for _, d := range []string{rootfs, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	validated, err := OpenRoot(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	defer validated.Close()
	found, err := locateRoot(rootfs, validated)
	if err != nil {
		t.Fatalf("the validated directory itself: %v", err)
	}
	found.Close()

	if err := os.Rename(rootfs, filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, rootfs); err != nil {
		t.Fatal(err)
	}
	if _, err := locateRoot(rootfs, validated); err == nil || !strings.Contains(err.Error(), "replaced") {
		t.Errorf("a directory renamed into the rootfs's place: %v, want it refused", err)
	}
}
