//go:build vmtest

package integration

// The systemd cgroup driver against a real systemd: run in the VM with
// systemd as PID 1 and a pure cgroup v2 hierarchy (tests/vm, --init
// systemd), with a prebuilt binary:
//
//	make build
//	go test -c -tags 'vmtest osusergo netgo' -o tests/integration/vm.test ./tests/integration
//	tests/vm/run.sh --init systemd --env OCIRT_BINARY=$PWD/oci-rt -- \
//		tests/integration/vm.test -test.run '^TestSystemdUnit' -test.v

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/cgroups/fs2"
)

// systemdRuntime is a runtime whose every command has --systemd-cgroup,
// on a host where systemd is PID 1 with a cgroup v2 hierarchy.
func systemdRuntime(t *testing.T) *Runtime {
	t.Helper()
	if fi, err := os.Lstat("/run/systemd/system"); err != nil || !fi.IsDir() {
		t.Fatal("systemd is not running: run this test in the VM with --init systemd")
	}
	if unifiedMount() != "/sys/fs/cgroup" {
		t.Fatal("these tests read cgroup v2 files: run them in the systemd VM's v2 layout")
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
func checkUnitGone(t *testing.T, unit, cgroup string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for unitProperty(t, unit, "LoadState") != "not-found" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if st := unitProperty(t, unit, "LoadState"); st != "not-found" {
		t.Errorf("unit %s still known to systemd after delete: LoadState %s, ActiveState %s", unit, st, unitProperty(t, unit, "ActiveState"))
	}
	if _, err := os.Stat(cgroup); !os.IsNotExist(err) {
		t.Errorf("cgroup %s left after delete (%v)", cgroup, err)
	}
}

func cgroupFile(t *testing.T, dir, name string) string {
	t.Helper()
	return strings.TrimSpace(readFile(t, filepath.Join(dir, name)))
}

// limitsCheck compares the cgroup's files with want (file → value).
func limitsCheck(t *testing.T, when, dir string, want map[string]string) {
	t.Helper()
	for file, v := range want {
		if got := cgroupFile(t, dir, file); got != v {
			t.Errorf("%s: %s is %q, want %q", when, file, got, v)
		}
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
	dir := "/sys/fs/cgroup" + cgPath
	mem, pids, shares, quota, period := int64(64<<20), int64(40), uint64(512), int64(50000), uint64(100000)
	b := newBundle(t, withArgs("sleep", "1000"), withKmsgNode, func(s *specs.Spec) {
		s.Linux.CgroupsPath = "machine.slice:ocirt:" + id
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &mem}
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &pids}
		s.Linux.Resources.CPU = &specs.LinuxCPU{Shares: &shares, Quota: &quota, Period: &period}
	})
	c := r.CreateID(id, b)

	for prop, want := range map[string]string{
		"ActiveState": "active", "ControlGroup": cgPath, "Slice": "machine.slice", "Delegate": "yes",
		"MemoryMax": strconv.FormatInt(mem, 10), "TasksMax": "40", "CPUQuotaPerSecUSec": "500ms",
		"CPUWeight": strconv.FormatUint(fs2.CPUWeight(shares), 10), "DevicePolicy": "strict",
	} {
		if got := unitProperty(t, unit, prop); got != want {
			t.Errorf("unit %s: %s=%q, want %q", unit, prop, got, want)
		}
	}
	if got := readFile(t, fmt.Sprintf("/proc/%d/cgroup", c.Pid)); got != "0::"+cgPath+"\n" {
		t.Errorf("init's cgroup %q, want %s", got, cgPath)
	}
	limits := map[string]string{
		"memory.max": strconv.FormatInt(mem, 10), "pids.max": "40", "cpu.max": "50000 100000",
		"cpu.weight": strconv.FormatUint(fs2.CPUWeight(shares), 10),
	}
	limitsCheck(t, "after create", dir, limits)
	r.Must("start", id)
	devicesCheck(t, r, id, "after start")

	systemctl(t, "daemon-reload")
	limitsCheck(t, "after daemon-reload", dir, limits)
	devicesCheck(t, r, id, "after daemon-reload")

	newMem, newPids := int64(48<<20), int64(20)
	noErr(t, r.GoRunc().Update(context.Background(), id, &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &newMem},
		Pids:   &specs.LinuxPids{Limit: &newPids},
	}))
	limits["memory.max"], limits["pids.max"] = strconv.FormatInt(newMem, 10), "20"
	limitsCheck(t, "after update", dir, limits)
	if got := unitProperty(t, unit, "MemoryMax"); got != strconv.FormatInt(newMem, 10) {
		t.Errorf("after update: MemoryMax=%s", got)
	}
	if got := unitProperty(t, unit, "TasksMax"); got != "20" {
		t.Errorf("after update: TasksMax=%s", got)
	}
	systemctl(t, "daemon-reload")
	limitsCheck(t, "after update and daemon-reload", dir, limits)
	devicesCheck(t, r, id, "after update and daemon-reload")

	r.Must("pause", id)
	if got := cgroupFile(t, dir, "cgroup.events"); !strings.Contains(got, "frozen 1") {
		t.Errorf("paused: cgroup.events %q", got)
	}
	if st := r.State(id).Status; st != "paused" {
		t.Errorf("paused: state %s", st)
	}
	r.Must("resume", id)
	if got := cgroupFile(t, dir, "cgroup.events"); !strings.Contains(got, "frozen 0") {
		t.Errorf("resumed: cgroup.events %q", got)
	}

	if out := r.Must("ps", "--format", "json", id); !strings.Contains(out, strconv.Itoa(c.Pid)) {
		t.Errorf("ps: %q lacks the init %d", out, c.Pid)
	}
	if out := r.Must("events", "--stats", id); !strings.Contains(out, `"limit":`+strconv.FormatInt(newMem, 10)) {
		t.Errorf("events --stats: %q lacks the memory limit %d", out, newMem)
	}
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	r.Must("exec", "-d", "--pid-file", pidFile, id, "sleep", "1000")
	if pid := readPidFile(t, pidFile); readFile(t, fmt.Sprintf("/proc/%d/cgroup", pid)) != "0::"+cgPath+"\n" {
		t.Errorf("exec'd process %d is not in %s", pid, cgPath)
	}

	r.Must("delete", "--force", id)
	checkUnitGone(t, unit, dir)
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
	if got := readFile(t, fmt.Sprintf("/proc/%d/cgroup", c.Pid)); got != "0::"+cgPath+"\n" {
		t.Errorf("init's cgroup %q, want %s", got, cgPath)
	}
	r.Must("delete", "--force", id)
	checkUnitGone(t, unit, "/sys/fs/cgroup"+cgPath)

	sliceID := newID(t)
	sliceUnit := "ocirt-c" + strings.ReplaceAll(strings.TrimPrefix(sliceID, "it-"), "-", "_") + ".slice"
	slicePath := "/ocirt.slice/" + sliceUnit
	c = r.CreateID(sliceID, newBundle(t, withArgs("sleep", "1000"), func(s *specs.Spec) { s.Linux.CgroupsPath = "ocirt.slice::" + sliceUnit }))
	if got := unitProperty(t, sliceUnit, "ActiveState"); got != "active" {
		t.Errorf("slice unit %s: ActiveState=%s", sliceUnit, got)
	}
	if got := readFile(t, fmt.Sprintf("/proc/%d/cgroup", c.Pid)); got != "0::"+slicePath+"\n" {
		t.Errorf("init's cgroup %q, want %s", got, slicePath)
	}
	r.Must("delete", "--force", sliceID)
	// systemd keeps a stopped slice loaded a while longer than a scope
	// (it is gone by the end of the run): stopped and without its cgroup
	// is what delete can be asked for.
	if st := unitProperty(t, sliceUnit, "ActiveState"); st != "inactive" {
		t.Errorf("slice unit %s is %s after delete", sliceUnit, st)
	}
	if _, err := os.Stat("/sys/fs/cgroup" + slicePath); !os.IsNotExist(err) {
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
			dir := "/sys/fs/cgroup/machine.slice/" + unit
			b := newBundle(t, withArgs("sleep", "1000"), func(s *specs.Spec) { s.Linux.CgroupsPath = "machine.slice:ocirt:" + id })
			cmd := r.createStoppedAt(b, id, point)
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if _, err := os.Stat(dir); err != nil {
				t.Fatalf("create stopped at %s: no cgroup %s (%v)", point, dir, err)
			}
			r.Must("delete", "--force", id)
			checkUnitGone(t, unit, dir)
			deadline := time.Now().Add(10 * time.Second)
			for len(strayChildren(t)) > 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if kids := strayChildren(t); len(kids) > 0 {
				t.Errorf("processes left after delete --force: %v", kids)
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
