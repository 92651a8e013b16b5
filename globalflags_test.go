package main

import (
	"flag"
	"os"
	"testing"

	"github.com/urfave/cli/v2"
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
	hostRoot := os.Geteuid() == 0 && !inUserNamespace()
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
