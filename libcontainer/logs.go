package libcontainer

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// Logger writes log records in the shape runc's (logrus's) have, which
// containerd, CRI-O and Podman parse: one JSON object a line,
// {"level":…,"msg":…,"time":…}, or logrus's text line
// time="…" level=… msg=…; on a terminal, logrus's coloured short form.
type Logger struct {
	// Out receives the records; nil drops them.
	Out  *os.File
	JSON bool
	// Debug lets debug records through; without it they are dropped.
	Debug bool
	// Color writes text records as logrus does on a terminal.
	Color bool
}

// Log is where the runtime's warnings and debug records go: the CLI sets
// it from --log, --log-format and --debug, the init from its config (a
// record the init writes without one is dropped: its stderr is the
// container's).
var Log = &Logger{}

// started is what the coloured form counts its seconds from, as logrus
// counts from its start.
var started = time.Now()

// Record writes one record at level (debug, info, warning, error).
func (l *Logger) Record(level, msg string) {
	if l.Out == nil || (level == "debug" && !l.Debug) {
		return
	}
	_, _ = l.Out.Write(l.format(level, msg, time.Now()))
}

// Debugf writes a debug record, formatted only when debug records go
// through.
func (l *Logger) Debugf(format string, args ...any) {
	if l.Debug {
		l.Record("debug", fmt.Sprintf(format, args...))
	}
}

func (l *Logger) format(level, msg string, now time.Time) []byte {
	stamp := now.Format(time.RFC3339)
	switch {
	case l.JSON:
		line, _ := json.Marshal(map[string]string{"level": level, "msg": msg, "time": stamp})
		return append(line, '\n')
	case l.Color:
		color, short := levelLook(level)
		return fmt.Appendf(nil, "\x1b[%dm%s\x1b[0m[%04d] %-44s \n", color, short, int(now.Sub(started)/time.Second), msg)
	}
	return fmt.Appendf(nil, "time=%s level=%s msg=%s\n", quoteIfNeeded(stamp), level, quoteIfNeeded(msg))
}

// levelLook is logrus's colour and four-letter name of a level.
func levelLook(level string) (int, string) {
	switch level {
	case "debug":
		return 37, "DEBU"
	case "warning":
		return 33, "WARN"
	case "error":
		return 31, "ERRO"
	}
	return 36, strings.ToUpper(level[:min(4, len(level))])
}

// quoteIfNeeded quotes a text value unless it consists only of the
// characters logrus leaves bare, so that parsers of runc's text logs read
// ours the same.
func quoteIfNeeded(s string) string {
	for _, c := range s {
		bare := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.ContainsRune("-._/@^+", c)
		if !bare {
			return fmt.Sprintf("%q", s)
		}
	}
	return s
}

// Warn reports a problem that does not fail the operation, to the log
// (stderr without --log, as runc; clients that parse stderr pass --log).
func Warn(msg string) { Log.Record("warning", msg) }

// createSteps describe create's named points in its debug records.
var createSteps = map[string]string{
	"recorded": "state recorded",
	"cgroup":   "cgroup created, resources applied",
	"spawned":  "container init spawned",
	"ready":    "container init set up",
}

// passLog hands the runtime's log to the init when --debug asks for
// records of what the init does.
func (r *spawnRequest) passLog() {
	if Log.Debug && Log.Out != nil {
		r.config.LogFD = r.addFile(Log.Out)
		r.config.LogJSON = Log.JSON
	}
}

// debugf records a step of the runtime's or the init's work for --debug.
func debugf(format string, args ...any) { Log.Debugf(format, args...) }
