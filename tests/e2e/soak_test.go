//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// probesPerPod is how many one-second exec probes each pod of the soak
// gets before it is torn down: enough that the exec path dominates, few
// enough that a five-minute run goes through some twenty pods.
const probesPerPod = 10

// soakSleeper keeps the number of processes in the container constant (the
// suite's usual sleeper forks a sleep every second, which the process
// count would catch mid-way) and ends on the SIGTERM of stop.
const soakSleeper = `trap "exit 0" TERM; sleep 1000000 & wait`

// soakDuration is E2E_SOAK (a Go duration; the Makefile's SOAK, 5m by
// default), how long the kubelet-style loop runs.
func soakDuration(t *testing.T) time.Duration {
	value := os.Getenv("E2E_SOAK")
	if value == "" {
		return 5 * time.Minute
	}
	d, err := time.ParseDuration(value)
	if err != nil || d <= 0 {
		t.Fatalf("E2E_SOAK=%q: want a positive duration such as 5m", value)
	}
	return d
}

// soak does what a kubelet does to a node for the configured time: a pod
// sandbox, a container started in it, an exec probe every second
// (ExecSync, `crictl exec --sync`), then stop and remove the container and
// the sandbox, and again. A long-lived pod runs beside them all the time,
// probed every second as well, so that its shim's fds show what each exec
// through a running shim leaves behind. Every call must succeed, and
// afterwards the node must hold exactly what it held before: the fds of
// containerd and the shims and their number, the processes in the CRI
// cgroup parent, the mounts below the suite's directory, the cgroups below
// that parent in every hierarchy, and the entries of the runtime's --root
// and of containerd's per-pod and per-container state.
func (c *criEngine) soak(t *testing.T) {
	check(t, c, "kubelet-soak", func(t *testing.T) {
		duration := soakDuration(t)
		steady := c.startSoakPod(t, "soak-steady")
		defer steady.remove(t, c)
		// One cycle first: what the first pods create once and keep for
		// the next ones (the sandbox image's unpacked snapshot, the exec
		// I/O machinery containerd starts on first use) is not a leak.
		c.soakCycle(t, "soak-warmup", 1, steady.container)
		before := c.nodeCounts(t)
		t.Logf("before: %s", before)
		cycles := 0
		for deadline := time.Now().Add(duration); time.Now().Before(deadline); cycles++ {
			c.soakCycle(t, fmt.Sprintf("soak-%d", cycles), probesPerPod, steady.container)
		}
		// The last shim exits and containerd closes its connection to it
		// after rmp has returned; give that a moment before comparing.
		var after nodeCounts
		deadline := time.Now().Add(30 * time.Second)
		for {
			after = c.nodeCounts(t)
			if before.diff(after) == "" || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Second)
		}
		t.Logf("after %d pods and %d probes in %s: %s", cycles, 2*cycles*probesPerPod, duration, after)
		if diff := before.diff(after); diff != "" {
			t.Errorf("the node holds more or less after the soak than before:\n%s", diff)
		}
	})
}

// soakPod is a sandbox with one container that sleeps.
type soakPod struct{ sandbox, container string }

func (c *criEngine) startSoakPod(t *testing.T, name string) soakPod {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(c.dir, "pod-logs", name), 0o755); err != nil {
		t.Fatal(err)
	}
	podConfig := c.writeJSON(t, name+"-pod.json", c.podSpec(name))
	var p soakPod
	p.sandbox = c.must(t, "runp", podConfig)
	ctrConfig := c.writeJSON(t, name+"-app.json", c.containerSpec("app", runOpts{cmd: sh(soakSleeper)}))
	res := c.cmd("create", p.sandbox, ctrConfig, podConfig)
	if res.Err == nil {
		p.container = strings.TrimSpace(res.Out)
		res = c.cmd("start", p.container)
	}
	if res.Err != nil {
		p.remove(t, c)
		t.Fatalf("pod %s: %v\n%s", name, res.Err, res.Out)
	}
	return p
}

