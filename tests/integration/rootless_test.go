package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/tests/testuser"
)

// rootlessUser is an unprivileged account made for one test, whose
// directory holds its copy of the runtime and its bundle.
type rootlessUser struct {
	*testuser.User
}

func (u *rootlessUser) bundle() string   { return filepath.Join(u.Dir, "bundle") }
func (u *rootlessUser) binary() string   { return filepath.Join(u.Dir, "oci-rt") }
func (u *rootlessUser) stateDir() string { return filepath.Join(u.RuntimeDir, "oci-rt") }

// newRootlessUser adds the account name for the test, with a copy of the
// runtime and of the template bundle without its config.
func newRootlessUser(t *testing.T, name string) *rootlessUser {
	t.Helper()
	u := &rootlessUser{testuser.New(t, name, "")}
	u.Copy(t, rtBinary, u.binary())
	u.Copy(t, templateBundle, u.bundle())
	must(t, os.Remove(filepath.Join(u.bundle(), "config.json")))
	return u
}

// command is binary args... run as the user, in its bundle.
func (u *rootlessUser) command(binary string, args ...string) *exec.Cmd {
	cmd := u.Command(binary, args...)
	cmd.Dir = u.bundle()
	return cmd
}

// runtime is the user's oci-rt at the state directory it uses by default,
// for the harness's Run and friends.
func (u *rootlessUser) runtime(t *testing.T) *Runtime {
	return &Runtime{t: t, Root: u.stateDir(), Bin: u.binary()}
}

// run is `oci-rt --root <its default> args...` as the user.
func (u *rootlessUser) run(t *testing.T, args ...string) Result {
	t.Helper()
	return u.runtime(t).RunCmd(u.command(u.binary(), append([]string{"--root", u.stateDir()}, args...)...))
}

// writeRootlessSpec has the user write the bundle's config with `spec
// --rootless`, then applies edits.
func (u *rootlessUser) writeRootlessSpec(t *testing.T, edits ...func(*specs.Spec)) {
	t.Helper()
	if out, err := u.command(u.binary(), "spec", "--rootless").CombinedOutput(); err != nil {
		t.Fatalf("spec --rootless as %s: %v\n%s", u.Name, err, out)
	}
	editBundle(t, u.bundle(), append([]func(*specs.Spec){func(s *specs.Spec) { s.Process.Terminal = false }}, edits...)...)
}

