//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestContainerd: containerd 1.6 on a private root, state and socket,
// driven by ctr (io.containerd.runc.v2 with --runc-binary) and by its CRI
// plugin (runtime option BinaryName) through crictl.
func TestContainerd(t *testing.T) {
	dir := filepath.Join(workDir, "containerd")
	ctrParent := fmt.Sprintf("oci-rt-e2e-ctr-%d", os.Getpid())
	criParent := fmt.Sprintf("/oci-rt-e2e-cri-%d", os.Getpid())
	sock := startContainerd(t, dir, false, []string{"/" + ctrParent, criParent})

	ctr := newCtr(t, sock, dir, ctrParent)
	t.Run("ctr", func(t *testing.T) {
		runChecks(t, ctr)
	})
	must(t, 5*time.Minute, "ctr", "--address", sock, "-n", "k8s.io", "images", "import", "--snapshotter", "native", imageArchive)
	cri := &criEngine{sock: sock, dir: dir, parent: criParent, crictl: filepath.Join(cacheDir, "bin/crictl")}
	t.Run("cri", func(t *testing.T) {
		cri.startPod(t)
		runChecks(t, cri)
		cri.removePod(t)
	})
	t.Run("cri-concurrency", func(t *testing.T) {
		cri.concurrency(t)
	})
	t.Run("cri-soak", func(t *testing.T) {
		cri.soak(t)
	})
}

// newCtr is the ctr client of the containerd at sock on namespace ns
// (which is also its containers' cgroup parent), with the image imported.
func newCtr(t *testing.T, sock, dir, ns string) *ctrEngine {
	t.Helper()
	ctr := &ctrEngine{sock: sock, ns: ns, dir: dir}
	must(t, 5*time.Minute, "ctr", "--address", sock, "-n", ns, "images", "import", "--snapshotter", "native", imageArchive)
	return ctr
}

// startContainerd starts containerd on a private root, state and socket
// below dir, with the CRI plugin's runtime pointed at the runtime under
// test (with the runc shim's SystemdCgroup option as given), and returns
// its socket. The teardown removes cgroupParents too.
func startContainerd(t *testing.T, dir string, systemdCgroup bool, cgroupParents []string) string {
	t.Helper()
	sock := filepath.Join(dir, "containerd.sock")
	config := filepath.Join(dir, "config.toml")
	writeFile(t, config, fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = %[3]q
[ttrpc]
  address = "%[3]s.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[4]q
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  # The session lacks CAP_SYS_RESOURCE, so the sandbox's -998 cannot be
  # set by any runtime; containerd clamps it to its own score instead.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "e2e"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.e2e]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.e2e.options]
        BinaryName = %[5]q
        Root = %[6]q
        SystemdCgroup = %[9]v
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[7]q
    conf_dir = %[8]q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, imagePause, runtimeBinary,
		filepath.Join(dir, "runtime-root-cri"), filepath.Join(dir, "cni/bin"), filepath.Join(dir, "cni/conf"), systemdCgroup))
	d := startDaemon(t, "containerd", dir, cgroupParents, nil, "/usr/bin/containerd", "--config", config)
	d.waitReady(t, probeCmd("ctr", "--address", sock, "version"))
	return sock
}

// ctrEngine drives `ctr run --runc-binary`.
type ctrEngine struct {
	sock, ns, dir string
	// systemdSlice, when set, has the runtime run with its systemd cgroup
	// driver (--runc-systemd-cgroup, the SystemdCgroup option of the runc
	// shim) and each container in the scope <ns>-<id>.scope of this slice.
	systemdSlice string
}

// cgroupArgs: a cgroup path of the suite's parent, or for the systemd
// driver its slice:prefix:name form.
func (c *ctrEngine) cgroupArgs(id string) []string {
	if c.systemdSlice != "" {
		return []string{"--runc-systemd-cgroup", "--cgroup", c.systemdSlice + ":" + c.ns + ":" + id}
	}
	return []string{"--cgroup", "/" + c.ns + "/" + id}
}

func (c *ctrEngine) Name() string { return "ctr" }

func (c *ctrEngine) args(args ...string) []string {
	return append([]string{"--address", c.sock, "-n", c.ns}, args...)
}

func (c *ctrEngine) cmd(args ...string) cmdResult {
	return runCmd(clientTimeout, "", "ctr", c.args(args...)...)
}

func (c *ctrEngine) must(t *testing.T, args ...string) string {
	t.Helper()
	res := c.cmd(args...)
	if res.Err != nil {
		t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), res.Err, res.Out)
	}
	return res.Out
}

func (c *ctrEngine) runArgs(o runOpts, id string) []string {
	args := append([]string{"--runc-binary", runtimeBinary, "--runc-root", filepath.Join(c.dir, "runtime-root-ctr"),
		"--snapshotter", "native", "--seccomp"}, c.cgroupArgs(id)...)
	if o.tty {
		args = append(args, "-t")
	}
	if o.memory != 0 {
		args = append(args, "--memory-limit", strconv.FormatInt(o.memory, 10))
	}
	if o.cpuQuota != 0 {
		args = append(args, "--cpu-quota", strconv.FormatInt(o.cpuQuota, 10), "--cpu-period", "100000")
	}
	if o.cpuShares != 0 {
		args = append(args, "--cpu-shares", strconv.FormatInt(o.cpuShares, 10))
	}
	if o.pids != 0 || o.user != "" {
		notApplicable()
	}
	if o.readOnly {
		args = append(args, "--read-only")
	}
	for _, cap := range o.capAdd {
		args = append(args, "--cap-add", "CAP_"+cap)
	}
	for _, cap := range o.capDrop {
		args = append(args, "--cap-drop", "CAP_"+cap)
	}
	if o.device != "" {
		args = append(args, "--device", o.device)
	}
	if o.sharedVolume != "" {
		args = append(args, "--mount", "type=bind,src="+o.sharedVolume+",dst=/vol,options=rbind:rshared")
	}
	return append(append(args, imageBusybox, id), o.cmd...)
}

