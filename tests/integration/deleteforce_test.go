package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestDeleteForceKillsEverything: delete --force must leave no process of
// the container and no cgroup, also where the processes are hard to reach:
// some frozen in a sub-cgroup the container made below its own (a thaw of
// the container's cgroup alone does not wake them, and a frozen process
// never dies of SIGKILL), or the container sharing the host's pid
// namespace, where no namespace teardown takes the init's descendants
// along. (A paused container is TestCgroupV1PauseResume and
// TestVMPausedDeleteForce.)
func TestDeleteForceKillsEverything(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits []func(*specs.Spec)
		setup func(t *testing.T, id string, pids []int) // nil: nothing more
	}{
		{name: "frozen sub-cgroup", setup: freezeInSubCgroup},
		{name: "host pid namespace", edits: []func(*specs.Spec){withoutPidNamespace}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRuntime(t)
			edits := append([]func(*specs.Spec){shell("sleep 1000 & sleep 1000 & wait")}, tc.edits...)
			c := r.Create(newBundle(t, edits...))
			r.Must("start", c.ID)
			var pids []int
			waitFor(t, 10*time.Second, "three processes in the container's cgroup", func() bool {
				pids = procsIn(t, freezerDir(c.ID))
				return len(pids) == 3
			})
			if tc.setup != nil {
				tc.setup(t, c.ID, pids)
			}
			r.Must("delete", "--force", c.ID)
			waitFor(t, 10*time.Second, "every process of the container to die", func() bool {
				for _, pid := range pids {
					if pidAlive(pid) {
						return false
					}
				}
				return true
			})
			if left := allCgroupDirs(c.ID); len(left) > 0 {
				t.Errorf("cgroups left after delete --force: %v", left)
			}
		})
	}
}

// freezeInSubCgroup moves the last of pids into a sub-cgroup of the
// container's freezer cgroup (the unified one on a v2 host) and freezes
// that sub-cgroup only.
func freezeInSubCgroup(t *testing.T, id string, pids []int) {
	sub := filepath.Join(freezerDir(id), "sub")
	must(t, os.Mkdir(sub, 0o755))
	must(t, os.WriteFile(filepath.Join(sub, "cgroup.procs"), []byte(strconv.Itoa(pids[len(pids)-1])), 0))
	if strings.Contains(sub, "/freezer/") {
		must(t, os.WriteFile(filepath.Join(sub, "freezer.state"), []byte("FROZEN"), 0))
		waitFor(t, 10*time.Second, "the sub-cgroup to freeze", func() bool {
			return readFile(t, filepath.Join(sub, "freezer.state")) == "FROZEN\n"
		})
		return
	}
	must(t, os.WriteFile(filepath.Join(sub, "cgroup.freeze"), []byte("1"), 0))
	waitFor(t, 10*time.Second, "the sub-cgroup to freeze", func() bool {
		return strings.Contains(readFile(t, filepath.Join(sub, "cgroup.events")), "frozen 1")
	})
}

// freezerDir is the container's cgroup that freezes it: in the v1
// freezer hierarchy where the host has one, else the unified one.
func freezerDir(id string) string {
	if dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/freezer", defaultCgroupGlob(id))); len(dirs) == 1 {
		return dirs[0]
	}
	return cgroupDir(id)
}

func withoutPidNamespace(s *specs.Spec) {
	var kept []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != specs.PIDNamespace {
			kept = append(kept, ns)
		}
	}
	s.Linux.Namespaces = kept
}
