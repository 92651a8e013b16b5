//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// criEngine drives containerd's CRI plugin with crictl, as a kubelet
// would: one pod sandbox with host network, containers created in it.
type criEngine struct {
	sock, dir, parent, crictl string
	podID                     string
	podConfig                 string
}

func (c *criEngine) Name() string { return "cri" }

// cmd runs crictl with a config file of its own: without one crictl warns
// on every call, into the output the suite reads ids from.
func (c *criEngine) cmd(args ...string) cmdResult {
	config := filepath.Join(c.dir, "crictl.yaml")
	if _, err := os.Stat(config); err != nil {
		content := fmt.Sprintf("runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 60\n", c.sock, c.sock)
		if err := os.WriteFile(config, []byte(content), 0o644); err != nil {
			return cmdResult{Code: -1, Err: err}
		}
	}
	return runCmd(clientTimeout, "", c.crictl, append([]string{"--config", config}, args...)...)
}

func (c *criEngine) must(t *testing.T, args ...string) string {
	t.Helper()
	res := c.cmd(args...)
	if res.Err != nil {
		t.Fatalf("crictl %s: %v\n%s", strings.Join(args, " "), res.Err, res.Out)
	}
	return strings.TrimSpace(res.Out)
}

func (c *criEngine) writeJSON(t *testing.T, name string, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(c.dir, "cri-configs", name)
	writeFile(t, path, string(data))
	return path
}

func (c *criEngine) podSpec(name string) map[string]any {
	return map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "e2e", "uid": name, "attempt": 0},
		"log_directory": filepath.Join(c.dir, "pod-logs", name),
		"linux": map[string]any{
			"cgroup_parent":    c.parent,
			"security_context": map[string]any{"namespace_options": map[string]any{"network": 2}},
		},
	}
}

