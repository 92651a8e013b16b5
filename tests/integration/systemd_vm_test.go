//go:build vmtest

package integration

// The systemd cgroup driver against a real systemd: run in the VM with
// systemd as PID 1 (tests/vm, --init systemd), on a pure cgroup v2 host
// or, with --cgroup v1, systemd's hybrid layout, with a prebuilt binary:
//
//	make build
//	go test -c -tags 'vmtest osusergo netgo' -o tests/integration/vm.test ./tests/integration
//	tests/vm/run.sh --init systemd [--cgroup v1] --env OCIRT_BINARY=$PWD/oci-rt -- \
//		tests/integration/vm.test -test.run '^TestSystemdUnit' -test.v

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups/fs2"
)

// systemdRuntime is a runtime whose every command has --systemd-cgroup,
// on a host where systemd is PID 1.
func systemdRuntime(t *testing.T) *Runtime {
	t.Helper()
	if fi, err := os.Lstat("/run/systemd/system"); err != nil || !fi.IsDir() {
		t.Fatal("systemd is not running: run this test in the VM with --init systemd")
	}
	r := newRuntime(t)
	r.Global = []string{"--systemd-cgroup"}
	return r
}

// unitProperty is `systemctl show -P prop unit`.
func unitProperty(t *testing.T, unit, prop string) string {
	t.Helper()
	out, err := exec.Command("systemctl", "show", "-P", prop, unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemctl show -P %s %s: %v: %s", prop, unit, err, out)
	}
	return strings.TrimSpace(string(out))
}

