//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// userNSBesideSharedMounts: on a node, containers in user namespaces start
// while other engines hold shared mounts and peer groups. The engine runs a
// container with a volume of rshared propagation (its /vol and the host's
// directory are one peer group across two mount namespaces); meanwhile the
// runtime, called directly as the runtime-tools conformance programs call
// it, runs the user-namespace cases of linux_uid_mappings and
// linux_ns_nopath from a bundle on that shared mount, with the default
// rootfsPropagation and with shared (which makes the runtime change the
// propagation of the mount holding the rootfs).
func userNSBesideSharedMounts(t *testing.T, e engine) {
	check(t, e, "userns-beside-shared-mounts", func(t *testing.T) {
		vol := sharedMount(t, filepath.Join(workDir, fmt.Sprintf("%s-shared-%d", e.Name(), containerSeq.Add(1))))
		id := e.Start(t, runOpts{sharedVolume: vol, cmd: sh(sleeper)})
		defer e.Remove(t, id)
		pid := e.Pid(t, id)
		// Engines that ask for rshared on the rootfs too keep /vol in the
		// host's peer group; with an rslave root (ctr) it is a peer group
		// of its own receiving from the host's. Either way the neighbour
		// holds shared mounts.
		hostGroup := peerGroup(t, "/proc/self/mountinfo", vol)
		group := peerGroup(t, fmt.Sprintf("/proc/%d/mountinfo", pid), "/vol")
		t.Logf("host %s: %s; the container's /vol: %s", vol, hostGroup, group)
		if group == "" {
			t.Fatalf("the container's /vol is not shared: no shared neighbour to test beside")
		}
		cases := []struct {
			name  string
			edit  func(*specs.Spec)
			wants string
		}{
			{"uid-mappings", func(s *specs.Spec) {
				s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 2000}}
				s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 3000}}
			}, "0 1000 2000"},
			{"ns-nopath", func(s *specs.Spec) {
				s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1000}}
				s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1000}}
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
			}, "0 1000 1000"},
		}
		for _, c := range cases {
			for _, propagation := range []string{"", "shared"} {
				name := c.name + "/propagation=" + propagation
				out, err := runUserNSBundle(t, vol, func(s *specs.Spec) {
					c.edit(s)
					s.Linux.RootfsPropagation = propagation
				})
				if err != nil {
					t.Errorf("%s: %v\n%s", name, err, out)
				} else if got := strings.Join(strings.Fields(out), " "); got != c.wants {
					t.Errorf("%s: uid map %q, want %q", name, got, c.wants)
				}
			}
		}
	})
}

// sharedMount binds dir onto itself and makes it shared, as an engine's
// data root or an rshared volume is; unmounted at cleanup.
func sharedMount(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
		_ = os.RemoveAll(dir)
	})
	if err := unix.Mount("", dir, "", unix.MS_SHARED, ""); err != nil {
		t.Fatalf("make %s shared: %v", dir, err)
	}
	return dir
}

// peerGroup is the shared:N field of the mount at mountPoint in a
// mountinfo file, "" when it is not shared.
func peerGroup(t *testing.T, mountinfo, mountPoint string) string {
	t.Helper()
	group := ""
	for _, line := range strings.Split(readFileString(t, mountinfo), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 7 || fields[4] != mountPoint {
			continue
		}
		group = ""
		for _, f := range fields[6:] {
			if f == "-" {
				break
			}
			if strings.HasPrefix(f, "shared:") {
				group = f
			}
		}
	}
	return group
}

// runUserNSBundle makes a busybox bundle below dir with a user namespace
// and the given edits, runs it with the runtime under test (its own
// --root and cgroup parent) and returns the uid map the container saw.
func runUserNSBundle(t *testing.T, dir string, edit func(*specs.Spec)) (string, error) {
	t.Helper()
	bundle, err := os.MkdirTemp(dir, "userns-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(bundle)
	if err := os.Chmod(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(bundle, "rootfs")
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("cp", "/bin/busybox", filepath.Join(rootfs, "bin/busybox")).CombinedOutput(); err != nil {
		t.Fatalf("copy busybox: %v\n%s", err, out)
	}
	if err := os.Symlink("busybox", filepath.Join(rootfs, "bin/cat")); err != nil {
		t.Fatal(err)
	}
	must(t, clientTimeout, runtimeBinary, "spec", "--bundle", bundle)
	path := filepath.Join(bundle, "config.json")
	var s specs.Spec
	if err := json.Unmarshal([]byte(readFileString(t, path)), &s); err != nil {
		t.Fatal(err)
	}
	s.Process.Terminal = false
	s.Process.Args = []string{"/bin/cat", "/proc/self/uid_map"}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	// This hybrid host's cgroup2 cannot be mounted inside a user namespace.
	s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/sys/fs/cgroup" })
	id := filepath.Base(bundle)
	parent := fmt.Sprintf("/oci-rt-e2e-userns-%d", os.Getpid())
	s.Linux.CgroupsPath = parent + "/" + id
	defer removeCgroupTree(t, parent)
	edit(&s)
	data, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(workDir, "userns-runtime-root")
	res := runCmd(clientTimeout, "", runtimeBinary, "--root", root, "run", "--bundle", bundle, id)
	if res.Err != nil {
		runCmd(30*time.Second, "", runtimeBinary, "--root", root, "delete", "--force", id)
	}
	return res.Out, res.Err
}