// An ordinary user with no cgroup delegated runs the lifecycle in a user
// namespace that maps only itself, as with runc --rootless: state under
// $XDG_RUNTIME_DIR/oci-rt (sticky, so that the runtime directory's
// clean-up keeps it), no cgroup made anywhere, exec and kill reach the
// container through its init, and ps and pause, which need a cgroup, fail
// saying so.
func TestRootlessUnprivilegedLifecycle(t *testing.T) {
	u := newRootlessUser(t, "ocirt-rl1")
	u.writeRootlessSpec(t, withArgs("sh", "-c", "cat /proc/self/uid_map; id -u"))

	// The default --root of a non-root caller.
	if out, err := u.command(u.binary(), "list", "-q").CombinedOutput(); err != nil || len(out) != 0 {
		t.Fatalf("list as %s: %v %q", u.Name, err, out)
	}
	fi, err := os.Stat(u.stateDir())
	if err != nil {
		t.Fatalf("default state directory: %v", err)
	}
	if fi.Mode()&(os.ModePerm|os.ModeSticky) != 0o700|os.ModeSticky || fi.Sys().(*syscall.Stat_t).Uid != u.UID {
		t.Errorf("%s: mode %v uid %d, want 0700 with the sticky bit, owned by %d", u.stateDir(), fi.Mode(), fi.Sys().(*syscall.Stat_t).Uid, u.UID)
	}

	runID := newID(t)
	res := u.run(t, "run", "--bundle", u.bundle(), runID)
	if fields := strings.Fields(res.Stdout); res.Code != 0 || len(fields) != 4 ||
		fields[0] != "0" || fields[1] != strconv.Itoa(int(u.UID)) || fields[2] != "1" || fields[3] != "0" {
		t.Fatalf("%s: want root in a user namespace mapping 0 to uid %d alone", res, u.UID)
	}

	editBundle(t, u.bundle(), withArgs("sleep", "1000"))
	id := newID(t)
	if res := u.run(t, "create", "--bundle", u.bundle(), id); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	t.Cleanup(func() { u.run(t, "delete", "--force", id) })
	for _, d := range allCgroupDirs(id) {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s exists for a container of an unprivileged user", d)
		}
	}
	if res := u.run(t, "start", id); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	if res := u.run(t, "state", id); res.Code != 0 || !strings.Contains(res.Stdout, `"status": "running"`) {
		t.Errorf("%s: want running", res)
	}
	if res := u.run(t, "exec", id, "cat", "/proc/self/uid_map"); res.Code != 0 || len(strings.Fields(res.Stdout)) != 3 {
		t.Errorf("%s: want the container's one-line uid map", res)
	}
	if res := u.run(t, "list", "-q"); res.Code != 0 || strings.TrimSpace(res.Stdout) != id {
		t.Errorf("%s: want %s listed", res, id)
	}
	checkFailure(t, u.run(t, "ps", id), "has no cgroup")
	checkFailure(t, u.run(t, "pause", id), "has no cgroup")
	if res := u.run(t, "kill", id, "KILL"); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	waitFor(t, 10*time.Second, "the container to stop", func() bool {
		return strings.Contains(u.run(t, "state", id).Stdout, `"status": "stopped"`)
	})
	if res := u.run(t, "delete", id); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	if entries, err := os.ReadDir(u.stateDir()); err != nil || len(entries) != 0 {
		t.Errorf("state directory after delete: %v %v", entries, err)
	}
}

// A limit needs a cgroup: without one that the user may create, create
// fails naming the controller, as runc's does, and leaves nothing behind.
func TestRootlessLimitWithoutCgroupFails(t *testing.T) {
	u := newRootlessUser(t, "ocirt-rl1")
	limit := int64(64 << 20)
	u.writeRootlessSpec(t, func(s *specs.Spec) {
		s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
	})
	const want = "cannot set memory limit: container could not join or create cgroup"
	checkFailure(t, u.run(t, "create", "--bundle", u.bundle(), newID(t)), want)
	if entries, err := os.ReadDir(u.stateDir()); err != nil || len(entries) != 0 {
		t.Errorf("state directory after the failed create: %v %v", entries, err)
	}
	runcRoot := filepath.Join(u.RuntimeDir, "runc")
	out, err := u.command("/usr/sbin/runc", "--root", runcRoot, "--rootless=true", "create", newID(t)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), want) {
		t.Errorf("runc --rootless=true create: %v %q; the comparison no longer holds", err, out)
	}
}

// One user can neither read nor command another's containers: the state
// directory is the owner's alone, and pointed at it, the other user's
// runtime refuses it even where the modes let it look.
func TestRootlessUsersIsolated(t *testing.T) {
	owner := newRootlessUser(t, "ocirt-rl1")
	other := newRootlessUser(t, "ocirt-rl2")
	owner.writeRootlessSpec(t, withArgs("sleep", "1000"))
	id := newID(t)
	if res := owner.run(t, "run", "--detach", "--bundle", owner.bundle(), id); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	t.Cleanup(func() { owner.run(t, "delete", "--force", id) })

	intruder := func(args ...string) Result {
		return other.runtime(t).RunCmd(other.command(other.binary(), append([]string{"--root", owner.stateDir()}, args...)...))
	}
	for _, args := range [][]string{{"state", id}, {"kill", id, "KILL"}, {"delete", "--force", id}} {
		checkFailure(t, intruder(args...), "permission denied")
	}
	// With every directory on the way open to others, the ownership
	// check still refuses the store.
	must(t, os.Chmod(owner.RuntimeDir, 0o755))
	must(t, os.Chmod(owner.stateDir(), 0o755))
	for _, args := range [][]string{{"list"}, {"state", id}, {"kill", id, "KILL"}, {"delete", "--force", id}} {
		checkFailure(t, intruder(args...), "not by the caller")
	}
	if res := owner.run(t, "state", id); res.Code != 0 || !strings.Contains(res.Stdout, `"status": "running"`) {
		t.Errorf("%s: the owner's container must still run", res)
	}
	// The same name is the other user's own in its own store.
	other.writeRootlessSpec(t, withArgs("true"))
	if res := other.run(t, "run", "--bundle", other.bundle(), id); res.Code != 0 {
		t.Errorf("%s: a container of the same name in another user's store", res)
	}
}

