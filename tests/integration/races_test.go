package integration

// SECURITY.md 8 and 12: mount destinations raced by another container
// through a shared volume, and procfs writes during setup under hostile
// mounts.

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hostMountPoints returns the mount points of the test's own mount
// namespace.
func hostMountPoints(t *testing.T) map[string]bool {
	t.Helper()
	points := map[string]bool{}
	for _, line := range strings.Split(readFile(t, "/proc/self/mountinfo"), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			points[f[4]] = true
		}
	}
	return points
}

// underAny reports whether p is one of dirs or lies below one of them.
func underAny(p string, dirs ...string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// TestMountDestinationRace (SECURITY 8, CVE-2021-30465 and CVE-2024-45310):
// a swapper container exchanges a directory and a symlink to "/" in a
// volume it shares with the victims, while victims are created with a tmpfs
// and a bind mount whose destinations go through that name. The
// destinations end in the path of a marker directory on the host, so an
// escape through the symlink would land in the marker. Every create either
// succeeds with both mounts inside the container or fails cleanly; the
// host gets no mount and no file. OCIRT_RACE_SWAPS sets the number of
// exchanges (default 1000, about 6 s of swapping).
func TestMountDestinationRace(t *testing.T) {
	swaps := 1000
	if v := os.Getenv("OCIRT_RACE_SWAPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("OCIRT_RACE_SWAPS=%q: want a positive number", v)
		}
		swaps = n
	}
	vol := t.TempDir()
	marker := t.TempDir()
	bindSource := t.TempDir()
	rel := strings.TrimPrefix(marker, "/")
	hostRoot, err := os.ReadDir("/")
	must(t, err)
	mountsBefore := hostMountPoints(t)
	volMount := specs.Mount{Destination: "/vol", Type: "bind", Source: vol, Options: []string{"rbind", "rw"}}

	swapperRT := newRuntime(t)
	swapperBundle := newBundle(t, withArgs("/swapper", "-dir", "/vol/dir", "-link", "/vol/link", "-n", strconv.Itoa(swaps),
		"-ready", "/vol/ready", "-done", "/vol/done"), func(s *specs.Spec) { s.Mounts = append(s.Mounts, volMount) })
	build := exec.Command("go", "build", "-o", filepath.Join(swapperBundle, "rootfs", "swapper"), "./tests/integration/testdata/swapper")
	build.Dir, build.Env = repoRoot, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build swapper: %v\n%s", err, out)
	}

	r := newRuntime(t)
	tmpfsDest := path.Join("/vol/dir", rel, "m")
	bindDest := path.Join("/vol/dir", rel, "b")
	victim := newBundle(t, withArgs("true"), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, volMount,
			specs.Mount{Destination: tmpfsDest, Type: "tmpfs", Source: "tmpfs"},
			specs.Mount{Destination: bindDest, Type: "bind", Source: bindSource, Options: []string{"rbind", "ro"}})
	})

	swapper := swapperRT.Create(swapperBundle)
	swapperRT.Must("start", swapper.ID)
	waitFor(t, 10*time.Second, "the swapper to prepare the volume", func() bool {
		_, err := os.Stat(filepath.Join(vol, "ready"))
		return err == nil
	})

	var created, failed int
	landed := map[string]int{} // where the victims' mounts ended up, by prefix
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(vol, "done")); err == nil {
			break
		}
		if !pidAlive(swapper.Pid) {
			t.Fatalf("swapper exited early: %q", swapper.ReadOutput(t))
		}
		if time.Now().After(deadline) {
			t.Fatal("swapper did not finish in 2 minutes")
		}
		if raceVictim(t, r, victim, rel, landed) {
			created++
		} else {
			failed++
		}
	}
	swapper.Wait(t, 10*time.Second)
	t.Logf("%s exchanges raced %d creates: %d succeeded, %d failed cleanly; mounts landed under %v", readFile(t, filepath.Join(vol, "done")), created+failed, created, failed, landed)
	if created+failed < 10 {
		t.Errorf("only %d creates ran during the swaps: the race was not exercised", created+failed)
	}

	if entries, _ := os.ReadDir(marker); len(entries) != 0 {
		t.Errorf("the host marker %s, where an escape through the symlink lands, gained %v", marker, entries)
	}
	if entries, _ := os.ReadDir(bindSource); len(entries) != 0 {
		t.Errorf("the bind source %s gained %v", bindSource, entries)
	}
	for p := range hostMountPoints(t) {
		if !mountsBefore[p] && underAny(p, marker, vol, bindSource, swapperRT.Root, r.Root) {
			t.Errorf("host mount namespace gained a mount at %s", p)
		}
	}
	hostRootAfter, err := os.ReadDir("/")
	must(t, err)
	if fmt.Sprint(names(hostRootAfter)) != fmt.Sprint(names(hostRoot)) {
		t.Errorf("host / changed from %v to %v", names(hostRoot), names(hostRootAfter))
	}
}

func names(entries []os.DirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// raceVictim creates one victim and reports whether the create succeeded.
// A success must show the tmpfs and the bind inside the container: at the
// destination through the real directory (its name may have been swapped
// since) or, through the symlink resolved in the container's root, at
// /<rel>; landed counts the places. A failure must be one line on stderr
// with nothing left behind.
func raceVictim(t *testing.T, r *Runtime, bundle, rel string, landed map[string]int) bool {
	t.Helper()
	id := newID(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	res := r.Run("create", "--bundle", bundle, "--pid-file", pidFile, id)
	if res.Code != 0 {
		if msg := strings.TrimSuffix(res.Stderr, "\n"); msg == "" || strings.Contains(msg, "\n") {
			t.Errorf("%s: want a one-line error", res)
		}
		if _, err := os.Stat(filepath.Join(r.Root, id)); !os.IsNotExist(err) {
			t.Errorf("failed create %s left state (stat: %v)", id, err)
		}
		if _, err := os.Stat(cgroupDir(id)); !os.IsNotExist(err) {
			t.Errorf("failed create %s left cgroup %s (stat: %v)", id, cgroupDir(id), err)
		}
		return false
	}
	c := &Container{ID: id, Pid: readPidFile(t, pidFile)}
	c.exited = adopt(t, c.Pid)
	mountinfo := readFile(t, fmt.Sprintf("/proc/%d/mountinfo", c.Pid))
	r.Must("delete", "--force", id)
	c.Wait(t, 10*time.Second)
	for _, want := range []struct{ leaf, fsType string }{{"m", "tmpfs"}, {"b", ""}} {
		suffix := "/" + path.Join(rel, want.leaf)
		found := false
		for _, line := range strings.Split(mountinfo, "\n") {
			f := strings.Fields(line)
			if len(f) < 5 || !strings.HasSuffix(f[4], suffix) {
				continue
			}
			prefix := strings.TrimSuffix(f[4], suffix)
			if prefix != "" && prefix != "/vol/dir" && prefix != "/vol/link" {
				t.Errorf("container %s: mount at %s, want it under /vol/dir, /vol/link (the swapped name) or /", id, f[4])
			}
			landed["/"+strings.TrimPrefix(prefix, "/")]++
			if _, after, ok := strings.Cut(line, " - "); ok && want.fsType != "" && !strings.HasPrefix(after, want.fsType+" ") {
				t.Errorf("container %s: %s is %q, want %s", id, f[4], after, want.fsType)
			}
			found = true
		}
		if !found {
			t.Errorf("container %s created without its mount at %s:\n%s", id, suffix, mountinfo)
		}
	}
	return true
}
