package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// On a cgroup v1 host a "cgroup" mount shows the container runc's layout:
// a tmpfs at /sys/fs/cgroup and, under each hierarchy's host name, the
// container's own cgroup of that hierarchy (a bind of its directory, or
// with a cgroup namespace a new cgroup mount rooted there), and a symlink
// per controller of a co-mounted hierarchy.

// cgroupV1ViewScript prints the container's cgroup mounts, the symlinks
// next to them, its memory limit as the memory hierarchy shows it, and its
// own cgroups, in sections.
const cgroupV1ViewScript = `grep ' /sys/fs/cgroup' /proc/self/mountinfo; echo ===
for l in /sys/fs/cgroup/*; do [ -L "$l" ] && echo "$l -> $(readlink "$l")"; done; echo ===
cat /sys/fs/cgroup/memory/memory.limit_in_bytes; echo ===
cat /proc/self/cgroup`

// cgroupMountView is what both runtimes must agree on: each mount under
// /sys/fs/cgroup as "mountpoint root per-mount-options type source
// super-options", the root spelled OWN where it is the container's own
// cgroup, sorted; then the symlinks and the memory limit. The tmpfs's
// read-only flag is left out (see TestCgroupV1MountLayout); mount ids
// and orders are the runtime's business.
func cgroupMountView(t *testing.T, out string) (view string, tmpfsOptions string) {
	t.Helper()
	sections := strings.Split(out, "===\n")
	if len(sections) != 4 {
		t.Fatalf("unexpected output %q", out)
	}
	own := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(sections[3]), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 {
			own[parts[1]] = parts[2]
		}
	}
	var mounts []string
	for _, line := range strings.Split(strings.TrimSpace(sections[0]), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 6 || len(tail) < 3 {
			t.Fatalf("mountinfo line %q", line)
		}
		root, mountpoint, options := fields[3], fields[4], fields[5]
		if tail[0] == "tmpfs" {
			tmpfsOptions = options
			options = strings.TrimPrefix(strings.TrimPrefix(options, "ro,"), "rw,")
		}
		if tail[0] == "cgroup" {
			if root == own[hierarchyKey(tail[2])] {
				root = "OWN"
			}
		}
		mounts = append(mounts, strings.Join([]string{mountpoint, root, options, tail[0], tail[1], tail[2]}, " "))
	}
	slices.Sort(mounts)
	return strings.Join(mounts, "\n") + "\n---\n" + sections[1] + sections[2], tmpfsOptions
}

// hierarchyKey turns a v1 mount's super options ("rw,cpu,cpuacct",
// "rw,name=systemd") into its key in /proc/self/cgroup.
func hierarchyKey(superOptions string) string {
	var names []string
	for _, o := range strings.Split(superOptions, ",") {
		if o != "rw" && o != "ro" && o != "xattr" && o != "clone_children" && !strings.HasPrefix(o, "release_agent=") {
			names = append(names, o)
		}
	}
	return strings.Join(names, ",")
}

func TestCgroupV1MountLayout(t *testing.T) {
	requireV1(t)
	for _, cgroupNS := range []bool{false, true} {
		t.Run(fmt.Sprintf("cgroupns=%v", cgroupNS), func(t *testing.T) {
			limit := int64(64 << 20)
			edits := []func(*specs.Spec){shell(cgroupV1ViewScript), withResources(specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}})}
			if cgroupNS {
				edits = append(edits, func(s *specs.Spec) {
					s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
				})
			}
			var ociView, ociTmpfs string
			compareRuntimes(t, func(t *testing.T, r *Runtime) string {
				out := mustRun(t, r, newBundle(t, edits...))
				view, tmpfsOptions := cgroupMountView(t, out)
				if filepath.Base(r.Bin) != "runc" {
					ociView, ociTmpfs = view, tmpfsOptions
				}
				return view
			})
			// runc leaves the tmpfs writable; oci-rt keeps the whole
			// cgroup view read-only.
			if !strings.HasPrefix(ociTmpfs, "ro,") {
				t.Errorf("oci-rt's /sys/fs/cgroup tmpfs is not read-only: %q", ociTmpfs)
			}
			if !strings.Contains(ociView, "/sys/fs/cgroup/memory OWN ") {
				t.Errorf("the memory hierarchy is not the container's own cgroup:\n%s", ociView)
			}
			if want := coMountedLinks(t) + fmt.Sprintf("%d\n", limit); !strings.HasSuffix(ociView, "\n---\n"+want) {
				t.Errorf("want the symlinks and memory limit\n%s\ngot\n%s", want, ociView)
			}
		})
	}
}

// coMountedLinks are the symlinks a container should see for the host's
// co-mounted hierarchies (none where every controller has its own), as
// cgroupV1ViewScript prints them.
func coMountedLinks(t *testing.T) string {
	t.Helper()
	entries, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var links []string
	for _, e := range entries {
		if !e.IsDir() || !strings.Contains(e.Name(), ",") {
			continue
		}
		for _, c := range strings.Split(e.Name(), ",") {
			links = append(links, fmt.Sprintf("/sys/fs/cgroup/%s -> %s\n", c, e.Name()))
		}
	}
	slices.Sort(links)
	return strings.Join(links, "")
}
