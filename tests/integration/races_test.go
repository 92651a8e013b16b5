package integration

// Mount destinations raced by another container
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

// TestMountDestinationRace (CVE-2021-30465 and CVE-2024-45310):
// a swapper container exchanges a directory and a symlink to "/" in a
// volume it shares with the victims, while victims are created with a tmpfs
// and a bind mount whose destinations go through that name. The
// destinations end in the path of a marker directory on the host, so an
// escape through the symlink would land in the marker. Every create either
// succeeds with both mounts inside the container or fails cleanly; the
// host gets no mount and no file. OCIRT_RACE_SWAPS sets the number of
// exchanges (default 1000, about 6 s of swapping).
func TestMountDestinationRace(t *testing.T) {
	vol := t.TempDir()
	marker := t.TempDir()
	bindSource := t.TempDir()
	rel := strings.TrimPrefix(marker, "/")
	hostRoot, err := os.ReadDir("/")
	must(t, err)
	mountsBefore := hostMountPoints(t)

	r := newRuntime(t)
	victim := newBundle(t, withArgs("true"), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, volMount(vol),
			specs.Mount{Destination: path.Join("/vol/dir", rel, "m"), Type: "tmpfs", Source: "tmpfs"},
			specs.Mount{Destination: path.Join("/vol/dir", rel, "b"), Type: "bind", Source: bindSource, Options: []string{"rbind", "ro"}})
	})
	landed := map[string]int{} // where the victims' mounts ended up, by prefix
	swapperRoot := raceSwapper(t, vol, "/", func() bool { return raceVictim(t, r, victim, rel, landed) })
	t.Logf("mounts landed under %v", landed)

	if entries, _ := os.ReadDir(marker); len(entries) != 0 {
		t.Errorf("the host marker %s, where an escape through the symlink lands, gained %v", marker, entries)
	}
	if entries, _ := os.ReadDir(bindSource); len(entries) != 0 {
		t.Errorf("the bind source %s gained %v", bindSource, entries)
	}
	for p := range hostMountPoints(t) {
		if !mountsBefore[p] && underAny(p, marker, vol, bindSource, swapperRoot, r.Root) {
			t.Errorf("host mount namespace gained a mount at %s", p)
		}
	}
	hostRootAfter, err := os.ReadDir("/")
	must(t, err)
	if fmt.Sprint(names(hostRootAfter)) != fmt.Sprint(names(hostRoot)) {
		t.Errorf("host / changed from %v to %v", names(hostRoot), names(hostRootAfter))
	}
}

// volMount shares the host directory vol at /vol.
func volMount(vol string) specs.Mount {
	return specs.Mount{Destination: "/vol", Type: "bind", Source: vol, Options: []string{"rbind", "rw"}}
}

// raceSwapper runs the swapper container on the volume vol: it exchanges
// /vol/dir and /vol/link, a symlink to target, OCIRT_RACE_SWAPS times
// (default 1000, about 6 s). Meanwhile createVictim runs again and again;
// it reports whether its create succeeded. raceSwapper returns the
// swapper's --root.
func raceSwapper(t *testing.T, vol, target string, createVictim func() bool) string {
	t.Helper()
	swaps := 1000
	if v := os.Getenv("OCIRT_RACE_SWAPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("OCIRT_RACE_SWAPS=%q: want a positive number", v)
		}
		swaps = n
	}
	rt := newRuntime(t)
	bundle := newBundle(t, withArgs("/swapper", "-dir", "/vol/dir", "-link", "/vol/link", "-target", target, "-n", strconv.Itoa(swaps),
		"-ready", "/vol/ready", "-done", "/vol/done"), func(s *specs.Spec) { s.Mounts = append(s.Mounts, volMount(vol)) })
	build := exec.Command("go", "build", "-o", filepath.Join(bundle, "rootfs", "swapper"), "./tests/integration/testdata/swapper")
	build.Dir, build.Env = repoRoot, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build swapper: %v\n%s", err, out)
	}
	swapper := rt.Create(bundle)
	rt.Must("start", swapper.ID)
	waitFor(t, 10*time.Second, "the swapper to prepare the volume", func() bool {
		_, err := os.Stat(filepath.Join(vol, "ready"))
		return err == nil
	})
	var created, failed int
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
		if createVictim() {
			created++
		} else {
			failed++
		}
	}
	swapper.Wait(t, 10*time.Second)
	t.Logf("%s exchanges raced %d creates: %d succeeded, %d failed cleanly", readFile(t, filepath.Join(vol, "done")), created+failed, created, failed)
	if created+failed < 10 {
		t.Errorf("only %d creates ran during the swaps: the race was not exercised", created+failed)
	}
	return rt.Root
}

