package intelrdt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeResctrl makes a directory shaped like a resctrl mount offering the
// given info resources (L3, MB, L3_MON).
func fakeResctrl(t *testing.T, resources ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, r := range resources {
		if err := os.MkdirAll(filepath.Join(root, "info", r), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestFindRoot(t *testing.T) {
	dir := t.TempDir()
	mountinfo := filepath.Join(dir, "mountinfo")
	without := "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
	with := without + "40 22 0:35 / /sys/fs/res\\040ctrl rw,relatime - resctrl resctrl rw\n"
	if err := os.WriteFile(mountinfo, []byte(without), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FindRoot(mountinfo); !errors.Is(err, ErrNotEnabled) {
		t.Errorf("no resctrl mount: err %v, want ErrNotEnabled", err)
	}
	if err := os.WriteFile(mountinfo, []byte(with), 0o644); err != nil {
		t.Fatal(err)
	}
	if root, err := FindRoot(mountinfo); err != nil || root != "/sys/fs/res ctrl" {
		t.Errorf("FindRoot = %q, %v; want the unescaped mountpoint", root, err)
	}
}

func TestCheckRefusesMissingResources(t *testing.T) {
	root := fakeResctrl(t)
	cases := []struct {
		cfg  specs.LinuxIntelRdt
		want string
	}{
		{specs.LinuxIntelRdt{L3CacheSchema: "L3:0=f"}, "Intel RDT/CAT is not enabled"},
		{specs.LinuxIntelRdt{MemBwSchema: "MB:0=50"}, "Intel RDT/MBA is not enabled"},
		{specs.LinuxIntelRdt{EnableMonitoring: true}, "monitoring is not enabled"},
		{specs.LinuxIntelRdt{ClosID: "../x"}, "not a resctrl group name"},
		{specs.LinuxIntelRdt{Schemata: []string{"nonsense"}}, "is not RESOURCE:domain=value"},
	}
	for _, c := range cases {
		err := Check(&c.cfg, root)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check(%+v) = %v, want %q", c.cfg, err, c.want)
		}
	}
	full := fakeResctrl(t, "L3", "MB", "L3_MON")
	ok := specs.LinuxIntelRdt{ClosID: "gold", L3CacheSchema: "L3:0=f", MemBwSchema: "MB:0=50", EnableMonitoring: true, Schemata: []string{"L2:0=3"}}
	if err := Check(&ok, full); err != nil {
		t.Errorf("Check with every resource present: %v", err)
	}
}

// Apply writes each schemata line separately (the kernel parses one
// resource per write; the fake file keeps the last), puts the pid in the
// group, and Remove takes away only what Plan said is new.
func TestApplyOwnGroup(t *testing.T) {
	root := fakeResctrl(t, "L3", "MB")
	cfg := &specs.LinuxIntelRdt{L3CacheSchema: "L3:0=f", MemBwSchema: "MB:0=50"}
	g := Plan(root, "ctr", cfg)
	if want := []string{filepath.Join(root, "ctr")}; strings.Join(g.New, ",") != strings.Join(want, ",") {
		t.Fatalf("Plan.New = %v, want %v", g.New, want)
	}
	if err := g.Apply(root, cfg, 4242); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(root, "ctr", "schemata")); got != "MB:0=50\n" {
		t.Errorf("last schemata write %q, want the memBwSchema line", got)
	}
	if got := read(t, filepath.Join(root, "ctr", "tasks")); got != "4242" {
		t.Errorf("tasks %q, want 4242", got)
	}
	// A real resctrl directory's files vanish with it; the fake's do not.
	os.Remove(filepath.Join(root, "ctr", "schemata"))
	os.Remove(filepath.Join(root, "ctr", "tasks"))
	if err := Remove(root, g.New); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "ctr")); !os.IsNotExist(err) {
		t.Errorf("group directory still there after Remove: %v", err)
	}
}

func TestApplySharedClosIDWithMonitoring(t *testing.T) {
	root := fakeResctrl(t, "L3", "L3_MON")
	if err := os.MkdirAll(filepath.Join(root, "gold", "mon_groups"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := &specs.LinuxIntelRdt{ClosID: "gold", Schemata: []string{"L3:0=3\nL3:1=3"}, EnableMonitoring: true}
	g := Plan(root, "ctr", cfg)
	monGroup := filepath.Join(root, "gold", "mon_groups", "ctr")
	if len(g.New) != 1 || g.New[0] != monGroup {
		t.Fatalf("Plan.New = %v, want only the monitoring group (the closID group is shared)", g.New)
	}
	if err := g.Apply(root, cfg, 7); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(root, "gold", "schemata")); got != "L3:1=3\n" {
		t.Errorf("last schemata write %q, want the second line on its own", got)
	}
	if got := read(t, filepath.Join(monGroup, "tasks")); got != "7" {
		t.Errorf("monitoring group tasks %q, want 7", got)
	}
	// An exec'd process joins the same group, found again by Plan, which
	// now sees nothing new to make.
	again := Plan(root, "ctr", cfg)
	if len(again.New) != 0 {
		t.Errorf("second Plan.New = %v, want nothing", again.New)
	}
	if err := again.AddTask(8); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(monGroup, "tasks")); got != "8" {
		t.Errorf("monitoring group tasks %q after AddTask, want 8", got)
	}
}

func TestRemoveStaysBelowRoot(t *testing.T) {
	root := fakeResctrl(t)
	outside := t.TempDir()
	for _, dir := range []string{outside, root, filepath.Join(root, "info"), filepath.Join(root, "..", "x")} {
		if err := Remove(root, []string{dir}); err == nil {
			t.Errorf("Remove(%s) succeeded, want a refusal", dir)
		}
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("directory outside resctrl removed: %v", err)
	}
}
