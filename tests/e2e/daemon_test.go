//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// daemon is an engine process the suite started, with everything it owns
// below dir and the cgroup parents its containers use.
type daemon struct {
	name          string
	dir           string
	cmd           *exec.Cmd
	cgroupParents []string
	log           *os.File
}

// startDaemon starts an engine in its own process group with its output in
// dir/<name>.log and registers the full teardown, which runs even when a
// check fails: stop the daemon, end any process still running from dir (a
// shim or conmon the suite caused to be started), unmount everything below
// dir, remove the cgroup parents and dir itself.
func startDaemon(t *testing.T, name, dir string, cgroupParents []string, env []string, args ...string) *daemon {
	t.Helper()
	if err := os.MkdirAll(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{name: name, dir: dir, cgroupParents: cgroupParents, log: log}
	d.cmd = exec.Command(args[0], args[1:]...)
	d.cmd.Stdout, d.cmd.Stderr = log, log
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { d.teardown(t) })
	return d
}

// waitReady polls a client command until the daemon answers.
func (d *daemon) waitReady(t *testing.T, probe func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := probe()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || d.cmd.ProcessState != nil {
			t.Fatalf("%s did not come up: %v\n%s", d.name, err, d.logTail())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func (d *daemon) logTail() string {
	data, _ := os.ReadFile(d.log.Name())
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

func (d *daemon) teardown(t *testing.T) {
	if t.Failed() {
		t.Logf("%s log (tail):\n%s", d.name, d.logTail())
		if keep := os.Getenv("E2E_KEEP_LOGS"); keep != "" {
			data, _ := os.ReadFile(d.log.Name())
			_ = os.WriteFile(filepath.Join(keep, d.name+".log"), data, 0o644)
		}
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	// The process group may hold children the daemon started (dockerd's
	// containerd).
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	d.log.Close()
	// Shims and monitors name dir on their command line; a container
	// whose shim died is found in the cgroup parents the suite handed out.
	leftovers := append(processesUsing(d.dir), processesInCgroups(d.cgroupParents)...)
	for _, pid := range leftovers {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		t.Logf("%s: ending pid %d left running: %s", d.name, pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	time.Sleep(200 * time.Millisecond)
	for _, mp := range mountsBelow(d.dir) {
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mp, err)
		}
	}
	for _, parent := range d.cgroupParents {
		removeCgroupTree(t, parent)
	}
	if err := os.RemoveAll(d.dir); err != nil {
		t.Errorf("remove %s: %v", d.dir, err)
	}
}

// processesUsing lists processes whose command line names dir: the
// engine's shims and monitors, which run in sessions of their own.
func processesUsing(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(cmdline), dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// processesInCgroups lists the processes in the suite's cgroup parents
// and below them, in every hierarchy.
func processesInCgroups(parents []string) []int {
	var pids []int
	for _, parent := range parents {
		roots, _ := filepath.Glob("/sys/fs/cgroup/*")
		for _, root := range append(roots, "/sys/fs/cgroup") {
			_ = filepath.WalkDir(filepath.Join(root, parent), func(p string, de os.DirEntry, err error) error {
				if err != nil || de.Name() != "cgroup.procs" {
					return nil
				}
				data, _ := os.ReadFile(p)
				for _, field := range strings.Fields(string(data)) {
					if pid, err := strconv.Atoi(field); err == nil && pid != os.Getpid() {
						pids = append(pids, pid)
					}
				}
				return nil
			})
		}
	}
	return pids
}

// mountsBelow lists the mount points under dir, deepest first.
func mountsBelow(dir string) []string {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var mps []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			mps = append(mps, fields[4])
		}
	}
	sort.Slice(mps, func(i, j int) bool { return len(mps[i]) > len(mps[j]) })
	return mps
}

// removeCgroupTree removes a cgroup parent the suite gave an engine, in
// every hierarchy, children first.
func removeCgroupTree(t *testing.T, parent string) {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	roots = append(roots, "/sys/fs/cgroup")
	for _, root := range roots {
		dir := filepath.Join(root, parent)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		var dirs []string
		_ = filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
			if err == nil && de.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			if err := os.Remove(d); err != nil {
				t.Errorf("cgroup %s left behind: %v", d, err)
			}
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func probeCmd(name string, args ...string) func() error {
	return func() error {
		res := runCmd(10*time.Second, "", name, args...)
		if res.Err != nil {
			return fmt.Errorf("%v: %s", res.Err, res.Out)
		}
		return nil
	}
}

// TestDocker: dockerd 20.10 on private data-root, exec-root and socket,
// with no iptables, bridge or masquerading, and oci-rt (or runc) as its
// default runtime.
func TestDocker(t *testing.T) {
	dir := filepath.Join(workDir, "docker")
	sock := filepath.Join(dir, "docker.sock")
	parent := fmt.Sprintf("/oci-rt-e2e-docker-%d", os.Getpid())
	writeFile(t, filepath.Join(dir, "daemon.json"), "{}\n")
	d := startDaemon(t, "dockerd", dir, []string{parent}, nil, "/usr/sbin/dockerd",
		"--config-file", filepath.Join(dir, "daemon.json"),
		"--data-root", filepath.Join(dir, "data"), "--exec-root", filepath.Join(dir, "exec"),
		"--host", "unix://"+sock, "--pidfile", filepath.Join(dir, "dockerd.pid"),
		"--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
		"--userland-proxy=false", "--storage-driver", "vfs",
		"--exec-opt", "native.cgroupdriver=cgroupfs", "--cgroup-parent", parent,
		"--add-runtime", "e2e="+runtimeBinary, "--default-runtime", "e2e")
	docker := &dockerLike{name: "docker", bin: "/usr/bin/docker", global: []string{"-H", "unix://" + sock},
		runFlags: []string{"--network", "none"}, rmFlags: []string{"-f"}}
	d.waitReady(t, probeCmd(docker.bin, "-H", "unix://"+sock, "version"))
	must(t, 5*time.Minute, docker.bin, "-H", "unix://"+sock, "load", "-i", imageArchive)
	runChecks(t, docker)
	docker.cmd(clientTimeout, "container", "prune", "-f")
}

// TestPodman: Podman 4.3 with conmon, cgroupfs, private --root/--runroot
// and containers.conf, and --runtime pointing at oci-rt (or runc).
func TestPodman(t *testing.T) {
	podman := startPodman(t)
	runChecks(t, podman)
	podman.cmd(clientTimeout, "rm", "-a", "-f")
}

// startPodman sets Podman up below the suite's directory on cgroupfs, its
// containers under a cgroup parent of the suite's, with the image loaded;
// the teardown comes with the test.
func startPodman(t *testing.T) *dockerLike {
	t.Helper()
	parent := fmt.Sprintf("/oci-rt-e2e-podman-%d", os.Getpid())
	return newPodman(t, filepath.Join(workDir, "podman"), "cgroupfs", []string{parent},
		"--cgroup-parent", parent)
}

// newPodman sets Podman up below dir: containers.conf and storage.conf
// of its own, the given cgroup manager, vfs storage, the image loaded,
// and a teardown that also removes cgroupParents. runFlags go to every
// run besides the suite's defaults.
func newPodman(t *testing.T, dir, cgroupManager string, cgroupParents []string, runFlags ...string) *dockerLike {
	t.Helper()
	conf := filepath.Join(dir, "containers.conf")
	writeFile(t, conf, fmt.Sprintf(`[engine]
cgroup_manager = %q
events_logger = "file"
events_logfile_path = %q
tmp_dir = %q
static_dir = %q
volume_path = %q
[network]
network_config_dir = %q
`, cgroupManager, filepath.Join(dir, "events.log"), filepath.Join(dir, "tmp"), filepath.Join(dir, "root/libpod"),
		filepath.Join(dir, "root/volumes"), filepath.Join(dir, "cni")))
	writeFile(t, filepath.Join(dir, "storage.conf"), fmt.Sprintf("[storage]\ndriver = \"vfs\"\nrunroot = %q\ngraphroot = %q\n",
		filepath.Join(dir, "runroot"), filepath.Join(dir, "root")))
	t.Setenv("CONTAINERS_CONF", conf)
	t.Setenv("CONTAINERS_STORAGE_CONF", filepath.Join(dir, "storage.conf"))
	// Podman has no daemon; a placeholder process keeps the teardown (which
	// ends conmon processes and unmounts the storage) in one place.
	startDaemon(t, "podman-holder", dir, cgroupParents, nil, "sleep", "3600")
	// Podman raises RLIMIT_NOFILE and RLIMIT_NPROC to 1048576 by default;
	// where the session's hard limits are lower and raising them is denied
	// (this host), every runtime fails, so the suite asks for lower ones:
	// a host quirk, see README.
	podman := &dockerLike{name: "podman", bin: "/usr/bin/podman",
		global: []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "runroot"),
			"--runtime", runtimeBinary, "--cgroup-manager", cgroupManager, "--events-backend", "file",
			"--storage-driver", "vfs", "--tmpdir", filepath.Join(dir, "tmp")},
		runFlags: append(append([]string{"--pull", "never", "--network", "none"}, runFlags...), podmanUlimits...),
		rmFlags:  []string{"-f", "--time", "0"}}
	must(t, 5*time.Minute, podman.bin, append(podman.global, "load", "-i", imageArchive)...)
	return podman
}

// podmanUlimits asks for nofile and nproc limits well below the session's
// own (raising a hard limit is what fails here).
var podmanUlimits = []string{"--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"}
