package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// expectCreateFails runs `create` of bundle and asserts the failure shape
// every client depends on: a non-zero exit, one line on stderr containing
// want (case-insensitive), nothing on stdout, and nothing left behind.
func expectCreateFails(t *testing.T, r *Runtime, bundle, want string) Result {
	t.Helper()
	id := newID(t)
	res := r.Run("create", "--bundle", bundle, id)
	checkFailure(t, res, want)
	checkNothingLeft(t, r, id)
	return res
}

// checkFailure asserts a non-zero exit with a single line naming the problem.
func checkFailure(t *testing.T, res Result, want string) {
	t.Helper()
	if res.Code == 0 {
		t.Fatalf("%s: succeeded, want a failure mentioning %q", res, want)
	}
	msg := strings.TrimSuffix(res.Stderr, "\n")
	if msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("%s: want exactly one line on stderr", res)
	}
	if !strings.Contains(strings.ToLower(errorMessage(msg)), strings.ToLower(want)) {
		t.Errorf("%s: error does not mention %q", res, want)
	}
}

// checkNothingLeft asserts that a failed create of id left no state dir,
// no cgroup and no process behind.
func checkNothingLeft(t *testing.T, r *Runtime, id string) {
	t.Helper()
	if entries, _ := os.ReadDir(r.Root); len(entries) != 0 {
		t.Errorf("state left under --root %s: %v", r.Root, entries)
	}
	if _, err := os.Stat(cgroupDir(id)); !os.IsNotExist(err) {
		t.Errorf("cgroup %s left behind (stat: %v)", cgroupDir(id), err)
	}
	// A failed create's init would be reparented to us, the subreaper.
	if kids := strayChildren(t); len(kids) != 0 {
		t.Errorf("processes left behind (live children of the test): %v", kids)
	}
}

// strayChildren lists the non-zombie processes whose parent is the test
// process. Tests here do not run in parallel: any such process belongs to
// the current test.
func strayChildren(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, err := procPPid(pid); err == nil && ppid == os.Getpid() && pidAlive(pid) {
			comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
			kids = append(kids, e.Name()+":"+strings.TrimSpace(string(comm)))
		}
	}
	return kids
}

// TestBadIDs: hostile IDs are refused before anything touches
// the disk: not even the --root directory is made. (A NUL cannot pass
// through argv at all; the configs unit tests cover it.)
func TestBadIDs(t *testing.T) {
	bundle := newBundle(t)
	for _, id := range []string{"", ".", "..", "a/b", "../x", "/abs", strings.Repeat("a", 1024), "a\x01b", "a\nb", "a\x7fb", "-rf"} {
		root := filepath.Join(t.TempDir(), "root")
		for _, args := range [][]string{{"create", "--bundle", bundle, id}, {"run", "--bundle", bundle, id}, {"delete", id}, {"state", id}, {"kill", id, "KILL"}, {"start", id}} {
			r := &Runtime{t: t, Root: root, Bin: rtBinary}
			res := r.Run(args...)
			if res.Code == 0 {
				t.Errorf("%s: succeeded with a bad ID", res)
				continue
			}
			if msg := strings.TrimSuffix(res.Stderr, "\n"); msg == "" || strings.Contains(msg, "\n") {
				t.Errorf("%s: want exactly one line on stderr", res)
			}
			if _, err := os.Lstat(root); !os.IsNotExist(err) {
				t.Fatalf("%s: --root %s was created (%v)", res, root, err)
			}
		}
	}
}

