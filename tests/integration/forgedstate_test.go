package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The state store steers kill and delete: a state not written by the
// caller alone is refused.

// TestStateStoreOwnership: a --root, state directory or state file that
// is a symlink, owned by another user or writable by group or others is
// refused with a message that says so, and the container is left alone.
func TestStateStoreOwnership(t *testing.T) {
	r := newRuntime(t)
	c := r.Create(newBundle(t, withArgs("sleep", "1000")))
	r.Must("start", c.ID)
	dir := filepath.Join(r.Root, c.ID)
	stateFile := filepath.Join(dir, "state.json")
	nobody := 65534

	tamper := []struct {
		name        string
		apply, undo func() error
		args        []string
		want        string
	}{
		{"root writable by others", func() error { return os.Chmod(r.Root, 0o777) }, func() error { return os.Chmod(r.Root, 0o700) },
			[]string{"kill", c.ID, "KILL"}, "writable by group or others"},
		{"root owned by another user", func() error { return os.Chown(r.Root, nobody, nobody) }, func() error { return os.Chown(r.Root, 0, 0) },
			[]string{"list"}, "owned by uid 65534"},
		{"state dir writable by group", func() error { return os.Chmod(dir, 0o770) }, func() error { return os.Chmod(dir, 0o700) },
			[]string{"delete", "--force", c.ID}, "writable by group or others"},
		{"state file owned by another user", func() error { return os.Chown(stateFile, nobody, nobody) }, func() error { return os.Chown(stateFile, 0, 0) },
			[]string{"kill", "--all", c.ID, "KILL"}, "owned by uid 65534"},
		{"state file writable by others", func() error { return os.Chmod(stateFile, 0o606) }, func() error { return os.Chmod(stateFile, 0o600) },
			[]string{"delete", "--force", c.ID}, "writable by group or others"},
	}
	for _, tc := range tamper {
		if err := tc.apply(); err != nil {
			t.Fatal(err)
		}
		res := r.Run(tc.args...)
		if err := tc.undo(); err != nil {
			t.Fatal(err)
		}
		if res.Code == 0 || !strings.Contains(res.Stderr, tc.want) || !strings.Contains(res.Stderr, "refusing to trust it") {
			t.Errorf("%s: %s, want a failure saying %q", tc.name, res, tc.want)
		}
		if !pidAlive(c.Pid) {
			t.Fatalf("%s: %s killed the container", tc.name, res)
		}
	}

	link := filepath.Join(t.TempDir(), "root-link")
	if err := os.Symlink(r.Root, link); err != nil {
		t.Fatal(err)
	}
	res := r.RunCmd(exec.Command(rtBinary, "--root", link, "kill", c.ID, "KILL"))
	if res.Code == 0 || !strings.Contains(res.Stderr, "symlink") {
		t.Errorf("symlinked --root: %s, want a failure naming the symlink", res)
	}
	if !pidAlive(c.Pid) {
		t.Fatalf("kill through a symlinked --root killed the container")
	}
	if st := r.State(c.ID); st.Status != specs.StateRunning {
		t.Fatalf("after the refusals the container is %s, want running", st.Status)
	}
}