// Maps beyond the user's own id go through newuidmap and newgidmap, which
// grant the user's subordinate ranges: the process runs as a mapped
// non-root id, and setgroups stays allowed, as with runc. The init sets
// such a container up in Go, and a raised oom_score_adj reaches it.
func TestRootlessSubordinateRanges(t *testing.T) {
	if _, err := exec.LookPath("newuidmap"); err != nil {
		t.Fatal("newuidmap missing: install the uidmap package (tests/install-deps.sh)")
	}
	u := newRootlessUser(t, "ocirt-rl1")
	subUID := u.SubordinateStart(t, "/etc/subuid")
	subGID := u.SubordinateStart(t, "/etc/subgid")
	u.writeRootlessSpec(t, withArgs("sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id -u; id -g; cat /proc/self/oom_score_adj"),
		func(s *specs.Spec) {
			s.Linux.UIDMappings = append(s.Linux.UIDMappings, specs.LinuxIDMapping{ContainerID: 1, HostID: subUID, Size: 65536})
			s.Linux.GIDMappings = append(s.Linux.GIDMappings, specs.LinuxIDMapping{ContainerID: 1, HostID: subGID, Size: 65536})
			s.Process.User = specs.User{UID: 1000, GID: 1000}
			// Raised, which needs no privilege.
			oom := 123
			s.Process.OOMScoreAdj = &oom
		})
	res := u.run(t, "run", "--bundle", u.bundle(), newID(t))
	want := strings.Join([]string{
		"0", strconv.Itoa(int(u.UID)), "1", "1", strconv.Itoa(int(subUID)), "65536",
		"0", strconv.Itoa(int(u.GID)), "1", "1", strconv.Itoa(int(subGID)), "65536",
		"allow", "1000", "1000", "123",
	}, " ")
	if res.Code != 0 || strings.Join(strings.Fields(res.Stdout), " ") != want {
		t.Fatalf("%s: want %q", res, want)
	}
	// A range the user was not given is refused, by newuidmap.
	editBundle(t, u.bundle(), func(s *specs.Spec) {
		s.Linux.UIDMappings[1] = specs.LinuxIDMapping{ContainerID: 1, HostID: 10, Size: 100}
		s.Process.User = specs.User{UID: 1, GID: 1}
	})
	checkFailure(t, u.run(t, "run", "--bundle", u.bundle(), newID(t)), "newuidmap")
}

