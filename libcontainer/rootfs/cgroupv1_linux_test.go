package rootfs

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/cgroups"
)

// TestSetupCgroupV1 builds the v1 view for real, with binds (no cgroup
// namespace in the config) and with new cgroup mounts (with one). The
// host's cpu hierarchy stands in for a co-mounted "cpu,cpuacct" one, so
// that the symlinks are made on any v1 host: the view must have a
// read-only tmpfs, each hierarchy read-only under its name, and a symlink
// per controller of the co-mounted one.
func TestSetupCgroupV1(t *testing.T) {
	for _, dir := range []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/memory"} {
		if _, err := os.Stat(dir + "/cgroup.procs"); err != nil {
			t.Skipf("needs the cpu and memory v1 hierarchies at %s: %v", dir, err)
		}
	}
	hierarchies := []cgroups.MountedHierarchy{
		{Name: "cpu,cpuacct", Controllers: []string{"cpu"}, Dir: "/sys/fs/cgroup/cpu"},
		{Name: "memory", Controllers: []string{"memory"}, Dir: "/sys/fs/cgroup/memory"},
	}
	for _, newMounts := range []bool{false, true} {
		name := "binds"
		if newMounts {
			name = "cgroupns"
		}
		t.Run(name, func(t *testing.T) {
			bundle, rootfs := newBundle(t)
			spec := defaultSpec()
			if newMounts {
				spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
			}
			rep := runScenario(t, plainNS, scenario{
				Spec: spec, Rootfs: rootfs, Bundle: bundle, CgroupV1: hierarchies,
				Stat: []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/memory"},
				Read: []string{"/sys/fs/cgroup/cpu/cpu.shares", "/sys/fs/cgroup/memory/memory.limit_in_bytes"},
			})
			if rep.SetupErr != "" || rep.FinishErr != "" {
				t.Fatalf("setup: %q, finish: %q", rep.SetupErr, rep.FinishErr)
			}
			mounts := parseMountinfo(t, rep.Mountinfo)
			if m := mounts["/sys/fs/cgroup"]; m.fsType != "tmpfs" || !hasOpt(m.mountOpts, "ro") {
				t.Errorf("/sys/fs/cgroup: %+v, want a read-only tmpfs", m)
			}
			for dir, ctrl := range map[string]string{"/sys/fs/cgroup/cpu,cpuacct": "cpu", "/sys/fs/cgroup/memory": "memory"} {
				if m := mounts[dir]; m.fsType != "cgroup" || !hasOpt(m.superOpts, ctrl) || !hasOpt(m.mountOpts, "ro") {
					t.Errorf("%s: %+v, want the read-only %s hierarchy", dir, m, ctrl)
				}
			}
			for _, link := range []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuacct"} {
				if got := rep.Stat[link].Link; got != "cpu,cpuacct" {
					t.Errorf("%s -> %q, want cpu,cpuacct", link, got)
				}
			}
			if rep.Stat["/sys/fs/cgroup/memory"].Link != "" {
				t.Error("/sys/fs/cgroup/memory is a symlink")
			}
			for p, content := range rep.Read {
				if content == "" || strings.HasPrefix(content, "error:") {
					t.Errorf("%s through the view: %q", p, content)
				}
			}
		})
	}
}
