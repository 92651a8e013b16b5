package rootfs

import (
	"os"
	"runtime"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func bindSourceFor(t *testing.T, namespaces []specs.LinuxNamespace, options ...string) (string, bool) {
	t.Helper()
	opts, err := parseMountOptions(append([]string{"nosuid", "ro"}, options...))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Spec: &specs.Spec{Linux: &specs.Linux{Namespaces: namespaces}}, CgroupPath: "/c/id"}
	return cgroup2BindSource(cfg, opts)
}

// TestCgroup2BindSource: which directory of the unified hierarchy stands
// in for a new cgroup2 mount, and when none can.
func TestCgroup2BindSource(t *testing.T) {
	cgroupNS := specs.LinuxNamespace{Type: specs.CgroupNamespace}
	userNS := specs.LinuxNamespace{Type: specs.UserNamespace}
	cases := []struct {
		name       string
		namespaces []specs.LinuxNamespace
		options    []string
		wantDir    string
		wantBind   bool
	}{
		{"no cgroup namespace", nil, nil, "/", true},
		{"new cgroup namespace", []specs.LinuxNamespace{cgroupNS}, nil, "/c/id", true},
		{"user namespace without a cgroup namespace", []specs.LinuxNamespace{userNS}, nil, "", false},
		{"new user and cgroup namespaces", []specs.LinuxNamespace{userNS, cgroupNS}, nil, "/c/id", true},
		{"mount data options", nil, []string{"nsdelegate"}, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, bind := bindSourceFor(t, c.namespaces, c.options...)
			if bind != c.wantBind || (bind && dir != c.wantDir) {
				t.Errorf("got %q, bind %v; want %q, bind %v", dir, bind, c.wantDir, c.wantBind)
			}
		})
	}
}

// TestCgroup2BindSourceJoined: a joined cgroup namespace is told apart by
// the namespace the caller (the init, which has joined it) is in, not by
// the path: the initial one is bound at the hierarchy's root, any other
// gets a new mount.
func TestCgroup2BindSourceJoined(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a cgroup namespace of its own needs root")
	}
	joined := []specs.LinuxNamespace{{Type: specs.CgroupNamespace, Path: "/proc/123/ns/cgroup"}}
	if !inInitialCgroupNamespace() {
		t.Skip("the test does not run in the initial cgroup namespace")
	}
	if dir, bind := bindSourceFor(t, joined); !bind || dir != "/" {
		t.Errorf("in the initial cgroup namespace: got %q, bind %v; want the root bound", dir, bind)
	}
	type result struct {
		dir  string
		bind bool
		err  error
	}
	done := make(chan result)
	go func() {
		// The thread goes with its namespace when the goroutine ends
		// locked to it.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			done <- result{err: err}
			return
		}
		dir, bind := bindSourceFor(t, joined)
		done <- result{dir: dir, bind: bind}
	}()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.bind {
		t.Errorf("in a cgroup namespace of its own: got a bind of %q; want a new mount", r.dir)
	}
}