func (c *criEngine) startPod(t *testing.T) {
	t.Helper()
	// The kubelet makes the pod's log directory; containerd writes into it.
	if err := os.MkdirAll(filepath.Join(c.dir, "pod-logs", "e2e-pod"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.podConfig = c.writeJSON(t, "pod.json", c.podSpec("e2e-pod"))
	c.podID = c.must(t, "runp", c.podConfig)
}

func (c *criEngine) removePod(t *testing.T) {
	c.must(t, "stopp", c.podID)
	c.must(t, "rmp", c.podID)
}

func (c *criEngine) containerSpec(name string, o runOpts) map[string]any {
	if o.pids != 0 || o.device != "" && !strings.HasPrefix(o.device, "/dev/") {
		notApplicable()
	}
	resources := map[string]any{}
	if o.memory != 0 {
		resources["memory_limit_in_bytes"] = o.memory
	}
	if o.cpuQuota != 0 {
		resources["cpu_quota"], resources["cpu_period"] = o.cpuQuota, 100000
	}
	if o.cpuShares != 0 {
		resources["cpu_shares"] = o.cpuShares
	}
	sc := map[string]any{
		// The pod shares the node's network; each container gets its own
		// pid namespace, as with the other engines.
		"namespace_options": map[string]any{"network": 2, "pid": 1},
		"readonly_rootfs":   o.readOnly,
		// SecurityProfile_RuntimeDefault is 0 in the CRI enum (1 is
		// Unconfined); the object must be present for containerd to apply it.
		"seccomp":      map[string]any{"profile_type": 0},
		"capabilities": map[string]any{"add_capabilities": o.capAdd, "drop_capabilities": o.capDrop},
	}
	if o.user != "" {
		uid, gid, _ := strings.Cut(o.user, ":")
		u, _ := strconv.Atoi(uid)
		g, _ := strconv.Atoi(gid)
		sc["run_as_user"] = map[string]any{"value": u}
		sc["run_as_group"] = map[string]any{"value": g}
	}
	spec := map[string]any{
		"metadata": map[string]any{"name": name},
		"image":    map[string]any{"image": imageBusybox},
		"command":  o.cmd,
		"log_path": name + ".log",
		"tty":      o.tty,
		"linux":    map[string]any{"resources": resources, "security_context": sc},
	}
	if o.sharedVolume != "" {
		// PROPAGATION_BIDIRECTIONAL
		spec["mounts"] = []map[string]any{{"container_path": "/vol", "host_path": o.sharedVolume, "propagation": 2}}
	}
	if o.device != "" {
		spec["devices"] = []map[string]any{{"container_path": o.device, "host_path": o.device, "permissions": "rwm"}}
	}
	return spec
}

func (c *criEngine) create(t *testing.T, o runOpts) string {
	t.Helper()
	name := fmt.Sprintf("c-%d", containerSeq.Add(1))
	config := c.writeJSON(t, name+".json", c.containerSpec(name, o))
	return c.must(t, "create", c.podID, config, c.podConfig)
}

type criStatus struct {
	Status struct {
		State    string
		ExitCode int
		Reason   string
	}
	Info struct{ Pid int }
}

func (c *criEngine) inspect(t *testing.T, id string) criStatus {
	t.Helper()
	var st criStatus
	out := c.must(t, "inspect", "-o", "json", id)
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("inspect %q: %v", out, err)
	}
	return st
}

func (c *criEngine) waitExited(t *testing.T, id string) criStatus {
	t.Helper()
	var st criStatus
	waitUntil(t, 60*time.Second, id+" to exit", func() bool {
		st = c.inspect(t, id)
		return st.Status.State == "CONTAINER_EXITED"
	})
	return st
}

func (c *criEngine) Run(t *testing.T, o runOpts) cmdResult {
	id := c.create(t, o)
	defer c.cmd("rm", "-f", id)
	c.must(t, "start", id)
	st := c.waitExited(t, id)
	return cmdResult{Out: c.Logs(t, id), Code: st.Status.ExitCode}
}

func (c *criEngine) Start(t *testing.T, o runOpts) string {
	id := c.create(t, o)
	c.must(t, "start", id)
	return id
}

func (c *criEngine) Pid(t *testing.T, id string) int {
	t.Helper()
	pid := c.inspect(t, id).Info.Pid
	if pid <= 0 {
		t.Fatalf("container %s has no pid", id)
	}
	return pid
}

func (c *criEngine) Exec(_ *testing.T, id string, tty bool, cmd ...string) cmdResult {
	if tty {
		args := append([]string{c.crictl, "--config", filepath.Join(c.dir, "crictl.yaml"), "exec", "-it", id}, cmd...)
		return runCmd(clientTimeout, "", "script", "-qec", shellQuote(args), "/dev/null")
	}
	res := c.cmd(append([]string{"exec", id}, cmd...)...)
	// crictl exits 1 and names the process's status in its message.
	if _, code, ok := strings.Cut(res.Out, "command terminated with exit code "); ok {
		if n, err := strconv.Atoi(strings.TrimRight(strings.Fields(code)[0], `"\`)); err == nil {
			res.Code = n
		}
	}
	return res
}

func (c *criEngine) Logs(_ *testing.T, id string) string { return c.cmd("logs", id).Out }

func (c *criEngine) Pause(*testing.T, string)        { notApplicable() }
func (c *criEngine) Unpause(*testing.T, string)      { notApplicable() }
func (c *criEngine) Kill(*testing.T, string, string) { notApplicable() }
func (c *criEngine) Restart(*testing.T, string)      { notApplicable() }
func (c *criEngine) Top(*testing.T, string) string   { notApplicable(); return "" }
func (c *criEngine) Stop(t *testing.T, id string)    { c.must(t, "stop", "--timeout", "2", id) }
func (c *criEngine) Remove(t *testing.T, id string)  { c.must(t, "rm", "-f", id) }

func (c *criEngine) UpdateMemory(t *testing.T, id string, bytes int64) {
	c.must(t, "update", "--memory", strconv.FormatInt(bytes, 10), id)
}

// Stats: CRI reports no limit or pid count, only usage; N/A for the
// limit-and-pids comparison.
func (c *criEngine) Stats(*testing.T, string) (int64, int64) {
	notApplicable()
	return 0, 0
}

func (c *criEngine) OOMKilled(t *testing.T, o runOpts) bool {
	id := c.create(t, o)
	defer c.cmd("rm", "-f", id)
	c.must(t, "start", id)
	st := c.waitExited(t, id)
	t.Logf("exit %d reason %q", st.Status.ExitCode, st.Status.Reason)
	return st.Status.Reason == "OOMKilled"
}

// concurrency starts 20 containers at once in one pod, as a node does
// after a restart, stops and removes them all, and checks that nothing is
// left: no process, no cgroup, no mount, no runtime state.
// Each container has a pid namespace of its own, the kubelet's default.
// In a pod that shares one, containerd 1.6's shim (one per pod) runs
// `kill --all` inside its loop over child exits, once per container; 20
// exits at once then overflow the reaper's subscriber queue, and the shim
// spends a second per exit for minutes: runc slowed by a shell wrapper
// fails this check the same way there, so that would measure the shim.
func (c *criEngine) concurrency(t *testing.T) {
	check(t, c, "concurrency-20", func(t *testing.T) {
		c.startPod(t)
		defer c.removePod(t)
		mountsBefore := mountsUnder(t, workDir)
		stateBefore := countEntries(filepath.Join(c.dir, "runtime-root-cri", "k8s.io"))
		const n = 20
		ids := make([]string, n)
		pids := make([]int, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				name := fmt.Sprintf("par-%d-%d", os.Getpid(), containerSeq.Add(1))
				data, _ := json.Marshal(map[string]any{"metadata": map[string]any{"name": name},
					"image": map[string]any{"image": imageBusybox}, "command": sh(sleeper), "log_path": name + ".log",
					"linux": map[string]any{"security_context": map[string]any{
						"namespace_options": map[string]any{"network": 2, "pid": 1}}}})
				path := filepath.Join(c.dir, "cri-configs", name+".json")
				if err := os.WriteFile(path, data, 0o644); err != nil {
					errs <- err
					return
				}
				res := c.cmd("create", c.podID, path, c.podConfig)
				if res.Err != nil {
					errs <- fmt.Errorf("crictl create: %v: %s", res.Err, res.Out)
					return
				}
				id := strings.TrimSpace(res.Out)
				if res := c.cmd("start", id); res.Err != nil {
					errs <- fmt.Errorf("crictl start: %v: %s", res.Err, res.Out)
				}
				ids[i] = id
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for i, id := range ids {
			if id != "" {
				pids[i] = c.Pid(t, id)
			}
		}
		var stopWG sync.WaitGroup
		for _, id := range ids {
			if id == "" {
				continue
			}
			stopWG.Add(1)
			go func(id string) {
				defer stopWG.Done()
				if res := c.cmd("stop", "--timeout", "2", id); res.Err != nil {
					t.Errorf("stop %s: %v %s", id, res.Err, res.Out)
				}
				if res := c.cmd("rm", id); res.Err != nil {
					t.Errorf("rm %s: %v %s", id, res.Err, res.Out)
				}
			}(id)
		}
		stopWG.Wait()
		for _, pid := range pids {
			if pid != 0 && pidAlive(pid) {
				t.Errorf("pid %d still runs after stop and rm", pid)
			}
		}
		if after := mountsUnder(t, workDir); after != mountsBefore {
			t.Errorf("%d mounts under the engine's directories after, %d before", after, mountsBefore)
		}
		if after := countEntries(filepath.Join(c.dir, "runtime-root-cri", "k8s.io")); after != stateBefore {
			t.Errorf("%d runtime state entries after, %d before", after, stateBefore)
		}
	})
}

func countEntries(dir string) int {
	entries, _ := os.ReadDir(dir)
	return len(entries)
}
