package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCreateMountpoints: the destinations in the rootfs itself appear, a
// file for a bind of a file; those below another mount (sysfs, a tmpfs,
// a bind) are not made under it.
func TestCreateMountpoints(t *testing.T) {
	bundle := t.TempDir()
	rootfs := filepath.Join(bundle, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	hosts := filepath.Join(bundle, "hosts")
	if err := os.WriteFile(hosts, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	spec := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs"},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup"},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts"},
		{Destination: "/etc/hosts", Type: "bind", Source: "hosts", Options: []string{"rbind"}},
		{Destination: "/data", Type: "bind", Source: bundle, Options: []string{"rbind"}},
		{Destination: "/data/sub", Type: "tmpfs", Source: "tmpfs"},
	}}
	if err := CreateMountpoints(rootfs, bundle, spec); err != nil {
		t.Fatal(err)
	}
	for dest, dir := range map[string]bool{"/proc": true, "/sys": true, "/dev": true, "/etc/hosts": false, "/data": true} {
		st, err := os.Stat(filepath.Join(rootfs, dest))
		if err != nil || st.IsDir() != dir {
			t.Errorf("%s: %v, directory %t, want a directory %t", dest, err, err == nil && st.IsDir(), dir)
		}
	}
	for _, below := range []string{"/sys/fs", "/dev/pts", "/data/sub"} {
		if _, err := os.Lstat(filepath.Join(rootfs, below)); !os.IsNotExist(err) {
			t.Errorf("%s was made below another mount (%v)", below, err)
		}
	}
	if _, err := os.Stat(filepath.Join(bundle, "sub")); !os.IsNotExist(err) {
		t.Errorf("a mountpoint was made in a bind's source (%v)", err)
	}
}
