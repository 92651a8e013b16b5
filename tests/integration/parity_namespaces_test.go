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

// withMappedUserNamespace puts the container in a new user namespace whose
// root is host uid and gid 100000 (the cgroup2 mount is dropped: this
// hybrid host refuses it inside a user namespace).
func withMappedUserNamespace(s *specs.Spec) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/sys/fs/cgroup" })
}

// userNSBundle is newBundle for a container whose root is not host root:
// the directories above the bundle become traversable for it (t.TempDir
// makes them private to root).
func userNSBundle(t *testing.T, edits ...func(*specs.Spec)) string {
	t.Helper()
	bundle := newBundle(t, append([]func(*specs.Spec){withMappedUserNamespace}, edits...)...)
	for dir := filepath.Dir(bundle); dir != os.TempDir() && dir != "/"; dir = filepath.Dir(dir) {
		noErr(t, os.Chmod(dir, 0o755))
	}
	return bundle
}

// joinNamespacesOf makes every namespace of the container a path to the
// one of pid (the way Podman's pods and Kubernetes' sandboxes share
// them); the user namespace's mappings stay in the config, as runc
// requires them.
func joinNamespacesOf(pid int) func(*specs.Spec) {
	return func(s *specs.Spec) {
		for i, ns := range s.Linux.Namespaces {
			name := map[specs.LinuxNamespaceType]string{
				specs.PIDNamespace: "pid", specs.NetworkNamespace: "net", specs.IPCNamespace: "ipc",
				specs.UTSNamespace: "uts", specs.MountNamespace: "mnt", specs.UserNamespace: "user",
			}[ns.Type]
			if name != "" && ns.Type != specs.MountNamespace {
				s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/%s", pid, name)
			}
		}
	}
}

// TestParityJoinUserNamespace: a container that joins another's user
// namespace (and its pid, net, ipc and uts namespaces) by path starts and
// runs in them: the same namespaces, the same uid map.
func TestParityJoinUserNamespace(t *testing.T) {
	compareRuntimes(t, func(t *testing.T, r *Runtime) string { return joinUserNamespace(t, r, false) })
}

// TestJoinUserNamespaceWithoutMappings: joining a user namespace by path
// with no mappings in the config works too (runc 1.1.5 refuses it: see
// parityExceptions); the process runs as the namespace's root, under the
// first container's map.
func TestJoinUserNamespaceWithoutMappings(t *testing.T) {
	specException(t, "user namespace joined without mappings")
	want := `start exit 0 "", process exit 0, uid map "0 100000 65536", in the first's namespaces true`
	if got := joinUserNamespace(t, newRuntime(t), true); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

// joinUserNamespace starts a container in a new user namespace and a
// second one joining it and its other namespaces, and reports what the
// second saw.
func joinUserNamespace(t *testing.T, r *Runtime, withoutMappings bool) string {
	first := r.Create(userNSBundle(t, withArgs("sleep", "1000")))
	r.Must("start", first.ID)
	script := "cat /proc/self/uid_map; id -u; for n in user pid net ipc uts; do readlink /proc/self/ns/$n; done"
	second := r.Create(userNSBundle(t, shell(script), joinNamespacesOf(first.Pid), func(s *specs.Spec) {
		if withoutMappings {
			s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
		}
	}))
	start := r.Run("start", second.ID)
	ws := second.Wait(t, 10e9)
	var want []string
	for _, n := range []string{"user", "pid", "net", "ipc", "uts"} {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", first.Pid, n))
		noErr(t, err)
		want = append(want, link)
	}
	out := second.ReadOutput(t)
	return fmt.Sprintf("start exit %d %q, process exit %d, uid map %q, in the first's namespaces %v",
		start.Code, start.Stderr, ws.ExitStatus(), strings.Join(strings.Fields(strings.SplitN(out, "\n", 2)[0]), " "),
		strings.HasSuffix(strings.TrimSpace(out), strings.Join(want, "\n")))
}
