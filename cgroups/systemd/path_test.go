package systemd

import (
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	cases := []struct {
		path     string
		rootless bool
		want     Unit
		cgroup   string
	}{
		{"system.slice:docker:abc", false, Unit{"system.slice", "docker-abc.scope"}, "/system.slice/docker-abc.scope"},
		{"machine.slice:libpod:f00d", false, Unit{"machine.slice", "libpod-f00d.scope"}, "/machine.slice/libpod-f00d.scope"},
		{":crio:abc", false, Unit{"system.slice", "crio-abc.scope"}, "/system.slice/crio-abc.scope"},
		{":crio:abc", true, Unit{"-.slice", "crio-abc.scope"}, "/crio-abc.scope"},
		{"-.slice:p:n", false, Unit{"-.slice", "p-n.scope"}, "/p-n.scope"},
		{"kubepods-besteffort-pod1.slice:cri-containerd:c1", false,
			Unit{"kubepods-besteffort-pod1.slice", "cri-containerd-c1.scope"},
			"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-c1.scope"},
		// runc's form of an empty prefix.
		{"system.slice::n", false, Unit{"system.slice", "-n.scope"}, "/system.slice/-n.scope"},
		// A name ending in .slice makes the container's unit that slice,
		// placed by its own name.
		{"a.slice::a-b.slice", false, Unit{"a.slice", "a-b.slice"}, "/a.slice/a-b.slice"},
		{"", false, Unit{"system.slice", "oci-rt-id1.scope"}, "/system.slice/oci-rt-id1.scope"},
	}
	for _, c := range cases {
		got, err := ParsePath(c.path, "id1", c.rootless)
		if err != nil {
			t.Errorf("ParsePath(%q, rootless %v): %v", c.path, c.rootless, err)
			continue
		}
		if got != c.want || got.CgroupPath() != c.cgroup {
			t.Errorf("ParsePath(%q, rootless %v) = %+v at %s; want %+v at %s", c.path, c.rootless, got, got.CgroupPath(), c.want, c.cgroup)
		}
	}
}

func TestParsePathMalformed(t *testing.T) {
	cases := map[string]string{
		"/abs/path":                       `expected the form "slice:prefix:name"`,
		"relative":                        `expected the form "slice:prefix:name"`,
		"a.slice:b":                       `expected the form "slice:prefix:name"`,
		"a.slice:b:c:d":                   `expected the form "slice:prefix:name"`,
		"system.slice:p:":                 "the name (after the second ':') is empty",
		"system:p:n":                      `slice "system" does not end in .slice`,
		"a.scope:p:n":                     `slice "a.scope" does not end in .slice`,
		"a--b.slice:p:n":                  "empty part between dashes",
		"-a.slice:p:n":                    "empty part between dashes",
		"a-.slice:p:n":                    "empty part between dashes",
		".slice:p:n":                      "empty part between dashes",
		"a/b.slice:p:n":                   `'/' is not allowed`,
		"system.slice:p:n/x":              `'/' is not allowed`,
		"system.slice:p:n x":              `' ' is not allowed`,
		"system.slice:p:\x00":             `'\x00' is not allowed`,
		"system.slice::a--b.slice":        "empty part between dashes",
		"system.slice:p:" + long(300):     "longer than systemd allows",
		"system.slice:p:\u00e9t\u00e9":    `'é' is not allowed`,
		"system.slice:.hidden:x.slice.no": "", // a scope name: accepted below
	}
	for path, want := range cases {
		_, err := ParsePath(path, "id", false)
		if want == "" {
			if err != nil {
				t.Errorf("ParsePath(%q): %v", path, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePath(%q) = %v; want an error with %q", path, err, want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("ParsePath(%q): error is not one line: %q", path, err)
		}
	}
}

func long(n int) string { return strings.Repeat("x", n) }

func TestExpandSlice(t *testing.T) {
	cases := map[string]string{
		"-.slice":          "/",
		"system.slice":     "/system.slice",
		"a-b.slice":        "/a.slice/a-b.slice",
		"a-b-c.slice":      "/a.slice/a-b.slice/a-b-c.slice",
		"user-1000.slice":  "/user.slice/user-1000.slice",
		"x_y\\x2dz.slice":  "/x_y\\x2dz.slice",
		"machine.slice":    "/machine.slice",
		"kubepods.slice":   "/kubepods.slice",
		"foo:bar-ba.slice": "/foo:bar.slice/foo:bar-ba.slice",
	}
	for in, want := range cases {
		got, err := ExpandSlice(in)
		if err != nil || got != want {
			t.Errorf("ExpandSlice(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a", "a.service", "--.slice", "-a-.slice", "a/b.slice", "a b.slice"} {
		if got, err := ExpandSlice(bad); err == nil {
			t.Errorf("ExpandSlice(%q) = %q; want an error", bad, got)
		}
	}
}

// A slice unit's cgroup follows from its name: a config that puts it in
// another slice is accepted (runc does) with a warning saying where it
// goes.
func TestSliceParentMismatch(t *testing.T) {
	for path, mismatch := range map[string]bool{
		"a.slice::a-b.slice":        false,
		"-.slice::top.slice":        false,
		"system.slice::foo.slice":   true,
		"a.slice::a-b-c.slice":      true,
		"system.slice:p:n":          false,
		"kubepods.slice::pod.slice": true,
	} {
		u, err := ParsePath(path, "id", false)
		if err != nil {
			t.Fatalf("ParsePath(%q): %v", path, err)
		}
		if got := u.ParentMismatch(); (got != "") != mismatch {
			t.Errorf("%q: ParentMismatch() = %q; want a warning: %v", path, got, mismatch)
		}
	}
}
