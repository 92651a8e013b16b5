package proc

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestEnv(t *testing.T) {
	id := &Identity{Home: "/home/bob"}
	for _, tc := range []struct {
		name string
		env  []string
		want []string
	}{
		{"HOME added, no PATH", []string{"TERM=xterm"},
			[]string{"TERM=xterm", "HOME=/home/bob"}},
		{"spec values kept", []string{"PATH=/bin", "HOME=/x"},
			[]string{"PATH=/bin", "HOME=/x"}},
		{"empty HOME replaced in place", []string{"HOME=", "PATH="},
			[]string{"HOME=/home/bob", "PATH="}},
		{"empty last HOME replaced", []string{"HOME=/x", "A=1", "HOME="},
			[]string{"HOME=/home/bob", "A=1"}},
		{"last duplicate wins in first position", []string{"A=1", "B=2", "A=3"},
			[]string{"A=3", "B=2", "HOME=/home/bob"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Env(&specs.Process{Env: tc.env}, id); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func writeExecutable(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
}

func TestLookPath(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	writeExecutable(t, filepath.Join(first, "tool"), 0o644) // not executable: skipped
	writeExecutable(t, filepath.Join(second, "tool"), 0o755)
	writeExecutable(t, filepath.Join(first, "only-first"), 0o700)
	if err := os.Mkdir(filepath.Join(first, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + first + ":" + second}

	for name, want := range map[string]string{
		"tool":                        filepath.Join(second, "tool"),
		"only-first":                  filepath.Join(first, "only-first"),
		filepath.Join(second, "tool"): filepath.Join(second, "tool"),
	} {
		got, err := LookPath(name, env)
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"missing", "dir", ""} {
		_, err := LookPath(name, env)
		if want := `exec: "` + name + `": executable file not found in $PATH`; err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %q", name, err, want)
		}
	}
	for name, want := range map[string]string{
		filepath.Join(first, "tool"):    "no execute bit",
		filepath.Join(first, "dir"):     "not a regular file",
		filepath.Join(first, "nothere"): "no such file or directory",
	} {
		if _, err := LookPath(name, env); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", name, err, want)
		}
	}
}

func TestLookPathDefaultAndRelative(t *testing.T) {
	// No PATH in env: the default one is searched, like execve in the container will.
	if got, err := LookPath("sh", nil); err != nil || !strings.HasSuffix(got, "/sh") {
		t.Fatalf("default PATH: got %q, %v", got, err)
	}
	dir := t.TempDir()
	writeExecutable(t, filepath.Join(dir, "rel"), 0o755)
	t.Chdir(dir)
	if got, err := LookPath("./rel", nil); err != nil || got != "./rel" {
		t.Fatalf("relative: got %q, %v", got, err)
	}
	if got, err := LookPath("rel", []string{"PATH=:/nonexistent"}); err != nil || got != "./rel" {
		t.Fatalf("empty PATH entry: got %q, %v", got, err)
	}
}

func TestLookPathRefusesMagicLinks(t *testing.T) {
	dir := t.TempDir()
	writeExecutable(t, filepath.Join(dir, "payload"), 0o755)
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	viaFd := filepath.Join("/proc/self/fd", strconv.Itoa(int(f.Fd())), "payload")
	if _, err := os.Stat(viaFd); err != nil {
		t.Fatalf("precondition: %s should reach the payload: %v", viaFd, err)
	}
	for _, path := range []string{viaFd, "/proc/self/exe"} {
		if _, err := LookPath(path, nil); err == nil || !strings.Contains(err.Error(), "magic link") {
			t.Errorf("%s: got %v", path, err)
		}
	}
}

func openFdCount(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestNoFdLeaks(t *testing.T) {
	root := accountRoot(t, testPasswd, testGroup)
	dir := t.TempDir()
	writeExecutable(t, filepath.Join(dir, "tool"), 0o755)
	t.Chdir(dir)
	exercise := func() {
		if _, err := resolveUserIn(root, specs.User{Username: "bob"}); err != nil {
			t.Fatal(err)
		}
		_, _ = resolveUserIn(root, specs.User{Username: "nobody-here"})
		if _, err := LookPath("tool", []string{"PATH=/nonexistent:" + dir}); err != nil {
			t.Fatal(err)
		}
		_, _ = LookPath("/proc/self/exe", nil)
		if err := Chdir(dir); err != nil {
			t.Fatal(err)
		}
		_ = Chdir("/proc/self/cwd")
		if _, err := readProcThreadSelf("setgroups"); err != nil {
			t.Fatal(err)
		}
		AppArmorEnabled()
	}
	// The first round may open cached handles (the procfs root) for good.
	exercise()
	before := openFdCount(t)
	for range 50 {
		exercise()
	}
	if after := openFdCount(t); after != before {
		t.Fatalf("%d fds open before, %d after 50 rounds", before, after)
	}
}
