package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/oci-rt/oci-rt/cgroups"
)

func rootlessContext(t *testing.T, rootless string, systemd bool) *cli.Context {
	t.Helper()
	set := flag.NewFlagSet("test", flag.ContinueOnError)
	set.String("rootless", "auto", "")
	set.Bool("systemd-cgroup", false, "")
	if err := set.Set("rootless", rootless); err != nil {
		t.Fatal(err)
	}
	if systemd {
		if err := set.Set("systemd-cgroup", "true"); err != nil {
			t.Fatal(err)
		}
	}
	return cli.NewContext(newApp(), set, nil)
}

// --rootless takes what runc takes: any strconv boolean, or auto (empty
// too), which means rootless unless we are root in the host's user
// namespace, and never with --systemd-cgroup.
func TestRootlessCgroups(t *testing.T) {
	hostRoot := os.Geteuid() == 0 && !cgroups.InUserNamespace()
	for _, c := range []struct {
		value   string
		systemd bool
		want    bool
	}{
		{"true", false, true}, {"1", false, true}, {"T", false, true},
		{"false", false, false}, {"0", false, false}, {"FALSE", false, false},
		{"auto", false, !hostRoot}, {"", false, !hostRoot},
		{"auto", true, false},
	} {
		got, err := rootlessCgroups(rootlessContext(t, c.value, c.systemd))
		if err != nil || got != c.want {
			t.Errorf("--rootless %q (systemd-cgroup %v) = %v, %v; want %v", c.value, c.systemd, got, err, c.want)
		}
	}
	if _, err := rootlessCgroups(rootlessContext(t, "maybe", false)); err == nil {
		t.Error(`--rootless "maybe" accepted`)
	}
}

// auto is runc's detection: rootless for any non-root euid, and for root
// of a user namespace unless the systemd cgroup manager is asked for and
// the systemd is the system's.
func TestAutoRootless(t *testing.T) {
	for _, c := range []struct {
		euid                           int
		inUserNS, systemd, userManager bool
		want                           bool
	}{
		{1000, false, false, true, true}, {1000, true, false, true, true}, {1000, false, true, true, true},
		{0, false, false, false, false}, {0, false, true, false, false},
		{0, true, false, false, true}, {0, true, true, false, false}, {0, true, true, true, true},
	} {
		if got := autoRootless(c.euid, c.inUserNS, c.systemd, c.userManager); got != c.want {
			t.Errorf("autoRootless(euid %d, userns %v, systemd %v, user manager %v) = %v, want %v",
				c.euid, c.inUserNS, c.systemd, c.userManager, got, c.want)
		}
	}
}

// XDG_RUNTIME_DIR holds the state of any non-root caller, and of root in a
// user namespace whose USER is not root (rootless Podman); the host's
// root, and root of a namespace that says it is root, keep /run.
func TestHonorXDGRuntimeDir(t *testing.T) {
	env := func(user string, set bool) func(string) (string, bool) {
		return func(name string) (string, bool) {
			if name == "USER" && set {
				return user, true
			}
			return "", false
		}
	}
	for _, c := range []struct {
		euid     int
		inUserNS bool
		user     string
		userSet  bool
		want     bool
	}{
		{1000, false, "alice", true, true}, {1000, false, "", false, true},
		{0, false, "alice", true, false}, {0, false, "root", true, false},
		{0, true, "alice", true, true}, {0, true, "", false, true},
		{0, true, "root", true, false},
	} {
		if got := honorXDGRuntimeDir(c.euid, c.inUserNS, env(c.user, c.userSet)); got != c.want {
			t.Errorf("honorXDGRuntimeDir(euid %d, userns %v, USER %q set %v) = %v, want %v",
				c.euid, c.inUserNS, c.user, c.userSet, got, c.want)
		}
	}
}

// The default --root follows XDG_RUNTIME_DIR only when it is set and not
// empty; the host's root gets /run/oci-rt whatever it says.
func TestDefaultRoot(t *testing.T) {
	hostRoot := os.Geteuid() == 0 && !cgroups.InUserNamespace()
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/4242")
	root, xdg := defaultRoot()
	if hostRoot && (root != "/run/oci-rt" || xdg) {
		t.Errorf("host root with XDG_RUNTIME_DIR: defaultRoot() = %q, %v; want /run/oci-rt", root, xdg)
	}
	if !hostRoot && os.Getenv("USER") != "root" && (root != "/run/user/4242/oci-rt" || !xdg) {
		t.Errorf("unprivileged: defaultRoot() = %q, %v; want /run/user/4242/oci-rt", root, xdg)
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	if root, xdg := defaultRoot(); root != "/run/oci-rt" || xdg {
		t.Errorf("empty XDG_RUNTIME_DIR: defaultRoot() = %q, %v; want /run/oci-rt", root, xdg)
	}
}

// The XDG state directory is made 0700 with the sticky bit, so that the
// runtime directory's clean-up leaves it alone, also when it exists.
func TestPrepareXDGRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "oci-rt")
	for range 2 {
		if err := prepareXDGRoot(root); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(root)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (os.ModePerm | os.ModeSticky); got != 0o700|os.ModeSticky {
			t.Errorf("mode %v, want 0700 with the sticky bit", got)
		}
	}
}