func systemctl(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("systemctl", args...).CombinedOutput(); err != nil {
		t.Fatalf("systemctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// checkUnitGone: systemd has forgotten unit (it collects stopped units
// in its next main-loop turn: a moment's wait is allowed) and its cgroup
// is gone.
func checkUnitGone(t *testing.T, unit, path string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for unitProperty(t, unit, "LoadState") != "not-found" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if st := unitProperty(t, unit, "LoadState"); st != "not-found" {
		t.Errorf("unit %s still known to systemd after delete: LoadState %s, ActiveState %s", unit, st, unitProperty(t, unit, "ActiveState"))
	}
	left, _ := filepath.Glob("/sys/fs/cgroup/*" + path)
	if _, err := os.Stat("/sys/fs/cgroup" + path); err == nil {
		left = append(left, "/sys/fs/cgroup"+path)
	}
	if len(left) > 0 {
		t.Errorf("cgroup %s left after delete: %v", path, left)
	}
}

// isUnified tells a pure cgroup v2 host from systemd's hybrid layout.
func isUnified() bool { return unifiedMount() == "/sys/fs/cgroup" }

// cgroupFile reads a file of the cgroup at path: "ctrl/file" names a v1
// controller's file on a hybrid host, a plain name the unified one's.
func cgroupFile(t *testing.T, path, file string) string {
	t.Helper()
	root := unifiedMount()
	if ctrl, name, ok := strings.Cut(file, "/"); ok {
		root, file = "/sys/fs/cgroup/"+ctrl, name
	}
	return strings.TrimSpace(readFile(t, filepath.Join(root, path, file)))
}

// limitsCheck compares the cgroup's files with want (file → value).
func limitsCheck(t *testing.T, when, path string, want map[string]string) {
	t.Helper()
	for file, v := range want {
		if got := cgroupFile(t, path, file); got != v {
			t.Errorf("%s: %s is %q, want %q", when, file, got, v)
		}
	}
}

// checkInCgroup: pid is in the cgroup at path in every hierarchy.
func checkInCgroup(t *testing.T, what string, pid int, path string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(readFile(t, fmt.Sprintf("/proc/%d/cgroup", pid))), "\n")
	for _, l := range lines {
		if !strings.HasSuffix(l, ":"+path) {
			t.Errorf("%s %d: cgroup line %q is not %s", what, pid, l, path)
		}
	}
}

// frozenCheck: the cgroup is frozen or not, by the v1 freezer on a hybrid
// host.
func frozenCheck(t *testing.T, when, path string, frozen bool) {
	t.Helper()
	if !isUnified() {
		want := map[bool]string{true: "FROZEN", false: "THAWED"}[frozen]
		if got := cgroupFile(t, path, "freezer/freezer.state"); got != want {
			t.Errorf("%s: freezer.state %s, want %s", when, got, want)
		}
		return
	}
	want := map[bool]string{true: "frozen 1", false: "frozen 0"}[frozen]
	if got := cgroupFile(t, path, "cgroup.events"); !strings.Contains(got, want) {
		t.Errorf("%s: cgroup.events %q, want %s", when, got, want)
	}
}

// devicesCheck: the container may use /dev/null but not /dev/kmsg, whose
// node it has (withKmsgNode) but no rule for.
func devicesCheck(t *testing.T, r *Runtime, id, when string) {
	t.Helper()
	if res := r.Run("exec", id, "sh", "-c", "echo x >/dev/null"); res.Code != 0 {
		t.Errorf("%s: writing /dev/null: %s", when, res)
	}
	if res := r.Run("exec", id, "sh", "-c", ": >/dev/kmsg"); res.Code == 0 || !strings.Contains(res.Stderr, "Operation not permitted") {
		t.Errorf("%s: writing /dev/kmsg without a device rule: %s; want EPERM", when, res)
	}
}

// TestSystemdUnitLifecycle: a container of "machine.slice:ocirt:<id>"
// runs in the transient scope ocirt-<id>.scope under machine.slice, a
// delegated unit with the container's limits as its properties and in its
// files; a daemon-reload (systemd re-realizes every cgroup then) changes
// no limit and no device rule, before and after an update; update sets
// the files and the unit's properties; pause, ps, events --stats and exec
// work on the scope's cgroup; delete stops the unit and leaves neither
// unit nor cgroup.
func TestSystemdUnitLifecycle(t *testing.T) {
	r := systemdRuntime(t)
	id := newID(t)
	unit := "ocirt-" + id + ".scope"
	cgPath := "/machine.slice/" + unit
	mem, pids, shares, quota, period := int64(64<<20), int64(40), uint64(512), int64(50000), uint64(100000)
	b := newBundle(t, withArgs("sleep", "1000"), withKmsgNode, func(s *specs.Spec) {
		s.Linux.CgroupsPath = "machine.slice:ocirt:" + id
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &mem}
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &pids}
		s.Linux.Resources.CPU = &specs.LinuxCPU{Shares: &shares, Quota: &quota, Period: &period}
	})
	c := r.CreateID(id, b)

	props := map[string]string{
		"ActiveState": "active", "ControlGroup": cgPath, "Slice": "machine.slice", "Delegate": "yes",
		"TasksMax": "40", "CPUQuotaPerSecUSec": "500ms", "DevicePolicy": "strict",
	}
	memFile := "memory.max"
	limits := map[string]string{"pids.max": "40"}
	if isUnified() {
		props["MemoryMax"], props["CPUWeight"] = strconv.FormatInt(mem, 10), strconv.FormatUint(fs2.CPUWeight(shares), 10)
		limits["cpu.max"], limits["cpu.weight"] = "50000 100000", strconv.FormatUint(fs2.CPUWeight(shares), 10)
	} else {
		props["MemoryLimit"], props["CPUShares"] = strconv.FormatInt(mem, 10), "512"
		memFile = "memory/memory.limit_in_bytes"
		limits = map[string]string{"pids/pids.max": "40", "cpu,cpuacct/cpu.cfs_quota_us": "50000", "cpu,cpuacct/cpu.cfs_period_us": "100000", "cpu,cpuacct/cpu.shares": "512"}
	}
	limits[memFile] = strconv.FormatInt(mem, 10)
	for prop, want := range props {
		if got := unitProperty(t, unit, prop); got != want {
			t.Errorf("unit %s: %s=%q, want %q", unit, prop, got, want)
		}
	}
	checkInCgroup(t, "init", c.Pid, cgPath)
	limitsCheck(t, "after create", cgPath, limits)
	r.Must("start", id)
	devicesCheck(t, r, id, "after start")

	systemctl(t, "daemon-reload")
	limitsCheck(t, "after daemon-reload", cgPath, limits)
	devicesCheck(t, r, id, "after daemon-reload")

	newMem, newPids := int64(48<<20), int64(20)
	noErr(t, r.GoRunc().Update(context.Background(), id, &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &newMem},
		Pids:   &specs.LinuxPids{Limit: &newPids},
	}))
	limits[memFile] = strconv.FormatInt(newMem, 10)
	if isUnified() {
		limits["pids.max"] = "20"
	} else {
		limits["pids/pids.max"] = "20"
	}
	limitsCheck(t, "after update", cgPath, limits)
	memProp := map[bool]string{true: "MemoryMax", false: "MemoryLimit"}[isUnified()]
	if got := unitProperty(t, unit, memProp); got != strconv.FormatInt(newMem, 10) {
		t.Errorf("after update: %s=%s", memProp, got)
	}
	if got := unitProperty(t, unit, "TasksMax"); got != "20" {
		t.Errorf("after update: TasksMax=%s", got)
	}
	systemctl(t, "daemon-reload")
	limitsCheck(t, "after update and daemon-reload", cgPath, limits)
	devicesCheck(t, r, id, "after update and daemon-reload")

	r.Must("pause", id)
	frozenCheck(t, "paused", cgPath, true)
	if st := r.State(id).Status; st != "paused" {
		t.Errorf("paused: state %s", st)
	}
	r.Must("resume", id)
	frozenCheck(t, "resumed", cgPath, false)

	if out := r.Must("ps", "--format", "json", id); !strings.Contains(out, strconv.Itoa(c.Pid)) {
		t.Errorf("ps: %q lacks the init %d", out, c.Pid)
	}
	if out := r.Must("events", "--stats", id); !strings.Contains(out, `"limit":`+strconv.FormatInt(newMem, 10)) {
		t.Errorf("events --stats: %q lacks the memory limit %d", out, newMem)
	}
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	r.Must("exec", "-d", "--pid-file", pidFile, id, "sleep", "1000")
	execPid := readPidFile(t, pidFile)
	// It is our child once exec has returned: reaped here, or as a zombie
	// it would keep the container's init from finishing its exit.
	adopt(t, execPid)
	checkInCgroup(t, "exec'd process", execPid, cgPath)

	r.Must("delete", "--force", id)
	checkUnitGone(t, unit, cgPath)
}

