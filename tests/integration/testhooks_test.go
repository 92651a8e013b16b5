package integration

import (
	"path/filepath"
	"testing"
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