// checkRacedFailure asserts that a create which lost a race failed the way
// clients need: one line on stderr, no state and no cgroup left. (Other
// processes of the test, the swapper, are alive, so checkNothingLeft's
// stray-process check does not apply.)
func checkRacedFailure(t *testing.T, r *Runtime, res Result, id string) {
	t.Helper()
	if msg := strings.TrimSuffix(res.Stderr, "\n"); msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("%s: want a one-line error", res)
	}
	if _, err := os.Stat(filepath.Join(r.Root, id)); !os.IsNotExist(err) {
		t.Errorf("failed create %s left state (stat: %v)", id, err)
	}
	if _, err := os.Stat(cgroupDir(id)); !os.IsNotExist(err) {
		t.Errorf("failed create %s left cgroup %s (stat: %v)", id, cgroupDir(id), err)
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
		checkRacedFailure(t, r, res, id)
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

// TestProcWritesUnderHostileMounts (CVE-2025-52881): configs
// whose mounts try to redirect the runtime's procfs writes (a sysctl and
// oom_score_adj) onto a host file, through /proc paths directly or through
// symlinks in the rootfs that lead into /proc. Each create either fails
// cleanly or the values land on the real procfs files (read inside the
// container for the sysctl, from the host's /proc for oom_score_adj); the
// host file, the host's sysctl and the test's own oom_score_adj stay.
func TestProcWritesUnderHostileMounts(t *testing.T) {
	hostMsgmax := readFile(t, "/proc/sys/kernel/msgmax")
	ownOOM := readFile(t, "/proc/self/oom_score_adj")
	r := newRuntime(t)
	const hostContent = "host file: the runtime must not write here\n"
	bindFile := func(dest, source string) func(*specs.Spec) {
		return func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: dest, Type: "bind", Source: source, Options: []string{"bind", "rw"}})
		}
	}
	for _, tc := range []struct {
		name string
		// symlink, when set, is planted in the rootfs as "name target".
		symlink [2]string
		mount   func(hostFile string) func(*specs.Spec)
	}{
		{name: "bind over the sysctl file", mount: func(f string) func(*specs.Spec) { return bindFile("/proc/sys/kernel/msgmax", f) }},
		{name: "tmpfs over /proc/sys", mount: func(string) func(*specs.Spec) { return withTmpfs("/proc/sys") }},
		{name: "bind over oom_score_adj", mount: func(f string) func(*specs.Spec) { return bindFile("/proc/self/oom_score_adj", f) }},
		// ns_last_pid is one of the lxcfs-style places a bind may cover.
		{name: "bind at an allowed /proc/sys path", mount: func(f string) func(*specs.Spec) { return bindFile("/proc/sys/kernel/ns_last_pid", f) }},
		{name: "symlink to the sysctl file", symlink: [2]string{"etc/msgmax", "/proc/sys/kernel/msgmax"},
			mount: func(f string) func(*specs.Spec) { return bindFile("/etc/msgmax", f) }},
		{name: "symlink to /proc/sys/kernel", symlink: [2]string{"etc/ksys", "../proc/sys/kernel"},
			mount: func(string) func(*specs.Spec) { return withTmpfs("/etc/ksys") }},
		{name: "symlink to oom_score_adj", symlink: [2]string{"etc/oom", "/proc/self/oom_score_adj"},
			mount: func(f string) func(*specs.Spec) { return bindFile("/etc/oom", f) }},
		{name: "symlink to /proc/self", symlink: [2]string{"etc/self", "/proc/self"},
			mount: func(string) func(*specs.Spec) { return withTmpfs("/etc/self") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hostFile := filepath.Join(t.TempDir(), "victim")
			must(t, os.WriteFile(hostFile, []byte(hostContent), 0o644))
			oom := 321
			b := newBundle(t, withArgs("true"), tc.mount(hostFile), func(s *specs.Spec) {
				s.Linux.Sysctl = map[string]string{"kernel.msgmax": "12345"}
				s.Process.OOMScoreAdj = &oom
			})
			if tc.symlink[0] != "" {
				must(t, os.Symlink(tc.symlink[1], filepath.Join(b, "rootfs", tc.symlink[0])))
			}
			id := newID(t)
			pidFile := filepath.Join(t.TempDir(), "pid")
			res := r.Run("create", "--bundle", b, "--pid-file", pidFile, id)
			if res.Code != 0 {
				t.Logf("refused: %s", strings.TrimSpace(res.Stderr))
				checkFailure(t, res, "proc")
				checkNothingLeft(t, r, id)
			} else {
				c := &Container{ID: id, Pid: readPidFile(t, pidFile)}
				c.exited = adopt(t, c.Pid)
				if got := strings.TrimSpace(readFile(t, fmt.Sprintf("/proc/%d/oom_score_adj", c.Pid))); got != "321" {
					t.Errorf("init's oom_score_adj is %q, want 321", got)
				}
				// The container's /proc is a real procfs (nothing else may be
				// mounted there): read the sysctl in its IPC namespace.
				out := r.Run("exec", id, "cat", "/proc/sys/kernel/msgmax")
				if out.Code != 0 || out.Stdout != "12345\n" {
					t.Errorf("kernel.msgmax inside: %s, want 12345", out)
				}
				r.Must("delete", "--force", id)
				c.Wait(t, 10*time.Second)
			}
			if got := readFile(t, hostFile); got != hostContent {
				t.Errorf("host file behind the mount now holds %q", got)
			}
			if got := readFile(t, "/proc/sys/kernel/msgmax"); got != hostMsgmax {
				t.Errorf("host kernel.msgmax changed to %q", got)
			}
			if got := readFile(t, "/proc/self/oom_score_adj"); got != ownOOM {
				t.Errorf("the test's own oom_score_adj changed to %q", got)
			}
		})
	}
}