// TestSystemdUnitNestedSlice: a slice with dashes nests as systemd names
// it; the container's scope is under the innermost one. A name ending in
// .slice makes the container's unit itself that slice. Delete leaves no
// unit of the container; the parent slices stay, as runc leaves them
// (they may hold other containers, or carry their own manager's limits).
func TestSystemdUnitNestedSlice(t *testing.T) {
	r := systemdRuntime(t)
	id := newID(t)
	unit := "p-" + id + ".scope"
	cgPath := "/ocirt.slice/ocirt-nest.slice/" + unit
	c := r.CreateID(id, newBundle(t, withArgs("sleep", "1000"), func(s *specs.Spec) { s.Linux.CgroupsPath = "ocirt-nest.slice:p:" + id }))
	if got := unitProperty(t, unit, "ControlGroup"); got != cgPath {
		t.Errorf("ControlGroup=%q, want %s", got, cgPath)
	}
	checkInCgroup(t, "init", c.Pid, cgPath)
	r.Must("delete", "--force", id)
	checkUnitGone(t, unit, cgPath)

	sliceID := newID(t)
	sliceUnit := "ocirt-c" + strings.ReplaceAll(strings.TrimPrefix(sliceID, "it-"), "-", "_") + ".slice"
	slicePath := "/ocirt.slice/" + sliceUnit
	c = r.CreateID(sliceID, newBundle(t, withArgs("sleep", "1000"), func(s *specs.Spec) { s.Linux.CgroupsPath = "ocirt.slice::" + sliceUnit }))
	if got := unitProperty(t, sliceUnit, "ActiveState"); got != "active" {
		t.Errorf("slice unit %s: ActiveState=%s", sliceUnit, got)
	}
	checkInCgroup(t, "init", c.Pid, slicePath)
	r.Must("delete", "--force", sliceID)
	// systemd keeps a stopped slice loaded a while longer than a scope
	// (it is gone by the end of the run): stopped and without its cgroup
	// is what delete can be asked for.
	if st := unitProperty(t, sliceUnit, "ActiveState"); st != "inactive" {
		t.Errorf("slice unit %s is %s after delete", sliceUnit, st)
	}
	if _, err := os.Stat(filepath.Join(unifiedMount(), slicePath)); !os.IsNotExist(err) {
		t.Errorf("cgroup %s left after delete (%v)", slicePath, err)
	}
}

