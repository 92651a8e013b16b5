package cgroups

import (
	"io"
	"maps"
	"strings"
	"testing"
)

func TestParseV1Mounts(t *testing.T) {
	mountinfo := `22 1 0:20 / /sys rw - sysfs sysfs rw
30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
33 30 0:30 /ctr /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
34 30 0:31 / /sys/fs/cgroup/my\040pids rw - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
41 30 0:38 / /mnt/other-v2 rw - cgroup2 cgroup2 rw
`
	got, err := parseV1Mounts(strings.NewReader(mountinfo))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Hierarchy{
		"cpu":          {Mountpoint: "/sys/fs/cgroup/cpu,cpuacct", Root: "/"},
		"cpuacct":      {Mountpoint: "/sys/fs/cgroup/cpu,cpuacct", Root: "/"},
		"memory":       {Mountpoint: "/sys/fs/cgroup/memory", Root: "/ctr"},
		"pids":         {Mountpoint: "/sys/fs/cgroup/my pids", Root: "/"},
		"name=systemd": {Mountpoint: "/sys/fs/cgroup/systemd", Root: "/"},
		"":             {Mountpoint: "/sys/fs/cgroup/unified", Root: "/"},
	}
	if !maps.Equal(got, want) {
		t.Errorf("parseV1Mounts\n got %v\nwant %v", got, want)
	}
	if _, err := parseV1Mounts(strings.NewReader("22 1 0:20 / /sys rw - sysfs sysfs rw\n")); err == nil {
		t.Error("no cgroup mounts: no error")
	}
}

// cgroupLines passes on exactly the cgroup and cgroup2 mounts, whatever
// the other mounts' paths and types look like.
func TestCgroupLines(t *testing.T) {
	mountinfo := `22 1 0:20 / /sys rw - sysfs sysfs rw
30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup rw,cpu,cpuacct
50 22 0:41 / /mnt/a\040-\040cgroup\040x rw - tmpfs cgroup rw
51 22 0:42 / /mnt/cgroup-2 rw - cgroupfs cgroup rw
40 30 0:37 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
`
	got, err := io.ReadAll(cgroupLines([]byte(mountinfo)))
	if err != nil {
		t.Fatal(err)
	}
	want := `31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup rw,cpu,cpuacct
40 30 0:37 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
`
	if string(got) != want {
		t.Errorf("cgroupLines kept\n%s\nwant\n%s", got, want)
	}
}

func TestParseProcCgroup(t *testing.T) {
	got, err := parseProcCgroup([]byte("9:name=systemd:/a\n4:memory:/m/x\n1:cpu,cpuacct:/\n0::/u\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"name=systemd": "/a", "memory": "/m/x", "cpu": "/", "cpuacct": "/", "": "/u"}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// A v1 cgroupsPath resolves per hierarchy as runc's fs driver resolves it.
func TestResolveV1(t *testing.T) {
	hier := map[string]Hierarchy{"memory": {}, "cpu": {}, "": {}}
	own := map[string]string{"memory": "/busy/shell", "cpu": "/", "": "/u"}
	for _, tc := range []struct {
		path string
		want map[string]string
		rep  string
		err  string
	}{
		{path: "/docker/abc", want: map[string]string{"memory": "/docker/abc", "cpu": "/docker/abc", "": "/docker/abc"}, rep: "/docker/abc"},
		{path: "rel/x", want: map[string]string{"memory": "/busy/shell/rel/x", "cpu": "/rel/x", "": "/u/rel/x"}, rep: "/u/rel/x"},
		{path: "", want: map[string]string{"memory": "/oci-rt/id1", "cpu": "/oci-rt/id1", "": "/oci-rt/id1"}, rep: "/oci-rt/id1"},
		{path: "/a/../b", err: `".."`},
		{path: "/", err: "root cgroup"},
	} {
		loc, err := resolveV1(tc.path, "id1", "/oci-rt/id1", hier, own)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("resolveV1(%q) = %v, %v; want error %q", tc.path, loc, err, tc.err)
			}
			continue
		}
		if err != nil || !maps.Equal(loc.Paths, tc.want) || loc.Path != tc.rep {
			t.Errorf("resolveV1(%q) = %+v, %v; want %v (%s)", tc.path, loc, err, tc.want, tc.rep)
		}
	}
}

func TestDefaultPathPerRoot(t *testing.T) {
	if got := DefaultPath("/run/oci-rt/", "x"); got != "/oci-rt/x" {
		t.Errorf("default root: %q", got)
	}
	a, b := DefaultPath("/tmp/a", "x"), DefaultPath("/tmp/b", "x")
	if a == b || !strings.HasPrefix(a, "/oci-rt-") || !strings.HasSuffix(a, "-x") || len(a) != len("/oci-rt-")+8+len("-x") {
		t.Errorf("roots /tmp/a and /tmp/b: %q and %q", a, b)
	}
	if strings.Count(a, "/") != 1 {
		t.Errorf("a private root's cgroup has a parent to make and remove: %q", a)
	}
	if DefaultPath("/tmp/a/../a", "x") != a {
		t.Error("the hash depends on the spelling of the root")
	}
	if DefaultPath("/tmp/a", "y") == a {
		t.Error("two IDs share a cgroup")
	}
	long := strings.Repeat("i", 255)
	p, q := DefaultPath("/tmp/a", long), DefaultPath("/tmp/a", long[1:])
	if len(p) > 256 || strings.Count(p, "/") != 1 || p == q {
		t.Errorf("IDs too long for the name: %q and %q", p, q)
	}
	if got := DefaultPath("/run/oci-rt", long); got != "/oci-rt/"+long {
		t.Errorf("the default root's parent holds any ID: %q", got)
	}
}