// TestProcWritesRacedMounts (CVE-2025-52881 under a race):
// the swapper exchanges a directory and a symlink to /proc/sys/kernel while
// victims bind a host file at /vol/dir/msgmax and set kernel.msgmax. A
// bind that followed the symlink would cover the sysctl file the runtime
// then writes. Each create must either fail cleanly or have the value on
// the real procfs file; the host file and the host's sysctl never change.
func TestProcWritesRacedMounts(t *testing.T) {
	hostMsgmax := readFile(t, "/proc/sys/kernel/msgmax")
	const hostContent = "host file: the runtime must not write here\n"
	hostFile := filepath.Join(t.TempDir(), "victim")
	must(t, os.WriteFile(hostFile, []byte(hostContent), 0o644))
	vol := t.TempDir()
	r := newRuntime(t)
	victim := newBundle(t, withArgs("true"), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, volMount(vol),
			specs.Mount{Destination: "/vol/dir/msgmax", Type: "bind", Source: hostFile, Options: []string{"bind", "rw"}})
		s.Linux.Sysctl = map[string]string{"kernel.msgmax": "12345"}
	})
	refused := map[string]int{}
	raceSwapper(t, vol, "/proc/sys/kernel", func() bool {
		id := newID(t)
		pidFile := filepath.Join(t.TempDir(), "pid")
		res := r.Run("create", "--bundle", victim, "--pid-file", pidFile, id)
		if res.Code != 0 {
			checkRacedFailure(t, r, res, id)
			refused[errorMessage(res.Stderr)]++
			return false
		}
		c := &Container{ID: id, Pid: readPidFile(t, pidFile)}
		c.exited = adopt(t, c.Pid)
		for _, line := range strings.Split(readFile(t, fmt.Sprintf("/proc/%d/mountinfo", c.Pid)), "\n") {
			// readonlyPaths binds /proc/sys onto itself: only a mount of
			// another filesystem there would be the bind gone astray.
			_, fs, _ := strings.Cut(line, " - ")
			if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], "/proc/sys") && !strings.HasPrefix(fs, "proc ") {
				t.Errorf("container %s: a mount covers procfs: %s", id, line)
			}
		}
		// sysctl files show the reader's IPC namespace: read the host's own
		// procfs from inside the container's, so that no mount of the
		// container's takes part.
		out, err := exec.Command("nsenter", "--ipc=/proc/"+strconv.Itoa(c.Pid)+"/ns/ipc", "cat", "/proc/sys/kernel/msgmax").CombinedOutput()
		if err != nil || string(out) != "12345\n" {
			t.Errorf("container %s: kernel.msgmax in its IPC namespace reads %q (%v), want 12345", id, out, err)
		}
		r.Must("delete", "--force", id)
		c.Wait(t, 10*time.Second)
		return true
	})
	t.Logf("refusals: %v", refused)
	if got := readFile(t, hostFile); got != hostContent {
		t.Errorf("host file bound into the victims now holds %q", got)
	}
	if got := readFile(t, "/proc/sys/kernel/msgmax"); got != hostMsgmax {
		t.Errorf("host kernel.msgmax changed to %q", got)
	}
}
