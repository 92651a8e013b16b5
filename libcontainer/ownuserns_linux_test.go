package libcontainer

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// rootlessSpec is the config `spec --rootless` writes for a caller with
// host ids 1001 and 1002, as far as the choice of the route reads it.
func rootlessSpec() *specs.Spec {
	return &specs.Spec{Linux: &specs.Linux{
		Namespaces: []specs.LinuxNamespace{
			{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
			{Type: specs.MountNamespace}, {Type: specs.UserNamespace},
		},
		UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1001, Size: 1}},
		GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1002, Size: 1}},
	}}
}

// The runtime makes the container's user namespace itself only for a map
// of the caller's own ids alone, to root, and nothing that would see the
// runtime's namespaces change: a namespace joined by path, a prestart or
// createRuntime hook, the systemd cgroup manager.
func TestOwnUserNamespaceMaps(t *testing.T) {
	for _, c := range []struct {
		name    string
		edit    func(*specs.Spec)
		systemd bool
		why     string
	}{
		{name: "spec --rootless"},
		{name: "other hooks run elsewhere", edit: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/true"}}, StartContainer: []specs.Hook{{Path: "/bin/true"}},
				Poststart: []specs.Hook{{Path: "/bin/true"}}, Poststop: []specs.Hook{{Path: "/bin/true"}}}
		}},
		{name: "no user namespace", edit: func(s *specs.Spec) {
			s.Linux.Namespaces = s.Linux.Namespaces[:4]
		}, why: "the container has no user namespace"},
		{name: "user namespace joined", edit: func(s *specs.Spec) {
			s.Linux.Namespaces[4].Path = "/proc/1/ns/user"
		}, why: "the container joins a user namespace by path"},
		{name: "network namespace joined", edit: func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/run/netns/x"})
		}, why: "the container joins a network namespace by path"},
		{name: "prestart hook", edit: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/true"}}}
		}, why: "prestart or createRuntime hooks run in the runtime's namespaces"},
		{name: "createRuntime hook", edit: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true"}}}
		}, why: "prestart or createRuntime hooks run in the runtime's namespaces"},
		{name: "systemd cgroup manager", systemd: true, why: "the systemd cgroup manager is asked for"},
		{name: "subordinate ids", edit: func(s *specs.Spec) {
			s.Linux.UIDMappings = append(s.Linux.UIDMappings, specs.LinuxIDMapping{ContainerID: 1, HostID: 100000, Size: 65536})
		}, why: "its id maps are not the caller's own uid and gid alone, as root"},
		{name: "another uid", edit: func(s *specs.Spec) {
			s.Linux.UIDMappings[0].HostID = 1002
		}, why: "its id maps are not the caller's own uid and gid alone, as root"},
		{name: "another gid", edit: func(s *specs.Spec) {
			s.Linux.GIDMappings[0].HostID = 1001
		}, why: "its id maps are not the caller's own uid and gid alone, as root"},
		{name: "the caller not as root", edit: func(s *specs.Spec) {
			s.Linux.UIDMappings[0].ContainerID = 1000
		}, why: "its id maps are not the caller's own uid and gid alone, as root"},
		{name: "a range from the caller's id", edit: func(s *specs.Spec) {
			s.Linux.GIDMappings[0].Size = 2
		}, why: "its id maps are not the caller's own uid and gid alone, as root"},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := rootlessSpec()
			if c.edit != nil {
				c.edit(spec)
			}
			uidMap, gidMap, why := ownUserNamespaceMaps(spec, 1001, 1002, c.systemd)
			if why != c.why {
				t.Fatalf("why %q, want %q", why, c.why)
			}
			if c.why == "" && (uidMap != "0 1001 1" || gidMap != "0 1002 1") {
				t.Errorf("maps %q and %q, want the caller's ids as root", uidMap, gidMap)
			}
			if c.why != "" && uidMap+gidMap != "" {
				t.Errorf("maps %q and %q with a reason against them", uidMap, gidMap)
			}
		})
	}
}

// What the constructor made is read from the maps the process has: the
// ones asked for (the kernel pads them), none (the kernel refused the
// unshare: the caller's own maps), or empty ones (a namespace the kernel
// would not map), which is an error.
func TestJudgeOwnUserNamespace(t *testing.T) {
	host := "         0          0 4294967295\n"
	made, err := judgeOwnUserNamespace("0 1001 1", "0 1002 1", "         0       1001          1\n", "         0       1002          1\n")
	if err != nil || made == nil || made.hostUID != 1001 || made.hostGID != 1002 {
		t.Errorf("asked-for maps: %+v, %v; want the caller's ids 1001 and 1002", made, err)
	}
	if made, err := judgeOwnUserNamespace("0 1001 1", "0 1002 1", host, host); made != nil || err != nil {
		t.Errorf("the host's maps: %+v, %v; want no namespace and no error", made, err)
	}
	for _, got := range [][2]string{{"", ""}, {"         0       1001          1\n", ""}} {
		made, err := judgeOwnUserNamespace("0 1001 1", "0 1002 1", got[0], got[1])
		if made != nil || err == nil || !strings.Contains(err.Error(), "the kernel refused its maps") {
			t.Errorf("maps %q: %+v, %v; want the refusal reported", got, made, err)
		}
	}
}

// The spec the runtime creates from in its own user namespace has none:
// the container shares the runtime's; the config it was given, recorded,
// keeps its namespace and maps.
func TestSpecInOwnUserNamespace(t *testing.T) {
	defer func(saved ownNamespaceOutcome) { ownNS = saved }(ownNS)
	given := rootlessSpec()
	ownNS = ownNamespaceOutcome{}
	if spec, err := specInOwnUserNamespace(given, "c", false); spec != given || err != nil {
		t.Errorf("outside a namespace of its own: %p, %v; want the spec as given", spec, err)
	}
	ownNS.requested, ownNS.active = true, &ownUserNamespace{hostUID: 1001, hostGID: 1002}
	spec, err := specInOwnUserNamespace(given, "c", false)
	if err != nil {
		t.Fatal(err)
	}
	if inUserNamespace(spec) || spec.Linux.UIDMappings != nil || spec.Linux.GIDMappings != nil || len(spec.Linux.Namespaces) != 4 {
		t.Errorf("the spec to create from has a user namespace: %+v", spec.Linux)
	}
	if !inUserNamespace(given) || len(given.Linux.UIDMappings) != 1 || len(given.Linux.Namespaces) != 5 {
		t.Errorf("the given spec lost its user namespace: %+v", given.Linux)
	}
	// A config that no longer asks for the namespace the runtime made.
	given.Linux.UIDMappings[0].HostID = 1003
	if _, err := specInOwnUserNamespace(given, "c", false); err == nil || !strings.Contains(err.Error(), "the config changed") {
		t.Errorf("changed config: %v", err)
	}
}
