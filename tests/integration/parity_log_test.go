package integration

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// logShape summarises a log as clients read it: whether every line is a
// record of the format, the JSON keys every record has in common, the
// levels seen, and the message of the last error.
func logShape(t *testing.T, log string, wantJSON bool) string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
	if log == "" {
		lines = nil
	}
	allRecords := true
	levels := map[string]bool{}
	common := map[string]int{}
	lastError := ""
	for _, line := range lines {
		rec, ok := parseLogLine(line)
		if !ok || strings.HasPrefix(line, "{") != wantJSON {
			allRecords = false
			continue
		}
		levels[rec.Level] = true
		if rec.Level == "error" {
			lastError = rec.Msg
		}
		if wantJSON {
			var m map[string]any
			_ = json.Unmarshal([]byte(line), &m)
			for k := range m {
				common[k]++
			}
		}
	}
	var keys, seen []string
	for k, n := range common {
		if n == len(lines) && (k == "level" || k == "msg" || k == "time") {
			keys = append(keys, k)
		}
	}
	for l := range levels {
		seen = append(seen, l)
	}
	sort.Strings(keys)
	sort.Strings(seen)
	return fmt.Sprintf("all records %v, keys %v, levels %v, last error %q", allRecords, keys, seen, lastError)
}

// TestParityErrorOnStderr: without --log, a failure's stderr is one log
// record in the --log-format; with --log, stderr has the plain message and
// the log the record.
func TestParityErrorOnStderr(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			compareRuntimes(t, func(t *testing.T, r *Runtime) string {
				bare := r.Run("--log-format", format, "state", "nope")
				logFile := filepath.Join(t.TempDir(), "log")
				logged := r.Run("--log", logFile, "--log-format", format, "state", "nope")
				return fmt.Sprintf("without --log: exit %d, stderr %s; with --log: exit %d, stderr %q, log %s",
					bare.Code, logShape(t, bare.Stderr, format == "json"),
					logged.Code, logged.Stderr, logShape(t, readFile(t, logFile), format == "json"))
			})
		})
	}
}

// TestParityDebugLog: --debug writes debug records of create, start and
// exec to --log in its format, stderr staying empty; without --log the
// records go to stderr and stdout stays the container's.
func TestParityDebugLog(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			compareRuntimes(t, func(t *testing.T, r *Runtime) string {
				logFile := filepath.Join(t.TempDir(), "log")
				flags := []string{"--debug", "--log", logFile, "--log-format", format}
				run := r.Run(append(flags, "run", "--bundle", newBundle(t, shell("echo out")), newID(t))...)
				c := runningContainer(t, r)
				exec := r.Run(append(flags, "exec", c.ID, "echo", "exec-out")...)
				bare := r.Run("--debug", "--log-format", format, "exec", c.ID, "echo", "bare-out")
				return fmt.Sprintf("run: exit %d, stdout %q, stderr %q; exec: exit %d, stdout %q, stderr %q; log %s; without --log: stdout %q, stderr %s",
					run.Code, run.Stdout, run.Stderr, exec.Code, exec.Stdout, exec.Stderr,
					logShape(t, readFile(t, logFile), format == "json"), bare.Stdout, logShape(t, bare.Stderr, format == "json"))
			})
		})
	}
}

// TestDebugLogSteps: the debug records tell each step of create, start
// and exec, from the runtime and from the container's init, in the log's
// JSON shape. The exec process runs no Go, only the plan the runtime
// logs in full.
func TestDebugLogSteps(t *testing.T) {
	r := newRuntime(t)
	logFile := filepath.Join(t.TempDir(), "log")
	flags := []string{"--debug", "--log", logFile, "--log-format", "json"}
	id := newID(t)
	bundle := newBundle(t, withArgs("sleep", "1000"))
	if res := r.Run(append(flags, "create", "--bundle", bundle, id)...); res.Code != 0 || res.Stderr != "" {
		t.Fatalf("%s", res)
	}
	if res := r.Run(append(flags, "start", id)...); res.Code != 0 || res.Stderr != "" {
		t.Fatalf("%s", res)
	}
	if res := r.Run(append(flags, "exec", id, "true")...); res.Code != 0 || res.Stderr != "" {
		t.Fatalf("%s", res)
	}
	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, logFile)), "\n") {
		var m map[string]string
		if err := json.Unmarshal([]byte(line), &m); err != nil || len(m) != 3 || m["level"] != "debug" || m["time"] == "" {
			t.Errorf("log line %q: want exactly {level: debug, msg, time}", line)
		}
		msgs = append(msgs, m["msg"])
	}
	all := strings.Join(msgs, "\n")
	for _, step := range []string{
		"create " + id + ": state recorded",
		"create " + id + ": cgroup created",
		"create " + id + ": root filesystem set up",
		"create " + id + ": plan of ",
		"; wait for start and execute the process",
		"create " + id + ": created",
		"start " + id + ": releasing init",
		"start " + id + ": the process runs",
		"exec " + id + ": joining the namespaces",
		"exec " + id + ": plan of ",
		"; setresuid 0; ",
		"exec " + id + ": process",
	} {
		if !strings.Contains(all, step) {
			t.Errorf("no debug record of %q in:\n%s", step, all)
		}
	}
}
