package integration

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cgroupViewScript prints what a process sees of a cgroup2 mount at $1:
// the mount's root, per-mount options, type and superblock options (its
// source on a line of its own), the directory's entries, the processes in
// its cgroup (read with a builtin, so that no child of the shell is among
// them) and its controllers.
const cgroupViewScript = `view() {
	awk -v d="$1" '$5 == d { for (i = 7; $i != "-"; i++); print "root", $4, "opts", $6, "type", $(i+1), "super", $(i+3); print "source", $(i+2) }' /proc/self/mountinfo
	ls -a "$1"
	while read -r p; do echo "proc $p"; done <"$1/cgroup.procs"
	echo "controllers $(cat "$1/cgroup.controllers")"
}
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

// TestVMCgroup2ViewInCgroupNamespace: in a new cgroup namespace the
// container's /sys/fs/cgroup (a bind of its cgroup directory) shows the
// same tree, mount root, options and processes as a cgroup2 filesystem
// mounted afresh inside the container. Only the mount's source name
// differs: a bind carries the host mount's.
func TestVMCgroup2ViewInCgroupNamespace(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, shell(cgroupViewScript+`view /sys/fs/cgroup
mount -t cgroup2 -o ro,nosuid,nodev,noexec cgroup /tmp || exit 1
echo ==
view /tmp
`), cgroup2Mount, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
		c := s.Process.Capabilities
		c.Bounding = append(c.Bounding, "CAP_SYS_ADMIN")
		c.Effective = append(c.Effective, "CAP_SYS_ADMIN")
		c.Permitted = append(c.Permitted, "CAP_SYS_ADMIN")
	})
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
	if !strings.Contains(givenView, "root / opts ro,") || !strings.Contains(givenView, "proc 1\n") {
		t.Errorf("/sys/fs/cgroup is not the container's read-only cgroup:\n%s", givenView)
	}
	if givenSource != "cgroup" && givenSource != hostCgroup2Source(t) {
		t.Errorf("source %q: neither the config's nor the host mount's", givenSource)
	}
	t.Logf("source names: given %q, new mount %q", givenSource, freshSource)
}

// TestVMCgroup2ViewWithoutCgroupNamespace: without a cgroup namespace the
// container sees the host's whole unified hierarchy, as runc shows it,
// with the host's superblock options, which stay as they were (a cgroup2
// mount made outside a cgroup namespace would apply its own options, none,
// to the whole hierarchy: nsdelegate would be gone on the host).
func TestVMCgroup2ViewWithoutCgroupNamespace(t *testing.T) {
	hostSuper := hostCgroup2Super(t)
	r := newRuntime(t)
	b := newBundle(t, shell(cgroupViewScript+"view /sys/fs/cgroup"), cgroup2Mount)
	out := mustRun(t, r, b)
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