// TestSystemdUnitCrashMidCreate: a create killed after making the cgroup
// (the scope not started yet) or once the init is in its started scope
// leaves what delete --force removes: no unit, no cgroup, no process.
func TestSystemdUnitCrashMidCreate(t *testing.T) {
	for _, point := range []string{"cgroup", "ready"} {
		t.Run(point, func(t *testing.T) {
			r := systemdRuntime(t)
			id := newID(t)
			unit := "ocirt-" + id + ".scope"
			path := "/machine.slice/" + unit
			b := newBundle(t, withArgs("sleep", "1000"), func(s *specs.Spec) { s.Linux.CgroupsPath = "machine.slice:ocirt:" + id })
			cmd := r.createStoppedAt(b, id, point)
			// Looked at while create is stopped: once it is killed, its
			// init sees the parent gone and exits, and systemd may stop
			// the emptied scope and remove its cgroup before delete runs.
			if _, err := os.Stat(filepath.Join(unifiedMount(), path)); err != nil {
				t.Fatalf("create stopped at %s: no cgroup %s (%v)", point, path, err)
			}
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			r.Must("delete", "--force", id)
			checkUnitGone(t, unit, path)
			deadline := time.Now().Add(10 * time.Second)
			for len(strayChildren(t)) > 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if kids := strayChildren(t); len(kids) > 0 {
				var where []string
				for _, k := range kids {
					pid, _, _ := strings.Cut(k, ":")
					cg, _ := os.ReadFile("/proc/" + pid + "/cgroup")
					cmd, _ := os.ReadFile("/proc/" + pid + "/cmdline")
					where = append(where, fmt.Sprintf("%s %q in %q", k, cmd, cg))
				}
				t.Errorf("processes left after delete --force: %v", where)
			}
		})
	}
}

// TestSystemdUnitExists: a create whose unit systemd already runs fails
// with one line naming the unit, leaves nothing, and does not touch the
// unit that was there.
func TestSystemdUnitExists(t *testing.T) {
	r := systemdRuntime(t)
	id := newID(t)
	unit := "ocirt-" + id + ".scope"
	holder := exec.Command("systemd-run", "--scope", "--quiet", "--unit", unit, "--slice", "machine.slice", "sleep", "1000")
	noErr(t, holder.Start())
	t.Cleanup(func() {
		_ = holder.Process.Kill()
		_ = holder.Wait()
		_ = exec.Command("systemctl", "stop", unit).Run()
	})
	waitFor(t, 10*time.Second, "the other scope to run", func() bool {
		return exec.Command("systemctl", "is-active", "--quiet", unit).Run() == nil
	})
	b := newBundle(t, withArgs("true"), func(s *specs.Spec) { s.Linux.CgroupsPath = "machine.slice:ocirt:" + id })
	res := r.Run("create", "--bundle", b, id)
	checkFailure(t, res, "systemd unit "+unit+" already exists")
	if entries, _ := os.ReadDir(r.Root); len(entries) != 0 {
		t.Errorf("state left under --root %s: %v", r.Root, entries)
	}
	if got := unitProperty(t, unit, "ActiveState"); got != "active" {
		t.Errorf("the other unit is %s after the failed create", got)
	}
}

