//go:build e2e

package e2e

// The engines with their systemd cgroup manager: Podman's default
// --cgroup-manager systemd, and containerd's runc shim with its
// SystemdCgroup option. The runtime then gets --systemd-cgroup and a
// cgroupsPath of the slice:prefix:name form, and has systemd run the
// container in a transient scope. That needs systemd as PID 1, which the
// CI host lacks: make test-vm runs these in the VM that boots systemd
// (tests/vm/run.sh --init systemd).

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireSystemd skips where systemd is not PID 1: no engine can use its
// systemd cgroup manager there, whatever the runtime.
func requireSystemd(t *testing.T) {
	t.Helper()
	if fi, err := os.Lstat("/run/systemd/system"); err != nil || !fi.IsDir() {
		t.Skip("systemd is not PID 1 on this host (no /run/systemd/system): the systemd cgroup manager " +
			"checks run in the VM, tests/vm/run.sh --init systemd (make test-vm)")
	}
}

// TestSystemdPodman: Podman's default cgroup manager, systemd, with the
// container in machine.slice/libpod-<id>.scope.
func TestSystemdPodman(t *testing.T) {
	requireSystemd(t)
	// Podman refuses a runroot path longer than 50 characters.
	podman := newPodman(t, filepath.Join(workDir, "podman-sd"), "systemd", nil)
	systemdScopeCheck(t, podman, func(t *testing.T, name string) string {
		return "libpod-" + podman.must(t, "inspect", "--format", "{{.Id}}", name) + ".scope"
	})
	podman.cmd(clientTimeout, "rm", "-a", "-f")
}

// TestSystemdContainerd: containerd's runc shim with its SystemdCgroup
// option, set two ways: by ctr (`ctr run --runc-systemd-cgroup`), the
// container in machine.slice/<namespace>-<id>.scope; and by the CRI
// runtime's options in containerd's config (SystemdCgroup = true, as a
// kubelet's node has it), the container in the pod's slice as
// cri-containerd-<id>.scope. Removing the pod leaves no scope in its
// slice (the sandbox's went too).
func TestSystemdContainerd(t *testing.T) {
	requireSystemd(t)
	dir := filepath.Join(workDir, "containerd-systemd")
	sock := startContainerd(t, dir, true, nil)
	ctr := newCtr(t, sock, dir, "oci-rt-e2e")
	ctr.systemdSlice = "machine.slice"
	t.Run("ctr", func(t *testing.T) {
		systemdScopeCheck(t, ctr, func(_ *testing.T, id string) string { return ctr.ns + "-" + id + ".scope" })
	})

	must(t, 5*time.Minute, "ctr", "--address", sock, "-n", "k8s.io", "images", "import", "--snapshotter", "native", imageArchive)
	// containerd hands the runtime a systemd cgroupsPath when the pod's
	// cgroup parent is a slice.
	const podSlice, podSlicePath = "machine-ocirte2e.slice", "/machine.slice/machine-ocirte2e.slice"
	cri := &criEngine{sock: sock, dir: dir, parent: podSlice, crictl: filepath.Join(cacheDir, "bin/crictl")}
	t.Run("cri", func(t *testing.T) {
		cri.startPod(t)
		systemdScopeCheck(t, cri, func(_ *testing.T, id string) string { return "cri-containerd-" + id + ".scope" })
		cri.removePod(t)
		waitUntil(t, 10*time.Second, "the pod's scopes to go", func() bool {
			left, _ := filepath.Glob(filepath.Join(unifiedMount(), podSlicePath, "*.scope"))
			return len(left) == 0
		})
	})
}

// systemdScopeCheck: a container with a memory limit runs in its scope
// unit (the unit is active, the init is in the unit's cgroup, the limit
// is in the cgroup's file); a process exec'd into it lands in the same
// cgroup; stop and rm leave neither the unit nor its cgroup.
func systemdScopeCheck(t *testing.T, e engine, unitOf func(t *testing.T, id string) string) {
	check(t, e, "systemd-scope", func(t *testing.T) {
		id := e.Start(t, runOpts{memory: 64 << 20, cmd: sh(sleeper)})
		removed := false
		defer func() {
			if !removed {
				e.Remove(t, id)
			}
		}()
		pid := e.Pid(t, id)
		unit := unitOf(t, id)
		if st := unitProperty(t, unit, "ActiveState"); st != "active" {
			t.Fatalf("unit %s: ActiveState %q, want active", unit, st)
		}
		cgPath := unitProperty(t, unit, "ControlGroup")
		if !strings.HasPrefix(cgPath, "/machine.slice/") || !strings.HasSuffix(cgPath, "/"+unit) {
			t.Errorf("unit %s: ControlGroup %q, want /machine.slice/.../%s", unit, cgPath, unit)
		}
		if dir := cgroupDir(t, pid, "memory"); !strings.HasSuffix(dir, cgPath) {
			t.Errorf("init %d is in %s, not in its unit's cgroup %s", pid, dir, cgPath)
		}
		expectCgroup(t, pid, "memory", "memory.limit_in_bytes", "memory.max", "67108864")

		// The container has a cgroup namespace of its own, so the exec'd
		// process is looked for from the host, in the scope's cgroup.
		res := e.Exec(t, id, false, "sh", "-c", "sleep 4242 </dev/null >/dev/null 2>&1 &")
		if res.Err != nil {
			t.Fatalf("exec: %v\n%s", res.Err, res.Out)
		}
		if findProc(t, pid, "4242") == 0 {
			t.Errorf("the exec'd sleep is not in the scope's cgroup %s", cgPath)
		}

		e.Stop(t, id)
		e.Remove(t, id)
		removed = true
		waitUntil(t, 10*time.Second, "systemd to forget "+unit, func() bool {
			return unitProperty(t, unit, "LoadState") == "not-found"
		})
		left, _ := filepath.Glob("/sys/fs/cgroup/*" + cgPath)
		if _, err := os.Stat("/sys/fs/cgroup" + cgPath); err == nil {
			left = append(left, "/sys/fs/cgroup"+cgPath)
		}
		if len(left) > 0 {
			t.Errorf("cgroup of %s left after rm: %v", unit, left)
		}
	})
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