// Without privileges a user's own file binds into the container, and a
// device of the config is bound from the host, mknod being refused in a
// user namespace (the node works as far as the host's modes let the
// user: /dev/kmsg is not readable, but it is the host's node).
func TestRootlessBindsAndDevices(t *testing.T) {
	u := newRootlessUser(t, "ocirt-rl1")
	own := filepath.Join(u.Dir, "note")
	must(t, os.WriteFile(own, []byte("mine\n"), 0o600))
	must(t, os.Chown(own, int(u.UID), int(u.GID)))
	major, minor, mode := int64(1), int64(11), os.FileMode(0o644)
	u.writeRootlessSpec(t, withArgs("sh", "-c", "cat /note; stat -c '%t:%T' /dev/kmsg"), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/note", Type: "bind", Source: own, Options: []string{"bind", "ro"}})
		s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: "/dev/kmsg", Type: "c", Major: major, Minor: minor, FileMode: &mode})
	})
	res := u.run(t, "run", "--bundle", u.bundle(), newID(t))
	if got := strings.Fields(res.Stdout); res.Code != 0 || len(got) != 2 || got[0] != "mine" || got[1] != "1:b" {
		t.Fatalf("%s: want the user's file and the host's /dev/kmsg (1:b in hex)", res)
	}
	// A fresh sysfs needs a network namespace the user owns; without one
	// the kernel refuses it, and the runtime binds the host's /sys
	// instead, as spec --rootless writes it (runc 1.1.5 fails here).
	// Every submount keeps the mount's restrictions: a write to the
	// host's cgroup tree below it meets a read-only mount.
	editBundle(t, u.bundle(), withArgs("sh", "-c", "ls /sys/kernel >/dev/null && echo listed; grep -c ' /sys' /proc/self/mountinfo; grep ' /sys' /proc/self/mountinfo | grep -vc ' ro,'; touch /sys/fs/cgroup/x 2>&1"),
		func(s *specs.Spec) {
			for i := range s.Mounts {
				if s.Mounts[i].Destination == "/sys" {
					s.Mounts[i] = specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}}
				}
			}
		})
	res = u.run(t, "run", "--bundle", u.bundle(), newID(t))
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if res.Code != 1 || len(lines) != 4 || lines[0] != "listed" || lines[1] == "0" || lines[2] != "0" || !strings.Contains(lines[3], "Read-only file system") {
		t.Fatalf("%s: want /sys listed, every mount below it read-only, and a write to the cgroup tree refused", res)
	}
}

// runc is `runc --rootless=true --root <beside the user's oci-rt root>
// args...` as the user, the comparison for oci-rt's rootless behaviour.
func (u *rootlessUser) runc(t *testing.T, args ...string) Result {
	t.Helper()
	root := filepath.Join(u.RuntimeDir, "runc")
	return u.runtime(t).RunCmd(u.command("/usr/sbin/runc", append([]string{"--root", root, "--rootless=true"}, args...)...))
}