// hideSystemdSocket moves systemd's private socket aside until the test
// ends: root's D-Bus clients (ours, runc's, systemctl) fall back to it
// when the system bus is out of reach, so a runtime cut off from both
// needs it gone. systemd keeps listening on the moved socket, so moving
// it back restores it. The returned func restores it at once.
func hideSystemdSocket(t *testing.T) (restore func()) {
	t.Helper()
	const sock, aside = "/run/systemd/private", "/run/systemd/private.ocirt-test"
	noErr(t, os.Rename(sock, aside))
	restored := false
	restore = func() {
		if !restored {
			noErr(t, os.Rename(aside, sock))
			restored = true
		}
	}
	t.Cleanup(restore)
	return restore
}

// TestSystemdUnitDBusDown: with systemd out of reach (the system bus
// address names a missing socket, systemd's private socket is moved
// aside), create fails with one line naming D-Bus and systemd, and leaves
// no state dir, no unit and no cgroup behind.
func TestSystemdUnitDBusDown(t *testing.T) {
	r := systemdRuntime(t)
	id := newID(t)
	unit := "ocirt-" + id + ".scope"
	path := "/machine.slice/" + unit
	b := newBundle(t, withArgs("true"), func(s *specs.Spec) { s.Linux.CgroupsPath = "machine.slice:ocirt:" + id })
	noBus := "DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/ocirt-test-no-bus"
	restore := hideSystemdSocket(t)

	cmd := r.Command("create", "--bundle", b, id)
	cmd.Env = append(os.Environ(), noBus)
	res := r.RunCmd(cmd)
	restore()
	checkFailure(t, res, "connect to systemd over D-Bus")
	t.Logf("oci-rt create: %s", errorMessage(res.Stderr))
	if entries, _ := os.ReadDir(r.Root); len(entries) != 0 {
		t.Errorf("state left under --root %s: %v", r.Root, entries)
	}
	checkUnitGone(t, unit, path)
	if kids := strayChildren(t); len(kids) > 0 {
		t.Errorf("processes left after the failed create: %v", kids)
	}

	// runc's words for the same, for comparison.
	hideSystemdSocket(t)
	runcRoot := t.TempDir()
	runc := exec.Command("runc", "--root", runcRoot, "--systemd-cgroup", "create", "--bundle", b, id)
	runc.Env = append(os.Environ(), noBus)
	out, err := runc.CombinedOutput()
	t.Logf("runc create: %v: %s", err, out)
	if err == nil {
		_ = exec.Command("runc", "--root", runcRoot, "delete", "--force", id).Run()
	}
}

// TestSystemdUnitOOM: in a scope with a 32 MiB limit, a process exec'd
// to allocate 64 MiB is OOM-killed and events reports the oom, as with
// the fs driver; when the init itself is OOM-killed, systemd stops the
// emptied scope and removes its cgroup on its own, before any delete;
// delete then succeeds and leaves no unit.
func TestSystemdUnitOOM(t *testing.T) {
	r := systemdRuntime(t)
	id := newID(t)
	unit := "ocirt-" + id + ".scope"
	path := "/machine.slice/" + unit
	// On SIGUSR1 the init becomes the memory hog itself (the trap runs
	// once the current sleep ends).
	hog := "exec dd if=/dev/zero of=/dev/null bs=64M count=1"
	b := newBundle(t, withArgs("sh", "-c", "trap '"+hog+"' USR1; while :; do sleep 1; done"), withMemoryLimit(32<<20),
		func(s *specs.Spec) { s.Linux.CgroupsPath = "machine.slice:ocirt:" + id })
	c := r.CreateID(id, b)
	r.Must("start", id)

	lines, _ := eventLines(t, r, id)
	// Give events time to take its baseline before the OOM.
	time.Sleep(300 * time.Millisecond)
	if res := r.Run("exec", id, "sh", "-c", hog); res.Code != 137 {
		t.Errorf("exec'd memory hog: %s, want exit 137 (SIGKILL by the OOM killer)", res)
	}
	select {
	case line := <-lines:
		var e struct{ Type, ID string }
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Type != "oom" || e.ID != id {
			t.Errorf("events line %q, want an oom event", line)
		}
	case <-time.After(10 * time.Second):
		t.Error("no oom event within 10s")
	}
	if st := r.State(id).Status; st != "running" {
		t.Fatalf("container %s after its exec'd process was OOM-killed", st)
	}

	r.Must("kill", id, "USR1")
	if ws := c.Wait(t, 30*time.Second); !ws.Signaled() || ws.Signal() != unix.SIGKILL {
		t.Errorf("init turned memory hog: wait status %#x, want killed by SIGKILL", ws)
	}
	waitFor(t, 10*time.Second, "systemd to stop the emptied scope", func() bool {
		return unitProperty(t, unit, "ActiveState") != "active"
	})
	waitFor(t, 10*time.Second, "the scope's cgroup to go", func() bool {
		_, err := os.Stat(filepath.Join(unifiedMount(), path))
		return os.IsNotExist(err)
	})
	if st := r.State(id).Status; st != "stopped" {
		t.Errorf("container %s after its init was OOM-killed", st)
	}
	r.Must("delete", id)
	checkUnitGone(t, unit, path)
}

