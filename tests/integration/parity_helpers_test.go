package integration

// The parity tests (parity_<area>_test.go) drive oci-rt and runc 1.1.5 the
// same way and compare what a user or client sees: stdout, exit status,
// the error words, and the relevant /proc state of the container's
// process. runc is the oracle, except where the runtime spec overrides it;
// those exceptions are listed in parityExceptions, with the spec's words.

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// runcRuntime is runc with a private --root, or a skip when runc is not
// installed (CI installs it; the skip says why no comparison ran).
func runcRuntime(t testing.TB) *Runtime {
	t.Helper()
	bin, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc is not installed: nothing to compare oci-rt with")
	}
	r := newRuntime(t)
	r.Bin = bin
	return r
}

// compareRuntimes runs observe once with runc and once with oci-rt, each on
// its own --root, and fails when the observations differ. observe reduces
// what the case shows to the parts both must agree on.
func compareRuntimes(t *testing.T, observe func(t *testing.T, r *Runtime) string) {
	t.Helper()
	want := observe(t, runcRuntime(t))
	got := observe(t, newRuntime(t))
	if got != want {
		t.Errorf("oci-rt differs from runc:\n oci-rt: %q\n runc:   %q", got, want)
	}
}

// logRecord is a line of runc's log (logrus) in either format.
type logRecord struct {
	Level, Msg, Time string
}

var textRecord = regexp.MustCompile(`^time="([^"]*)" level=([a-z]+) msg=("(?:[^"\\]|\\.)*"|\S*)`)

// parseLogLine reads a logrus line, text or JSON; ok is false for
// anything else.
func parseLogLine(line string) (rec logRecord, ok bool) {
	if strings.HasPrefix(line, "{") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			return rec, false
		}
		level, _ := m["level"].(string)
		msg, _ := m["msg"].(string)
		tm, _ := m["time"].(string)
		return logRecord{level, msg, tm}, level != "" && tm != ""
	}
	sub := textRecord.FindStringSubmatch(line)
	if sub == nil {
		return rec, false
	}
	rec = logRecord{Level: sub[2], Time: sub[1], Msg: sub[3]}
	if strings.HasPrefix(sub[3], `"`) {
		_, _ = fmt.Sscanf(sub[3], "%q", &rec.Msg)
	}
	return rec, true
}

// errorMessage is the error a command reported on stderr: the msg of its
// last error record, or the plain text.
func errorMessage(stderr string) string {
	msg := strings.TrimSpace(stderr)
	for _, line := range strings.Split(msg, "\n") {
		if rec, ok := parseLogLine(line); ok && rec.Level == "error" {
			msg = strings.TrimSpace(rec.Msg)
		}
	}
	return msg
}
