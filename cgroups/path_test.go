package cgroups

import (
	"os"
	"strings"
	"testing"
)

func TestResolvePath(t *testing.T) {
	const own = "/user.slice/session-1.scope"
	for _, tc := range []struct {
		path, id, want, err string
	}{
		{path: "", id: "abc", want: "/oci-rt/abc"},
		{path: "/a/b", id: "abc", want: "/a/b"},
		{path: "/a//b/./c/", id: "x", want: "/a/b/c"},
		{path: "ctr", id: "x", want: own + "/ctr"},
		{path: "nested/deeper", id: "x", want: own + "/nested/deeper"},
		{path: "/a/../../etc", id: "x", err: `".."`},
		{path: "..", id: "x", err: `".."`},
		{path: "a/..", id: "x", err: `".."`},
		{path: "/a\x00b", id: "x", err: "control character"},
		{path: "/a\nb", id: "x", err: "control character"},
		{path: "/", id: "x", err: "root cgroup"},
		{path: "/.", id: "x", err: "root cgroup"},
		{path: "", id: "", err: "invalid name"},
		{path: "", id: "..", err: "invalid name"},
		{path: "", id: "a/b", err: "'/'"},
		{path: "", id: "a\x00", err: "'/'"},
		{path: "", id: "a\tb", err: "control character"},
	} {
		got, err := resolvePath(tc.path, tc.id, own, "/oci-rt/"+tc.id)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("resolvePath(%q, %q) = %q, %v; want error containing %q", tc.path, tc.id, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("resolvePath(%q, %q) = %q, %v; want %q", tc.path, tc.id, got, err, tc.want)
		}
	}
}

func TestParseOwnCgroup(t *testing.T) {
	for in, want := range map[string]string{
		"0::/\n": "/",
		"9:name=systemd:/x\n4:memory:/m\n0::/user.slice/a.scope\n": "/user.slice/a.scope",
		"0::/a/b\n1:cpu:/c\n": "/a/b",
	} {
		got, err := parseOwnCgroup([]byte(in))
		if err != nil || got != want {
			t.Errorf("parseOwnCgroup(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := parseOwnCgroup([]byte("4:memory:/m\n")); err == nil {
		t.Error("a v1-only /proc/self/cgroup must be an error")
	}
}

// ResolvePath with a relative path must use this process's real cgroup.
func TestResolvePathRelativeToSelf(t *testing.T) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Skip(err)
	}
	own, err := parseOwnCgroup(data)
	if err != nil {
		t.Skip(err)
	}
	got, err := ResolvePath("rel/ctr", "id", "/oci-rt/id")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSuffix(own, "/") + "/rel/ctr"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMountpoint(t *testing.T) {
	mp, err := Mountpoint()
	if err != nil {
		t.Skip(err)
	}
	// Whatever was found must hold the unified hierarchy's core files.
	if _, err := os.Stat(mp + "/cgroup.controllers"); err != nil {
		t.Errorf("Mountpoint %s: %v", mp, err)
	}
}
