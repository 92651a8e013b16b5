package nsenter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A stage set up by its parent runs the hooks it is asked to run as
// itself, in its user namespace (its root, host uid 100000, is uid 0
// there), in the directory asked for, each with the state on stdin,
// /dev/null as stdout and no fd of the stage's; the first that fails
// comes back as a hookerror with its index, how it failed and its
// stderr, and the stage waits for the next request.
func TestRunHooks(t *testing.T) {
	s := startMappedSetUpByParent(t)
	dir, err := os.MkdirTemp("", "hooks")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Open to the namespace's root, which is no owner here.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	probe := SpawnHook{Path: "/bin/sh", Argv: []string{"sh", "-c", `stdout=$(readlink /proc/$$/fd/1); exec >> ` + out + `; cat; echo; pwd; id -u; echo fds $(ls /proc/self/fd); echo $HOOKVAR; [ -e /proc/$$/fd/3 ] || echo no fd 3; echo $stdout`},
		Env: []string{"HOOKVAR=passed", "PATH=/bin:/usr/bin"}}
	failing := SpawnHook{Path: "/bin/sh", Argv: []string{"sh", "-c", "echo nope >&2; exit 4"}}

	failed, err := s.conn.RunHooks(&HooksRequest{Dir: dir, State: []byte(`{"status":"creating"}`), Hooks: []SpawnHook{probe, failing, probe}})
	if err != nil || failed == nil {
		t.Fatalf("hooks whose second fails: %+v, %v", failed, err)
	}
	if failed.Kind != KindHookError || failed.Index != 1 || failed.How != HookExited || failed.Value != 4<<8 || string(failed.Stderr) != "nope\n" {
		t.Errorf("the second hook's failure came back as %+v", failed)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// Only the first ran; the fd 3 it lists is its ls's.
	want := `{"status":"creating"}` + "\n" + dir + "\n0\nfds 0 1 2 3\npassed\nno fd 3\n/dev/null\n"
	if string(got) != want {
		t.Errorf("the hook saw\n%s\nwant\n%s", got, want)
	}

	timeout := SpawnHook{Path: "/bin/sleep", Argv: []string{"sleep", "30"}, Timeout: 1}
	failed, err = s.conn.RunHooks(&HooksRequest{Hooks: []SpawnHook{timeout}})
	if err != nil || failed == nil || failed.Index != 0 || failed.How != HookTimeout || failed.Value != 1 {
		t.Errorf("a hook out of time: %+v, %v", failed, err)
	}
	failed, err = s.conn.RunHooks(&HooksRequest{Hooks: []SpawnHook{{Path: "/no/such/hook", Argv: []string{"hook"}}}})
	if err != nil || failed == nil || failed.How != HookExec || failed.Value != 2 {
		t.Errorf("a hook that does not exist: %+v, %v", failed, err)
	}
	// Still waiting: hooks that all succeed are acknowledged.
	if failed, err := s.conn.RunHooks(&HooksRequest{Hooks: []SpawnHook{{Path: "/bin/true", Argv: []string{"true"}}}}); failed != nil || err != nil {
		t.Errorf("a hook that succeeds: %+v, %v", failed, err)
	}
	if got, _ := os.ReadFile(out); strings.Count(string(got), "passed") != 1 {
		t.Errorf("the hooks after the failed one ran:\n%s", got)
	}
}

func TestHooksRequestEncoding(t *testing.T) {
	got := (&HooksRequest{Dir: "/rootfs", State: []byte("{}"), Hooks: []SpawnHook{{Path: "/h", Argv: []string{"h"}, Env: []string{"A=1"}, Timeout: 3}}}).encode()
	want := "OCHK\x02\x00\x00\x00/rootfs\x00\x02\x00\x00\x00{}" +
		"\x01\x00\x00\x00\x03\x00\x00\x00/h\x00\x01\x00\x00\x00h\x00\x01\x00\x00\x00A=1\x00"
	if string(got) != want {
		t.Errorf("encoded %q, want %q", got, want)
	}
}
