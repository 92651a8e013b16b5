package cgroups_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/cgroups/internal/cgtest"
)

// RemoveTree takes a leaf cgroup with one rmdir and walks a cgroup with
// children deepest first; a cgroup that is gone already is no error.
func TestRemoveTree(t *testing.T) {
	root, path := cgtest.Cgroup2(t, "")
	top := filepath.Join(root, path)
	leaf := filepath.Join(top, "leaf")
	nested := filepath.Join(top, "nested")
	for _, dir := range []string{leaf, filepath.Join(nested, "a", "b"), filepath.Join(nested, "c")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, dir := range []string{leaf, nested, nested} {
		if err := cgroups.RemoveTree(dir, deadline); err != nil {
			t.Fatalf("RemoveTree(%s): %v", dir, err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("%s is still there (%v)", dir, err)
		}
	}
}
