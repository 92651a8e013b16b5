package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cgroupViewScript prints what a process sees of a cgroup2 mount at $1:
// the mount's root, per-mount options, the kinds of its propagation (their
// peer group numbers differ from mount to mount), type and superblock
// options (its source on a line of its own), the directory's entries, the
// processes in its cgroup (read with a builtin, so that no child of the
// shell is among them), its controllers, and whether a child cgroup can be
// made in it. "where" prints the process's own cgroup.
const cgroupViewScript = `view() {
	awk -v d="$1" '$5 == d { prop = ""; for (i = 7; $i != "-"; i++) { f = $i; sub(/:[0-9]+$/, "", f); prop = prop f "," }
		print "root", $4, "opts", $6, "propagation", prop, "type", $(i+1), "super", $(i+3); print "source", $(i+2) }' /proc/self/mountinfo
	ls -a "$1"
	while read -r p; do echo "proc $p"; done <"$1/cgroup.procs"
	echo "controllers $(cat "$1/cgroup.controllers")"
	if mkdir "$1/probe" 2>/dev/null; then rmdir "$1/probe" && echo "mkdir allowed"; else echo "mkdir refused"; fi
}
where() { echo "cgroup $(cat /proc/self/cgroup)"; }
`

// cgroup2Mount makes the config's cgroup mount a cgroup2 one: on a host
// with v1 hierarchies a "cgroup" mount shows those instead, and these tests
// are about the unified hierarchy's view on every host.
func cgroup2Mount(s *specs.Spec) {
	for i := range s.Mounts {
		if s.Mounts[i].Destination == "/sys/fs/cgroup" {
			s.Mounts[i].Type = "cgroup2"
		}
	}
}

// splitSource separates a view's "source" line from the rest.
func splitSource(view string) (source, rest string) {
	var kept []string
	for _, line := range strings.Split(view, "\n") {
		if s, ok := strings.CutPrefix(line, "source "); ok {
			source = s
			continue
		}
		kept = append(kept, line)
	}
	return source, strings.Join(kept, "\n")
}

// withCapSysAdmin lets the container mount a cgroup2 of its own.
func withCapSysAdmin(s *specs.Spec) {
	c := s.Process.Capabilities
	c.Bounding = append(c.Bounding, "CAP_SYS_ADMIN")
	c.Effective = append(c.Effective, "CAP_SYS_ADMIN")
	c.Permitted = append(c.Permitted, "CAP_SYS_ADMIN")
}

// withCgroupNamespace gives the container a cgroup namespace: a new one,
// or the one at path.
func withCgroupNamespace(path string) func(*specs.Spec) {
	return func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace, Path: path})
	}
}

// withCgroupMountOptions sets the options of the config's cgroup mount.
func withCgroupMountOptions(options ...string) func(*specs.Spec) {
	return func(s *specs.Spec) {
		for i := range s.Mounts {
			if s.Mounts[i].Destination == "/sys/fs/cgroup" {
				s.Mounts[i].Options = options
			}
		}
	}
}

