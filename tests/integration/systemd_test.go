package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestSystemdCgroupMalformedPath: with --systemd-cgroup, a cgroupsPath
// that is not runc's "slice:prefix:name" (or names a slice or unit
// systemd would refuse) fails create with one line saying what is wrong,
// before the host is even asked about systemd (runc's order), and leaves
// nothing behind. A well-formed path gets runc's no-systemd error here.
func TestSystemdCgroupMalformedPath(t *testing.T) {
	r := newRuntime(t)
	cases := map[string]string{
		"/oci-rt/plain":      `expected the form "slice:prefix:name"`,
		"system.slice:p":     `expected the form "slice:prefix:name"`,
		"a.slice:b:c:d":      `expected the form "slice:prefix:name"`,
		"system.slice:p:":    "the name (after the second ':') is empty",
		"system:p:n":         `slice "system" does not end in .slice`,
		"a--b.slice:p:n":     "empty part between dashes",
		"system.slice:p:a b": `' ' is not allowed in a systemd unit name`,
		"machine.slice:p:ok": "systemd not running on this host, cannot use systemd cgroups manager",
	}
	for path, want := range cases {
		id := newID(t)
		b := newBundle(t, shell("echo ran"), func(s *specs.Spec) { s.Linux.CgroupsPath = path })
		res := r.Run("--systemd-cgroup", "create", "--bundle", b, id)
		checkFailure(t, res, want)
		checkNothingLeft(t, r, id)
	}
}

// TestSlicePathWithoutSystemdFlag: without --systemd-cgroup a
// "slice:prefix:name" cgroupsPath keeps its old meaning, a relative path
// (one directory named so, below the runtime's own cgroup), as in runc.
func TestSlicePathWithoutSystemdFlag(t *testing.T) {
	r := newRuntime(t)
	const path = "system.slice:p:literal"
	c := runningContainer(t, r, func(s *specs.Spec) { s.Linux.CgroupsPath = path })
	own := ownMemoryCgroup(t)
	dir := filepath.Join("/sys/fs/cgroup/memory", own, path)
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("cgroup directory %s: %v", dir, err)
	}
	r.Must("delete", "--force", c.ID)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cgroup directory %s left after delete (%v)", dir, err)
	}
}

// ownMemoryCgroup is this process's cgroup in the v1 memory hierarchy.
func ownMemoryCgroup(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/cgroup")
	must(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && strings.Contains(","+parts[1]+",", ",memory,") {
			return parts[2]
		}
	}
	t.Skip("no v1 memory hierarchy on this host")
	return ""
}
