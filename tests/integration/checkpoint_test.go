package integration

// checkpoint and restore refusals that need no working CRIU (this host's
// kernel breaks CRIU's dump; checkpoint_vm_test.go has the real runs):
// each is one line naming the problem and leaves nothing behind.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// oneLineError checks that res failed with a single error line holding
// want.
func oneLineError(t *testing.T, res Result, want string) {
	t.Helper()
	if res.Code == 0 || !strings.Contains(res.Stderr, want) || strings.Count(strings.TrimSpace(res.Stderr), "\n") != 0 {
		t.Errorf("want one error line with %q: %s", want, res)
	}
}

// assertNoContainer: id has no state directory and no cgroup.
func assertNoContainer(t *testing.T, r *Runtime, id string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(r.Root, id)); !os.IsNotExist(err) {
		t.Errorf("state directory of %s exists: %v", id, err)
	}
	for _, dir := range allCgroupDirs(id) {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("cgroup %s exists: %v", dir, err)
		}
	}
}

// fakeImages writes the record checkpoint leaves beside CRIU's images for
// a container of bundle (edit changes it first), and no images.
func fakeImages(t *testing.T, bundle string, edit func(*specs.Spec)) string {
	t.Helper()
	var spec specs.Spec
	noErr(t, json.Unmarshal([]byte(readFile(t, filepath.Join(bundle, "config.json"))), &spec))
	if edit != nil {
		edit(&spec)
	}
	record := map[string]any{"stdio": []string{"", "", ""}, "terminal": spec.Process.Terminal}
	var namespaces, mounts []string
	for _, ns := range spec.Linux.Namespaces {
		namespaces = append(namespaces, string(ns.Type))
	}
	slices.Sort(namespaces)
	for _, m := range spec.Mounts {
		mounts = append(mounts, m.Destination)
	}
	record["namespaces"], record["mounts"] = namespaces, mounts
	data, err := json.Marshal(record)
	noErr(t, err)
	dir := t.TempDir()
	noErr(t, os.WriteFile(filepath.Join(dir, "oci-rt-checkpoint.json"), data, 0o600))
	return dir
}

// TestCheckpointWithoutCriu: with no criu in PATH, checkpoint and restore
// say so in one line; the container runs on, restore makes nothing.
func TestCheckpointWithoutCriu(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	images := t.TempDir()
	cmd := r.Command("checkpoint", "--image-path", images, c.ID)
	cmd.Env = append(os.Environ(), "PATH="+t.TempDir())
	oneLineError(t, r.RunCmd(cmd), "criu not found")
	if st := r.State(c.ID); st.Status != "running" {
		t.Errorf("container is %s after the refused checkpoint", st.Status)
	}
	id := newID(t)
	cmd = r.Command("restore", "-d", "--image-path", images, "--bundle", c.Bundle, id)
	cmd.Env = append(os.Environ(), "PATH="+t.TempDir())
	oneLineError(t, r.RunCmd(cmd), "criu not found")
	assertNoContainer(t, r, id)
}

// TestCheckpointCriuTooOld: a criu older than 3.15 (--criu, as runc has
// it) is refused by name and version before anything happens.
func TestCheckpointCriuTooOld(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	old := filepath.Join(t.TempDir(), "criu")
	noErr(t, os.WriteFile(old, []byte("#!/bin/sh\necho 'Version: 3.10'\n"), 0o755))
	images := t.TempDir()
	oneLineError(t, r.Run("--criu", old, "checkpoint", "--image-path", images, c.ID), "is CRIU 3.10.0: checkpoint and restore need 3.15 or newer")
	if st := r.State(c.ID); st.Status != "running" {
		t.Errorf("container is %s after the refused checkpoint", st.Status)
	}
	if entries, _ := os.ReadDir(images); len(entries) != 0 {
		t.Errorf("refused checkpoint wrote %d files into the image path", len(entries))
	}
	res := r.Run("features")
	if res.Code != 0 || !strings.Contains(res.Stdout, `"org.opencontainers.runc.checkpoint.enabled"`) {
		t.Errorf("features has no checkpoint annotation: %s", res)
	}
	res = r.Run("--criu", old, "features")
	if !strings.Contains(res.Stdout, `"org.opencontainers.runc.checkpoint.enabled": "false"`) {
		t.Errorf("features with a too old criu: %s", res)
	}
}

// TestCheckpointRefusesStoppedContainer: only a running or paused
// container can be checkpointed, in runc's words.
func TestCheckpointRefusesStoppedContainer(t *testing.T) {
	r := newRuntime(t)
	c := r.Create(newBundle(t, withArgs("true")))
	oneLineError(t, r.Run("checkpoint", "--image-path", t.TempDir(), c.ID), "container "+c.ID+" is not running")
}

// TestRestoreImageMismatch: images of a container with another mount set
// are refused before anything is made.
func TestRestoreImageMismatch(t *testing.T) {
	r := newRuntime(t)
	bundle := newBundle(t)
	images := fakeImages(t, bundle, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/srv"})
	})
	id := newID(t)
	oneLineError(t, r.Run("restore", "-d", "--image-path", images, "--bundle", bundle, id), "checkpoint image does not match the bundle: mount /data of the images is not in the bundle")
	assertNoContainer(t, r, id)
	oneLineError(t, r.Run("restore", "-d", "--image-path", t.TempDir(), "--bundle", bundle, id), "holds no checkpoint of oci-rt")
	assertNoContainer(t, r, id)
}

// TestRestoreIntoExistingID: restoring under the ID of a container that
// exists is refused and leaves that container as it was.
func TestRestoreIntoExistingID(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	images := fakeImages(t, c.Bundle, nil)
	oneLineError(t, r.Run("restore", "-d", "--image-path", images, "--bundle", c.Bundle, c.ID), "container with id "+c.ID+" already exists")
	if st := r.State(c.ID); st.Status != "running" || st.Pid != c.Pid {
		t.Errorf("existing container after the refused restore: %s pid %d", st.Status, st.Pid)
	}
}

// TestRestoreCriuFailureLeavesNothing: when CRIU fails (here: a record
// but no images), restore says so in one line naming CRIU's log, and the
// state and cgroup it had made are gone.
func TestRestoreCriuFailureLeavesNothing(t *testing.T) {
	if _, err := os.Stat("/usr/sbin/criu"); err != nil {
		t.Skip("criu is not installed")
	}
	r := newRuntime(t)
	bundle := newBundle(t)
	images := fakeImages(t, bundle, nil)
	id := newID(t)
	oneLineError(t, r.Run("restore", "-d", "--image-path", images, "--bundle", bundle, id), "criu restore failed:")
	assertNoContainer(t, r, id)
	if _, err := os.Stat(filepath.Join(images, "restore.log")); err != nil {
		t.Errorf("criu's log is not where the error says: %v", err)
	}
}