// TestSystemdUnitDeleteKeepsSharedSlice: delete removes what is the
// container's own, its scope or the slice that is its unit, with their
// cgroups; the parent slice they share stays, with its other container
// still running and the limit its own manager set still in place (as a
// kubelet sets a pod slice's). runc leaves parent slices too: the
// runtime cannot know who else uses them.
func TestSystemdUnitDeleteKeepsSharedSlice(t *testing.T) {
	r := systemdRuntime(t)
	const parent, parentPath = "ocirt-shared.slice", "/ocirt.slice/ocirt-shared.slice"
	t.Cleanup(func() { _ = exec.Command("systemctl", "stop", parent).Run() })

	scopeID := newID(t)
	scopeUnit := "ocirt-" + scopeID + ".scope"
	scopePath := parentPath + "/" + scopeUnit
	scoped := r.CreateID(scopeID, newBundle(t, withArgs("sleep", "1000"),
		func(s *specs.Spec) { s.Linux.CgroupsPath = parent + ":ocirt:" + scopeID }))
	// The slice's own manager gives it a limit, as a kubelet does a pod's.
	systemctl(t, "set-property", "--runtime", parent, "MemoryMax=256M")

	sliceID := newID(t)
	sliceUnit := "ocirt-shared-c" + strings.ReplaceAll(strings.TrimPrefix(sliceID, "it-"), "-", "_") + ".slice"
	slicePath := parentPath + "/" + sliceUnit
	sliced := r.CreateID(sliceID, newBundle(t, withArgs("sleep", "1000"),
		func(s *specs.Spec) { s.Linux.CgroupsPath = parent + "::" + sliceUnit }))
	checkInCgroup(t, "scope's init", scoped.Pid, scopePath)
	checkInCgroup(t, "slice's init", sliced.Pid, slicePath)

	r.Must("delete", "--force", scopeID)
	checkUnitGone(t, scopeUnit, scopePath)
	if !pidAlive(sliced.Pid) {
		t.Errorf("the other container's init %d died with the first container's delete", sliced.Pid)
	}
	checkInCgroup(t, "slice's init after the other delete", sliced.Pid, slicePath)

	r.Must("delete", "--force", sliceID)
	// A stopped slice stays loaded a while (see TestSystemdUnitNestedSlice).
	if st := unitProperty(t, sliceUnit, "ActiveState"); st != "inactive" {
		t.Errorf("slice unit %s is %s after delete", sliceUnit, st)
	}
	if _, err := os.Stat(filepath.Join(unifiedMount(), slicePath)); !os.IsNotExist(err) {
		t.Errorf("cgroup %s left after delete (%v)", slicePath, err)
	}

	if st := unitProperty(t, parent, "ActiveState"); st != "active" {
		t.Errorf("shared parent %s is %s after its containers' deletes, want it left active", parent, st)
	}
	memFile := map[bool]string{true: "memory.max", false: "memory/memory.limit_in_bytes"}[isUnified()]
	if got := cgroupFile(t, parentPath, memFile); got != "268435456" {
		t.Errorf("shared parent's %s %s after the deletes, want its manager's 268435456", memFile, got)
	}
}