// TestBadConfigFiles: broken config.json files give a bounded,
// one-line error and leave nothing behind.
func TestBadConfigFiles(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	for _, tc := range []struct {
		name, want string
		setup      func(t *testing.T, configPath string)
	}{
		{"missing", "config.json", func(t *testing.T, p string) { must(t, os.Remove(p)) }},
		{"empty", "config.json", func(t *testing.T, p string) { must(t, os.WriteFile(p, nil, 0o644)) }},
		{"not json", "config.json", func(t *testing.T, p string) { must(t, os.WriteFile(p, []byte("ociVersion: 1.0"), 0o644)) }},
		{"null", "config.json", func(t *testing.T, p string) { must(t, os.WriteFile(p, []byte("null"), 0o644)) }},
		{"wrong types", "process", func(t *testing.T, p string) {
			must(t, os.WriteFile(p, []byte(`{"ociVersion":"1.0.0","root":{"path":"rootfs"},"process":{"args":"sh"}}`), 0o644))
		}},
		{"64 MiB", "config.json", func(t *testing.T, p string) { must(t, os.Truncate(p, 64<<20)) }},
		{"10000-deep nesting", "config.json", func(t *testing.T, p string) {
			must(t, os.WriteFile(p, []byte(`{"ociVersion":"1.0.0","root":{"path":"rootfs"},"annotations":`+deep+`}`), 0o644))
		}},
		{"ociVersion 2", "ociVersion", func(t *testing.T, p string) {
			editBundle(t, filepath.Dir(p), func(s *specs.Spec) { s.Version = "2.0.0" })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRuntime(t)
			b := newBundle(t)
			tc.setup(t, filepath.Join(b, "config.json"))
			start := time.Now()
			expectCreateFails(t, r, b, tc.want)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("rejecting took %v", d)
			}
		})
	}
}

// TestBadConfigValues: configs that must be refused (paths and sysctls
// that would reach the host, ID maps the kernel would refuse, resources
// this host cannot apply), each with an error naming the offending field.
func TestBadConfigValues(t *testing.T) {
	userns := func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	}
	withoutNS := func(s *specs.Spec, typ specs.LinuxNamespaceType) {
		var kept []specs.LinuxNamespace
		for _, ns := range s.Linux.Namespaces {
			if ns.Type != typ {
				kept = append(kept, ns)
			}
		}
		s.Linux.Namespaces = kept
	}
	for _, tc := range []struct {
		name, want string
		edit       func(*specs.Spec)
		bundle     func(t *testing.T, b string)
	}{
		{name: "root missing", want: "root", edit: func(s *specs.Spec) { s.Root.Path = "no-such-dir" }},
		{name: "root symlink", want: "symlink", edit: func(s *specs.Spec) { s.Root.Path = "link" },
			bundle: func(t *testing.T, b string) { must(t, os.Symlink("rootfs", filepath.Join(b, "link"))) }},
		{name: "relative mount destination", want: `on "data"`, edit: withTmpfs("data")},
		{name: "escaping mount destination", want: `"/../../etc"`, edit: withTmpfs("/../../etc")},
		{name: "core_pattern sysctl", want: "kernel.core_pattern", edit: func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"kernel.core_pattern": "|/tmp/x"}
		}},
		{name: "net sysctl in the host netns", want: "net.ipv4.ip_forward", edit: func(s *specs.Spec) {
			withoutNS(s, specs.NetworkNamespace)
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}},
		{name: "hugetlb page size", want: "../x", edit: func(s *specs.Spec) {
			s.Linux.Resources = &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "../x", Limit: 1}}}
		}},
		{name: "cgroupsPath with ..", want: "cgroupsPath", edit: func(s *specs.Spec) { s.Linux.CgroupsPath = "/oci-rt/../../escape" }},
		{name: "uid map without user ns", want: "uidMappings", edit: func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 1}}
		}},
		{name: "overlapping maps", want: "overlap", edit: func(s *specs.Spec) {
			userns(s)
			s.Linux.UIDMappings = append(s.Linux.UIDMappings, specs.LinuxIDMapping{ContainerID: 100, HostID: 300000, Size: 10})
		}},
		{name: "idmap on a tmpfs", want: "idmap", edit: func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs", Options: []string{"idmap"}})
		}},
		// No rdma controller here (neither v1 nor v2): a limit must not
		// be silently ignored.
		{name: "rdma limit without the controller", want: "rdma", edit: func(s *specs.Spec) {
			handles := uint32(1)
			s.Linux.Resources = &specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: &handles}}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRuntime(t)
			b := newBundle(t, tc.edit)
			if tc.bundle != nil {
				tc.bundle(t, b)
			}
			expectCreateFails(t, r, b, tc.want)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
