package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/oci-rt/oci-rt/cgroups"
)

// Each controller of a co-mounted hierarchy gets a relative symlink to
// it; a hierarchy of its own gets none, and a name that would leave the
// directory is skipped.
func TestLinkCoMounted(t *testing.T) {
	dir := t.TempDir()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	hierarchies := []cgroups.MountedHierarchy{{Name: "cpu,cpuacct"}, {Name: "memory"}, {Name: "net_cls,net_prio"}, {Name: "x,.."}}
	if err := linkCoMounted(d, hierarchies); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"cpu": "cpu,cpuacct", "cpuacct": "cpu,cpuacct", "net_cls": "net_cls,net_prio", "net_prio": "net_cls,net_prio", "x": "x,.."}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("got %d entries, want %d: %v", len(entries), len(want), entries)
	}
	for name, target := range want {
		if got, err := os.Readlink(filepath.Join(dir, name)); err != nil || got != target {
			t.Errorf("%s -> %q (%v), want %q", name, got, err, target)
		}
	}
	// A second call (the link exists already) is not an error.
	if err := linkCoMounted(d, hierarchies); err != nil {
		t.Errorf("again: %v", err)
	}
}

func TestIsPlainName(t *testing.T) {
	for name, want := range map[string]bool{"memory": true, "cpu,cpuacct": true, "": false, ".": false, "..": false, "a/b": false, "/x": false} {
		if got := isPlainName(name); got != want {
			t.Errorf("isPlainName(%q) = %v", name, got)
		}
	}
}