func (c *ctrEngine) newID() string { return fmt.Sprintf("e2e-%d", containerSeq.Add(1)) }

func (c *ctrEngine) Run(_ *testing.T, o runOpts) cmdResult {
	args := c.args(append([]string{"run", "--rm"}, c.runArgs(o, c.newID())...)...)
	if o.tty {
		return runCmd(clientTimeout, "", "script", "-qec", shellQuote(append([]string{"ctr"}, args...)), "/dev/null")
	}
	return runCmd(clientTimeout, "", "ctr", args...)
}

func (c *ctrEngine) logPath(id string) string { return filepath.Join(c.dir, "logs", id+".log") }

func (c *ctrEngine) Start(t *testing.T, o runOpts) string {
	id := c.newID()
	if err := os.MkdirAll(filepath.Join(c.dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.must(t, append([]string{"run", "-d", "--log-uri", "file://" + c.logPath(id)}, c.runArgs(o, id)...)...)
	return id
}

func (c *ctrEngine) Pid(t *testing.T, id string) int {
	t.Helper()
	for _, line := range strings.Split(c.must(t, "task", "ls"), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 3 && fields[0] == id && fields[2] == "RUNNING" {
			pid, _ := strconv.Atoi(fields[1])
			return pid
		}
	}
	t.Fatalf("task %s is not running", id)
	return 0
}

func (c *ctrEngine) Exec(_ *testing.T, id string, tty bool, cmd ...string) cmdResult {
	execID := fmt.Sprintf("exec-%d", containerSeq.Add(1))
	if tty {
		args := c.args(append([]string{"task", "exec", "-t", "--exec-id", execID, id}, cmd...)...)
		return runCmd(clientTimeout, "", "script", "-qec", shellQuote(append([]string{"ctr"}, args...)), "/dev/null")
	}
	return c.cmd(append([]string{"task", "exec", "--exec-id", execID, id}, cmd...)...)
}

func (c *ctrEngine) Logs(_ *testing.T, id string) string {
	data, _ := os.ReadFile(c.logPath(id))
	return string(data)
}

func (c *ctrEngine) Pause(t *testing.T, id string)   { c.must(t, "task", "pause", id) }
func (c *ctrEngine) Unpause(t *testing.T, id string) { c.must(t, "task", "resume", id) }
func (c *ctrEngine) Kill(t *testing.T, id, sig string) {
	c.must(t, "task", "kill", "--signal", "SIG"+sig, id)
}

func (c *ctrEngine) Stop(t *testing.T, id string) {
	pid := c.Pid(t, id)
	c.must(t, "task", "kill", "--signal", "SIGKILL", id)
	waitUntil(t, 20*time.Second, "the task to stop", func() bool { return !pidAlive(pid) })
}

func (c *ctrEngine) Restart(*testing.T, string) { notApplicable() }

func (c *ctrEngine) Remove(t *testing.T, id string) {
	c.cmd("task", "kill", "--signal", "SIGKILL", id)
	waitUntil(t, 20*time.Second, "the task to exit", func() bool {
		out := c.cmd("task", "ls").Out
		return !strings.Contains(out, id+" ") || strings.Contains(out, "STOPPED")
	})
	c.cmd("task", "delete", id)
	c.must(t, "container", "delete", id)
}

func (c *ctrEngine) UpdateMemory(*testing.T, string, int64) { notApplicable() }

func (c *ctrEngine) Stats(t *testing.T, id string) (int64, int64) {
	t.Helper()
	out := c.must(t, "task", "metrics", "--format", "json", id)
	// ctr prints the cgroup v1 Metrics message itself (v2: its own shape).
	var m struct {
		Memory struct {
			Usage      struct{ Limit int64 }
			UsageLimit int64 `json:"usage_limit"`
		}
		Pids struct{ Current int64 }
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("metrics %q: %v", out, err)
	}
	limit := m.Memory.Usage.Limit
	if limit == 0 {
		limit = m.Memory.UsageLimit
	}
	return limit, m.Pids.Current
}

func (c *ctrEngine) Top(t *testing.T, id string) string { return c.must(t, "task", "ps", id) }

// OOMKilled watches containerd's event stream, where ctr users see the
// /tasks/oom event.
func (c *ctrEngine) OOMKilled(t *testing.T, o runOpts) bool {
	events := exec.Command("ctr", c.args("events")...)
	var out strings.Builder
	events.Stdout = &out
	if err := events.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	res := c.Run(t, o)
	time.Sleep(time.Second)
	_ = events.Process.Kill()
	_ = events.Wait()
	t.Logf("run: exit %d", res.Code)
	return strings.Contains(out.String(), "/tasks/oom")
}
