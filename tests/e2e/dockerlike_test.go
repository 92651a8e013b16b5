//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// dockerLike drives Docker's and Podman's command lines, which agree on
// nearly every flag; the differences are fields of the struct.
type dockerLike struct {
	name     string
	bin      string
	global   []string // flags before the command: socket, private roots, runtime
	runFlags []string // flags every run/create gets
	rmFlags  []string // rm -f without waiting out a stop timeout
}

var containerSeq atomic.Int64

func (d *dockerLike) Name() string { return d.name }

func (d *dockerLike) cmd(timeout time.Duration, args ...string) cmdResult {
	return runCmd(timeout, "", d.bin, append(append([]string{}, d.global...), args...)...)
}

func (d *dockerLike) must(t *testing.T, args ...string) string {
	t.Helper()
	res := d.cmd(clientTimeout, args...)
	if res.Err != nil {
		t.Fatalf("%s %s: %v\n%s", d.name, strings.Join(args, " "), res.Err, res.Out)
	}
	return strings.TrimSpace(res.Out)
}

func (d *dockerLike) runArgs(o runOpts) []string {
	args := append([]string{}, d.runFlags...)
	if o.tty {
		args = append(args, "-t")
	}
	if o.memory != 0 {
		args = append(args, "--memory", strconv.FormatInt(o.memory, 10), "--memory-swap", strconv.FormatInt(o.memory, 10))
	}
	if o.cpuQuota != 0 {
		args = append(args, "--cpu-quota", strconv.FormatInt(o.cpuQuota, 10), "--cpu-period", "100000")
	}
	if o.cpuShares != 0 {
		args = append(args, "--cpu-shares", strconv.FormatInt(o.cpuShares, 10))
	}
	if o.pids != 0 {
		args = append(args, "--pids-limit", strconv.FormatInt(o.pids, 10))
	}
	if o.readOnly {
		args = append(args, "--read-only")
	}
	for _, c := range o.capAdd {
		args = append(args, "--cap-add", c)
	}
	for _, c := range o.capDrop {
		args = append(args, "--cap-drop", c)
	}
	if o.user != "" {
		args = append(args, "--user", o.user)
	}
	if o.device != "" {
		args = append(args, "--device", o.device)
	}
	if o.sharedVolume != "" {
		args = append(args, "--volume", o.sharedVolume+":/vol:rshared")
	}
	return append(append(args, imageBusybox), o.cmd...)
}

func (d *dockerLike) Run(_ *testing.T, o runOpts) cmdResult {
	args := append([]string{"run", "--rm"}, d.runArgs(o)...)
	if o.tty {
		// The client wants a terminal of its own for -t.
		return runCmd(clientTimeout, "", "script", "-qec", shellQuote(append([]string{d.bin}, append(d.global, args...)...)), "/dev/null")
	}
	return d.cmd(clientTimeout, args...)
}

func (d *dockerLike) Start(t *testing.T, o runOpts) string {
	name := fmt.Sprintf("e2e-%d", containerSeq.Add(1))
	d.must(t, append([]string{"run", "-d", "--name", name}, d.runArgs(o)...)...)
	return name
}

func (d *dockerLike) Pid(t *testing.T, id string) int {
	t.Helper()
	var pid int
	waitUntil(t, 20*time.Second, id+" running", func() bool {
		out := d.cmd(clientTimeout, "inspect", "--format", "{{.State.Pid}}", id).Out
		pid, _ = strconv.Atoi(strings.TrimSpace(out))
		return pid > 0
	})
	return pid
}

func (d *dockerLike) Exec(_ *testing.T, id string, tty bool, cmd ...string) cmdResult {
	args := append([]string{"exec"}, id)
	if tty {
		args = append([]string{"exec", "-t", id}, cmd...)
		return runCmd(clientTimeout, "", "script", "-qec", shellQuote(append([]string{d.bin}, append(d.global, args...)...)), "/dev/null")
	}
	return d.cmd(clientTimeout, append(args, cmd...)...)
}

func (d *dockerLike) Logs(_ *testing.T, id string) string {
	return d.cmd(clientTimeout, "logs", id).Out
}

func (d *dockerLike) Pause(t *testing.T, id string)   { d.must(t, "pause", id) }
func (d *dockerLike) Unpause(t *testing.T, id string) { d.must(t, "unpause", id) }
func (d *dockerLike) Kill(t *testing.T, id, sig string) {
	d.must(t, "kill", "--signal", sig, id)
}
func (d *dockerLike) Stop(t *testing.T, id string)    { d.must(t, "stop", "-t", "2", id) }
func (d *dockerLike) Restart(t *testing.T, id string) { d.must(t, "restart", "-t", "2", id) }
func (d *dockerLike) Remove(t *testing.T, id string) {
	d.must(t, append(append([]string{"rm"}, d.rmFlags...), id)...)
}

func (d *dockerLike) UpdateMemory(t *testing.T, id string, bytes int64) {
	n := strconv.FormatInt(bytes, 10)
	d.must(t, "update", "--memory", n, "--memory-swap", n, id)
}

func (d *dockerLike) Stats(t *testing.T, id string) (int64, int64) {
	t.Helper()
	out := d.must(t, "stats", "--no-stream", "--format", "{{json .}}", id)
	// Docker prints one object a line; Podman 4.3 a JSON array, with its
	// own key names.
	var s map[string]any
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err == nil && len(list) > 0 {
		s = list[0]
	} else if err := json.Unmarshal([]byte(strings.Split(out, "\n")[0]), &s); err != nil {
		t.Fatalf("stats %q: %v", out, err)
	}
	usage := fmt.Sprint(firstOf(s, "MemUsage", "mem_usage"))
	_, limitText, _ := strings.Cut(usage, "/")
	pids, _ := strconv.ParseInt(fmt.Sprint(firstOf(s, "PIDs", "pids")), 10, 64)
	return parseSize(t, strings.TrimSpace(limitText)), pids
}

func firstOf(m map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return nil
}

func (d *dockerLike) Top(t *testing.T, id string) string {
	if d.name == "podman" {
		// Podman's default top reads /proc inside the container; "hpid"
		// asks for the host pids, like docker top shows.
		return d.must(t, "top", id, "hpid", "args")
	}
	return d.must(t, "top", id)
}

func (d *dockerLike) OOMKilled(t *testing.T, o runOpts) bool {
	t.Helper()
	name := fmt.Sprintf("e2e-oom-%d", containerSeq.Add(1))
	res := d.cmd(clientTimeout, append([]string{"run", "--name", name}, d.runArgs(o)...)...)
	defer d.cmd(clientTimeout, "rm", "-f", name)
	out := d.must(t, "inspect", "--format", "{{.State.OOMKilled}} {{.State.ExitCode}}", name)
	t.Logf("run: exit %d; inspect: %s", res.Code, out)
	return strings.HasPrefix(out, "true")
}

// parseSize reads the human sizes both clients print (48MiB, 50.33MB):
// rounded, so callers compare with a tolerance.
func parseSize(t *testing.T, s string) int64 {
	t.Helper()
	units := []struct {
		suffix string
		factor float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"kB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil {
				t.Fatalf("size %q: %v", s, err)
			}
			bytes := int64(v * u.factor)
			return bytes
		}
	}
	t.Fatalf("size %q: unknown unit", s)
	return 0
}

func shellQuote(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}