func (p soakPod) remove(t *testing.T, c *criEngine) {
	t.Helper()
	if p.container != "" {
		c.must(t, "stop", "--timeout", "2", p.container)
		c.must(t, "rm", p.container)
	}
	c.must(t, "stopp", p.sandbox)
	c.must(t, "rmp", p.sandbox)
}

// soakCycle runs one pod through its life: probes exec probes a second
// apart into its container and into the long-lived one beside it.
func (c *criEngine) soakCycle(t *testing.T, name string, probes int, steady string) {
	t.Helper()
	pod := c.startSoakPod(t, name)
	defer pod.remove(t, c)
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for i := 0; i < probes; i++ {
		<-ticker.C
		for _, id := range []string{pod.container, steady} {
			if res := c.cmd("exec", "--sync", "--timeout", "10", id, "/bin/true"); res.Err != nil {
				t.Fatalf("probe %d of pod %s into %s: %v\n%s", i, name, id, res.Err, res.Out)
			}
		}
	}
}

// nodeCounts is what the soak compares, by name.
type nodeCounts map[string]int

func (n nodeCounts) String() string {
	var names []string
	for name := range n {
		names = append(names, name)
	}
	sort.Strings(names)
	var parts []string
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s=%d", name, n[name]))
	}
	return strings.Join(parts, " ")
}

// diff lists what the node holds more or less of after than before. The
// one exception is containerd's own fds going down: the daemon closes
// connections of its own (to a shim gone before the count, an idle
// stream) on its own schedule, so a "before" can hold one that "after"
// no longer does; a leak only ever adds.
func (n nodeCounts) diff(after nodeCounts) string {
	var b strings.Builder
	for name, v := range n {
		if name == "fds:containerd" && after[name] < v {
			continue
		}
		if after[name] != v {
			fmt.Fprintf(&b, "  %s: %d before, %d after\n", name, v, after[name])
		}
	}
	for name, v := range after {
		if _, ok := n[name]; !ok {
			fmt.Fprintf(&b, "  %s: none before, %d after\n", name, v)
		}
	}
	return b.String()
}

func (c *criEngine) nodeCounts(t *testing.T) nodeCounts {
	t.Helper()
	counts := nodeCounts{}
	// containerd and its shims are the processes that name the engine's
	// directory (its config, their socket address). crictl would too, but
	// none runs while the soak counts.
	for _, pid := range processesUsing(c.dir) {
		comm := strings.TrimSpace(readFileString(t, fmt.Sprintf("/proc/%d/comm", pid)))
		counts["processes:"+comm]++
		counts["fds:"+comm] += countEntries(fmt.Sprintf("/proc/%d/fd", pid))
	}
	// Each process is listed once per hierarchy.
	inParent := map[int]bool{}
	for _, pid := range processesInCgroups([]string{c.parent}) {
		inParent[pid] = true
	}
	counts["processes:in-cgroup-parent"] = len(inParent)
	counts["mounts"] = mountsUnder(t, workDir)
	// Every v1 hierarchy and the unified one; cpu and cpuacct are links
	// to a joint hierarchy counted once under its own name.
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, root := range roots {
		if fi, err := os.Lstat(root); err != nil || !fi.IsDir() {
			continue
		}
		counts["cgroups:"+filepath.Base(root)] = countDirs(filepath.Join(root, c.parent))
	}
	for _, dir := range []string{
		"runtime-root-cri/k8s.io", // the runtime's --root
		"state/io.containerd.runtime.v2.task/k8s.io",
		"root/io.containerd.grpc.v1.cri/sandboxes",
		"root/io.containerd.grpc.v1.cri/containers",
		"state/io.containerd.grpc.v1.cri/sandboxes",
		"state/io.containerd.grpc.v1.cri/containers",
	} {
		counts["entries:"+dir] = countEntries(filepath.Join(c.dir, dir))
	}
	return counts
}

// countDirs counts dir and the directories below it, 0 when it is absent.
func countDirs(dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(_ string, de os.DirEntry, err error) error {
		if err == nil && de.IsDir() {
			n++
		}
		return nil
	})
	return n
}