// hostMarkerCgroup makes a cgroup at the unified hierarchy's root, beside
// the runtime's, whose name must not appear anywhere in a container's view
// of its own cgroup.
func hostMarkerCgroup(t *testing.T) string {
	t.Helper()
	name := "ocirt-marker-" + newID(t)
	dir := filepath.Join(unifiedMount(), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	return name
}

// compareWithNewMount runs a container in a new cgroup namespace whose
// cgroup mount has the options mountOpts, and which mounts a cgroup2
// afresh at /tmp with freshOpts: the two views must be the same but for
// the mount's source name (a bind carries the host mount's). It returns
// the container's view, the --debug log, and the marker cgroup's name.
func compareWithNewMount(t *testing.T, mountOpts []string, freshOpts string) (view, log, marker string) {
	t.Helper()
	marker = hostMarkerCgroup(t)
	r := newRuntime(t)
	logPath := debugLog(t, r)
	b := newBundle(t, shell(cgroupViewScript+`where
view /sys/fs/cgroup
echo "outside $(find /sys/fs/cgroup -name '`+marker+`' | wc -l)"
mount -t cgroup2 -o `+freshOpts+` cgroup /tmp || exit 1
echo ==
where
view /tmp
echo "outside $(find /tmp -name '`+marker+`' | wc -l)"
`), cgroup2Mount, withCgroupMountOptions(mountOpts...), withCgroupNamespace(""), withCapSysAdmin)
	out := mustRun(t, r, b)
	given, fresh, ok := strings.Cut(out, "==\n")
	if !ok {
		t.Fatalf("no second view in %q", out)
	}
	givenSource, givenView := splitSource(given)
	freshSource, freshView := splitSource(fresh)
	if givenView != freshView {
		t.Errorf("/sys/fs/cgroup differs from a new cgroup2 mount:\n%s\nnew mount:\n%s", givenView, freshView)
	}
	if givenSource != "cgroup" && givenSource != hostCgroup2Source(t) {
		t.Errorf("source %q: neither the config's nor the host mount's", givenSource)
	}
	t.Logf("source names: given %q, new mount %q", givenSource, freshSource)
	// Rooted at the container's own cgroup, and nothing beside it.
	// The unified hierarchy's line of /proc/self/cgroup (after the v1
	// ones on a hybrid host) names the namespace's root.
	for _, want := range []string{"0::/\n", "root / opts ", "proc 1\n", "outside 0\n"} {
		if !strings.Contains(givenView, want) {
			t.Errorf("/sys/fs/cgroup is not the container's own cgroup alone (no %q):\n%s", want, givenView)
		}
	}
	return givenView, readFile(t, logPath), marker
}

// TestVMCgroup2ViewInCgroupNamespace: in a new cgroup namespace the
// container's /sys/fs/cgroup (a bind of its cgroup directory, the --debug
// log says so) shows the same tree, mount root, options, propagation,
// processes, own cgroup and refusal to write as a cgroup2 filesystem
// mounted afresh inside the container, and nothing outside its cgroup.
func TestVMCgroup2ViewInCgroupNamespace(t *testing.T) {
	view, log, _ := compareWithNewMount(t, []string{"nosuid", "noexec", "nodev", "relatime", "ro"}, "ro,nosuid,nodev,noexec")
	if !strings.Contains(view, "opts ro,") || !strings.Contains(view, "mkdir refused") {
		t.Errorf("/sys/fs/cgroup is writable:\n%s", view)
	}
	if !strings.Contains(log, "cgroup2 at /sys/fs/cgroup: a bind of /") {
		t.Errorf("the debug log does not say the cgroup was bound:\n%s", grepLines(log, "cgroup2"))
	}
}

// TestVMCgroup2ViewInCgroupNamespaceReadWrite: the same with "rw": both
// views let the container make a child cgroup.
func TestVMCgroup2ViewInCgroupNamespaceReadWrite(t *testing.T) {
	view, log, _ := compareWithNewMount(t, []string{"nosuid", "noexec", "nodev", "relatime", "rw"}, "rw,nosuid,nodev,noexec")
	if !strings.Contains(view, "opts rw,") || !strings.Contains(view, "mkdir allowed") {
		t.Errorf("/sys/fs/cgroup is not writable:\n%s", view)
	}
	if !strings.Contains(log, "cgroup2 at /sys/fs/cgroup: a bind of /") {
		t.Errorf("the debug log does not say the cgroup was bound:\n%s", grepLines(log, "cgroup2"))
	}
}

// TestVMCgroup2ViewJoinedCgroupNamespace: a joined cgroup namespace other
// than the initial one is rooted where only the kernel knows: the
// container gets a new cgroup2 mount (the --debug log says so), rooted at
// the namespace's root, the first container's cgroup, beside which
// nothing shows.
func TestVMCgroup2ViewJoinedCgroupNamespace(t *testing.T) {
	marker := hostMarkerCgroup(t)
	r := newRuntime(t)
	first := r.Create(newBundle(t, withArgs("sleep", "100"), cgroup2Mount, withCgroupNamespace("")))
	logPath := debugLog(t, r)
	b := newBundle(t, shell(cgroupViewScript+`view /sys/fs/cgroup
echo "outside $(find /sys/fs/cgroup -name '`+marker+`' | wc -l)"
`), cgroup2Mount, withCgroupNamespace(fmt.Sprintf("/proc/%d/ns/cgroup", first.Pid)))
	out := mustRun(t, r, b)
	if !strings.Contains(out, "root / opts ro,") || !strings.Contains(out, "outside 0\n") || !strings.Contains(out, "mkdir refused") {
		t.Errorf("/sys/fs/cgroup is not the joined namespace's read-only root alone:\n%s", out)
	}
	if log := readFile(t, logPath); !strings.Contains(log, "cgroup2 at /sys/fs/cgroup: a new cgroup2 filesystem") {
		t.Errorf("the debug log does not say a new cgroup2 was mounted:\n%s", grepLines(log, "cgroup2"))
	}
}

// TestVMCgroup2ViewJoinedInitialCgroupNamespace: joining the initial
// cgroup namespace (the test's own) is having none: the container sees the whole hierarchy
// through a bind (the --debug log says so), and the host's superblock
// options stay as they were (a new mount there would apply its own).
func TestVMCgroup2ViewJoinedInitialCgroupNamespace(t *testing.T) {
	hostSuper := hostCgroup2Super(t)
	r := newRuntime(t)
	logPath := debugLog(t, r)
	b := newBundle(t, shell(cgroupViewScript+"view /sys/fs/cgroup"), cgroup2Mount, withCgroupNamespace(fmt.Sprintf("/proc/%d/ns/cgroup", os.Getpid())))
	out := mustRun(t, r, b)
	if !strings.Contains(out, "root / opts ro,") || !strings.Contains(out, " super "+hostSuper+"\n") {
		t.Errorf("/sys/fs/cgroup is not the hierarchy's root with the host's options %q:\n%s", hostSuper, out)
	}
	if got := hostCgroup2Super(t); got != hostSuper {
		t.Errorf("the host's cgroup2 options changed from %q to %q", hostSuper, got)
	}
	if log := readFile(t, logPath); !strings.Contains(log, "cgroup2 at /sys/fs/cgroup: a bind of / ") {
		t.Errorf("the debug log does not say the hierarchy's root was bound:\n%s", grepLines(log, "cgroup2"))
	}
}

// TestVMCgroup2ViewWithoutCgroupNamespace: without a cgroup namespace the
// container sees the host's whole unified hierarchy through a bind (the
// --debug log says so), as runc shows it,
// with the host's superblock options, which stay as they were (a cgroup2
// mount made outside a cgroup namespace would apply its own options, none,
// to the whole hierarchy: nsdelegate would be gone on the host).
func TestVMCgroup2ViewWithoutCgroupNamespace(t *testing.T) {
	hostSuper := hostCgroup2Super(t)
	r := newRuntime(t)
	logPath := debugLog(t, r)
	b := newBundle(t, shell(cgroupViewScript+"view /sys/fs/cgroup"), cgroup2Mount)
	out := mustRun(t, r, b)
	if log := readFile(t, logPath); !strings.Contains(log, "cgroup2 at /sys/fs/cgroup: a bind of / ") {
		t.Errorf("the debug log does not say the hierarchy's root was bound:\n%s", grepLines(log, "cgroup2"))
	}
	if !strings.Contains(out, "root / opts ro,") || !strings.Contains(out, " super "+hostSuper+"\n") {
		t.Errorf("/sys/fs/cgroup is not the hierarchy's root with the host's options %q:\n%s", hostSuper, out)
	}
	entries, err := os.ReadDir(unifiedMount())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "oci-rt" && !strings.HasPrefix(e.Name(), "oci-rt-") && !strings.Contains(out, "\n"+e.Name()+"\n") {
			t.Errorf("host's %s/%s is missing inside:\n%s", unifiedMount(), e.Name(), out)
		}
	}
	if got := hostCgroup2Super(t); got != hostSuper {
		t.Errorf("the host's cgroup2 options changed from %q to %q", hostSuper, got)
	}
}

// hostCgroup2Fields is the host's unified mount's line in mountinfo, from
// the " - " on: type, source, superblock options.
func hostCgroup2Fields(t *testing.T) []string {
	t.Helper()
	for _, line := range strings.Split(readFile(t, "/proc/self/mountinfo"), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == unifiedMount() {
			_, tail, _ := strings.Cut(line, " - ")
			return strings.Fields(tail)
		}
	}
	t.Fatalf("no mount at %s", unifiedMount())
	return nil
}

func hostCgroup2Source(t *testing.T) string { return hostCgroup2Fields(t)[1] }
func hostCgroup2Super(t *testing.T) string  { return hostCgroup2Fields(t)[2] }
