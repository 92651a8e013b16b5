package integration

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReleaseBuildHasNoTestHooks: `make build` leaves out the hook that
// lets the environment stop create part-way, while the build with
// EXTRATAGS=ocirt_testhooks (the one these tests use) has it, which shows
// the scan would see the hook if it were there.
func TestReleaseBuildHasNoTestHooks(t *testing.T) {
	dir := t.TempDir()
	release := filepath.Join(dir, "release")
	if err := makeBuild(release); err != nil {
		t.Fatal(err)
	}
	withHooks := filepath.Join(dir, "testhooks")
	if err := makeBuild(withHooks, "EXTRATAGS=ocirt_testhooks"); err != nil {
		t.Fatal(err)
	}
	if hasPauseHook(t, release) {
		t.Errorf("the release build holds %s", pauseHookEnv)
	}
	if !hasPauseHook(t, withHooks) {
		t.Errorf("the ocirt_testhooks build lacks %s", pauseHookEnv)
	}
}

// TestPausePointHoldsThroughSIGCONT: a create stopped at a point stays
// there whatever job-control signal reaches it, until it is killed, so
// that what a test looks at is the state of that point and not of a
// create that went on.
func TestPausePointHoldsThroughSIGCONT(t *testing.T) {
	r := newRuntime(t)
	id := newID(t)
	cmd := r.createStoppedAt(newBundle(t, withArgs("true")), id, "ready")
	noErr(t, cmd.Process.Signal(syscall.SIGCONT))
	time.Sleep(300 * time.Millisecond)
	st, err := procStatusField(cmd.Process.Pid, "State")
	if err != nil || strings.HasPrefix(st, "Z") {
		t.Errorf("create went on after SIGCONT (state %q, %v)", st, err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	r.Must("delete", "--force", id)
}