// A container without a cgroup has no counters: events --stats prints
// them all as zero in runc's shape, as runc does, rather than failing.
// The stream of events fails for both runtimes, there being no OOM
// notification to watch. runc's stats also carry cpuset, intel_rdt and
// network_interfaces, which oci-rt's stats never print, with or without
// a cgroup: the comparison leaves those out.
func TestRootlessEventsWithoutCgroup(t *testing.T) {
	u := newRootlessUser(t, "ocirt-rl1")
	u.writeRootlessSpec(t, withArgs("sleep", "1000"))
	id := newID(t)
	if res := u.run(t, "run", "--detach", "--bundle", u.bundle(), id); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	t.Cleanup(func() { u.run(t, "delete", "--force", id) })
	if res := u.runc(t, "run", "--detach", "--bundle", u.bundle(), id); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	t.Cleanup(func() { u.runc(t, "delete", "--force", id) })

	statsData := func(res Result) map[string]any {
		t.Helper()
		var ev struct {
			Type string         `json:"type"`
			ID   string         `json:"id"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal([]byte(res.Stdout), &ev); res.Code != 0 || err != nil || ev.Type != "stats" || ev.ID != id {
			t.Fatalf("%s: want one stats event for %s (%v)", res, id, err)
		}
		return ev.Data
	}
	got := statsData(u.run(t, "events", "--stats", id))
	want := statsData(u.runc(t, "events", "--stats", id))
	for _, onlyRunc := range []string{"cpuset", "intel_rdt", "network_interfaces"} {
		delete(want, onlyRunc)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events --stats without a cgroup:\n oci-rt: %v\n runc:   %v", got, want)
	}

	for name, res := range map[string]Result{
		"oci-rt": u.run(t, "events", "--interval", "100ms", id),
		"runc":   u.runc(t, "events", "--interval", "100ms", id),
	} {
		if res.Code == 0 || res.Stdout != "" {
			t.Errorf("%s %s: want a failure and no event", name, res)
		}
	}
}

// Rootless engines (Podman, and Docker or containerd through RootlessKit)
// run the runtime as root of a user namespace of their own, mapping the
// user's ids, with every capability over the namespaces it creates there.
// The runtime then sets the container up from outside with the plan, as
// for host root, and runs its binary from the read-only overlay, whether
// the container stays in the engine's user namespace (rootless Podman's
// default) or has one of its own; its --debug says that no cgroup was
// made, and nothing else about one. A config mapping an id the engine's
// namespace lacks (the user's host uid, as `spec --rootless` outside it
// writes) fails at create naming the map, and leaves no state.
func TestRootlessEngineRuntimeTakesThePlan(t *testing.T) {
	u := newRootlessUser(t, "ocirt-rl1")
	root := filepath.Join(u.Dir, "engine-root")
	engine := func(logFile string, args ...string) Result {
		return u.runtime(t).RunCmd(u.command("unshare", append([]string{"--user", "--map-root-user", "--mount",
			u.binary(), "--root", root, "--debug", "--log", logFile}, args...)...))
	}
	uid := strconv.Itoa(int(u.UID))
	// spec --rootless writes no config over another.
	respec := func(edits ...func(*specs.Spec)) {
		t.Helper()
		must(t, os.RemoveAll(filepath.Join(u.bundle(), "config.json")))
		u.writeRootlessSpec(t, edits...)
	}
	for _, tc := range []struct {
		name string
		edit func(*specs.Spec)
		want string
	}{
		{"in the engine's user namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(ns specs.LinuxNamespace) bool { return ns.Type == specs.UserNamespace })
			s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
		}, "0 " + uid + " 1 0"},
		{"in a user namespace of its own", func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 1}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 1}}
		}, "0 0 1 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			respec(withArgs("sh", "-c", "cat /proc/self/uid_map; id -u"), tc.edit)
			id, logFile := newID(t), filepath.Join(u.Dir, "engine.log")
			res := engine(logFile, "run", "--bundle", u.bundle(), id)
			if res.Code != 0 || strings.Join(strings.Fields(res.Stdout), " ") != tc.want {
				t.Fatalf("%s: want %q (uid_map, id -u)", res, tc.want)
			}
			log := readFile(t, logFile)
			must(t, os.Remove(logFile))
			for _, want := range []string{
				"create " + id + ": plan of ",
				"runs no Go: the runtime sets the container up on a thread",
				"the runtime binary runs from a read-only overlay",
				"create " + id + ": no permission to create a cgroup, running without one",
			} {
				if !strings.Contains(log, want) {
					t.Errorf("--debug log lacks %q:\n%s", want, log)
				}
			}
			for _, unwanted := range []string{"sets the container up in Go", "sealed memfd", "cgroup created"} {
				if strings.Contains(log, unwanted) {
					t.Errorf("--debug log has %q:\n%s", unwanted, log)
				}
			}
		})
	}

	respec(withArgs("true"))
	res := engine(filepath.Join(u.Dir, "engine.log"), "run", "--bundle", u.bundle(), newID(t))
	checkFailure(t, res, "linux.uidMappings[0]: host id "+uid+" is not an id of the runtime's user namespace")
	if entries, err := os.ReadDir(root); err != nil || len(entries) != 0 {
		t.Errorf("state root after the failed create: %v %v", entries, err)
	}
}

// A user's runtime whose container maps the user's own ids alone, as
// `spec --rootless` writes it, makes that user namespace itself and is its
// root: it re-executes itself into it and sets the container up from
// outside, as for host root (a plan, no Go in the init, the binary on the
// read-only overlay, not a memfd copy). The container is the same, from
// inside, as the one the Go init sets up inside a namespace the init
// makes; its state is the user's, in the user's default state directory,
// listed with the user's name, and exec, run from outside, joins it.
func TestRootlessRuntimeMakesTheContainersUserNamespace(t *testing.T) {
	u := newRootlessUser(t, "ocirt-rl1")
	probe := planProbe(specs.User{}, nil, false)
	probe.Args[2] += "; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups"
	u.writeRootlessSpec(t, withProcess(probe), func(s *specs.Spec) {
		s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux}
	})
	run := func(env ...string) (out, log string) {
		t.Helper()
		id, logFile := newID(t), filepath.Join(u.Dir, "run.log")
		cmd := u.command(u.binary(), "--debug", "--log", logFile, "run", "--bundle", u.bundle(), id)
		cmd.Env = append(cmd.Env, env...)
		res := u.runtime(t).RunCmd(cmd)
		log = readFile(t, logFile)
		must(t, os.Remove(logFile))
		if res.Code != 0 {
			t.Fatalf("%s\n%s", res, log)
		}
		return hostOrOwnNamespaces(t, strings.ReplaceAll(res.Stdout, id, "ID")), log
	}
	own, ownLog := run()
	goInit, goLog := run(goInitEnv)
	if own != goInit {
		t.Errorf("the runtime in the container's user namespace gave the container\n%s\nthe Go init\n%s", own, goInit)
	}
	uid, gid := strconv.Itoa(int(u.UID)), strconv.Itoa(int(u.GID))
	// Compared with its blanks squeezed, as the kernel pads the maps.
	words := " " + strings.Join(strings.Fields(own), " ") + " "
	for _, want := range []string{"Uid: 0 0 0 0", "CapEff: 0000000000000000", "user:own", "mnt:own", "pid:own", "FOO=baz", "123",
		"Max open files 512 1024", "end 0 " + uid + " 1 0 " + gid + " 1 deny"} {
		if !strings.Contains(words, " "+want+" ") {
			t.Errorf("the probe's output lacks %q: the comparison proves less than it claims\n%s", want, own)
		}
	}
	for _, want := range []string{
		"re-executes itself as root of a user namespace of its own",
		"the runtime is root of the container's user namespace, made for it",
		": plan of ", "runs no Go: the runtime sets the container up on a thread",
		"the runtime binary runs from a read-only overlay",
	} {
		if !strings.Contains(ownLog, want) {
			t.Errorf("--debug log lacks %q:\n%s", want, ownLog)
		}
	}
	for _, unwanted := range []string{"sets the container up in Go", "sealed memfd"} {
		if strings.Contains(ownLog, unwanted) {
			t.Errorf("--debug log has %q:\n%s", unwanted, ownLog)
		}
	}
	if !strings.Contains(goLog, "sets the container up in Go") || strings.Contains(goLog, "re-executes") {
		t.Errorf("with the plan turned off the Go init must serve, without a re-execution:\n%s", goLog)
	}

	// The default state directory, the owner, and exec from outside.
	editBundle(t, u.bundle(), withArgs("sleep", "1000"))
	id := newID(t)
	if res := u.runtime(t).RunCmd(u.command(u.binary(), "create", "--bundle", u.bundle(), id)); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	t.Cleanup(func() { u.run(t, "delete", "--force", id) })
	if res := u.run(t, "start", id); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	if res := u.run(t, "list"); res.Code != 0 || !regexp.MustCompile(`(?m)^`+id+`\s.*\s`+u.Name+`$`).MatchString(res.Stdout) {
		t.Errorf("%s: want %s listed in %s, owned by %s", res, id, u.stateDir(), u.Name)
	}
	res := u.run(t, "exec", id, "sh", "-c", "cat /proc/self/uid_map; id -u; readlink /proc/self/ns/user; readlink /proc/1/ns/user")
	fields := strings.Fields(res.Stdout)
	if res.Code != 0 || len(fields) != 6 || strings.Join(fields[:4], " ") != "0 "+uid+" 1 0" || fields[4] != fields[5] {
		t.Errorf("%s: want exec in the container's user namespace, as its root", res)
	}
}
