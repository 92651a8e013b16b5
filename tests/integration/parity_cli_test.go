package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// commandsOfBoth are runc's commands that oci-rt has too: all of them.
var commandsOfBoth = []string{"create", "delete", "events", "exec", "kill", "list", "pause", "ps",
	"resume", "run", "spec", "start", "state", "update", "features", "checkpoint", "restore"}

// TestParityHelp: help, --help and -h, for the app and for every command,
// print help on stdout and exit 0; an unknown help topic or command exits
// 3 with urfave/cli's "No help topic" and nothing on stdout.
func TestParityHelp(t *testing.T) {
	cases := [][]string{{"help"}, {"--help"}, {"-h"}, {"help", "UNKNOWN"}, {"UNKNOWN"}}
	for _, cmd := range commandsOfBoth {
		cases = append(cases, []string{"help", cmd}, []string{cmd, "--help"}, []string{cmd, "-h"})
	}
	for _, args := range cases {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			compareRuntimes(t, func(_ *testing.T, r *Runtime) string {
				res := r.Run(args...)
				return fmt.Sprintf("exit %d, help on stdout %v, stdout empty %v, error %q",
					res.Code, strings.HasPrefix(res.Stdout, "NAME:"), res.Stdout == "", errorMessage(res.Stderr))
			})
		})
	}
}

// TestParityWrongArgCount: a wrong number of arguments prints "Incorrect
// Usage." and the command's help on stdout and runc's error words.
func TestParityWrongArgCount(t *testing.T) {
	for _, args := range [][]string{{"state"}, {"state", "a", "b"}, {"kill"}, {"kill", "a", "b", "c"}, {"start"}} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			compareRuntimes(t, func(_ *testing.T, r *Runtime) string {
				res := r.Run(args...)
				msg := errorMessage(res.Stderr)
				msg = strings.TrimPrefix(strings.TrimPrefix(msg, r.Bin+":"), "oci-rt:")
				return fmt.Sprintf("exit %d, usage on stdout %v, error %q",
					res.Code, strings.HasPrefix(res.Stdout, "Incorrect Usage.\n\nNAME:"), msg)
			})
		})
	}
}

// TestParityListJSON: `list --format json` prints one line, `null` when
// there is no container.
func TestParityListJSON(t *testing.T) {
	compareRuntimes(t, func(t *testing.T, r *Runtime) string {
		empty := r.Must("list", "--format", "json")
		c := r.Create(newBundle(t, withArgs("sleep", "1000")))
		one := r.Must("list", "--format", "json")
		lines := strings.Split(strings.TrimSuffix(one, "\n"), "\n")
		return fmt.Sprintf("empty %q, lines with one container %d, has id %v",
			empty, len(lines), strings.Contains(one, `"id":"`+c.ID+`"`))
	})
}

// TestParityKillZero: signal 0 probes whether the init lives: exit 0 while
// it runs, "container not running" once it is gone.
func TestParityKillZero(t *testing.T) {
	compareRuntimes(t, func(t *testing.T, r *Runtime) string {
		c := r.Create(newBundle(t, withArgs("sleep", "1000")))
		created := r.Run("kill", c.ID, "0")
		r.Must("start", c.ID)
		running := r.Run("kill", c.ID, "0")
		r.Must("kill", c.ID, "KILL")
		c.Wait(t, 10*time.Second)
		stopped := r.Run("kill", c.ID, "0")
		return fmt.Sprintf("created: %d %q; running: %d %q; stopped: %d %q",
			created.Code, created.Stderr, running.Code, running.Stderr, stopped.Code, errorMessage(stopped.Stderr))
	})
}

// TestParityExecFailureStatus: an exec that fails before its process runs
// exits 255 with "exec failed: ..."; one that ran exits with its status.
func TestParityExecFailureStatus(t *testing.T) {
	compareRuntimes(t, func(t *testing.T, r *Runtime) string {
		missing := r.Run("exec", "no-such-container", "true")
		c := r.Create(newBundle(t, withArgs("sleep", "1000")))
		r.Must("start", c.ID)
		notFound := r.Run("exec", c.ID, "no-such-command")
		ran := r.Run("exec", c.ID, "sh", "-c", "exit 7")
		return fmt.Sprintf("missing container: %d %v; missing command: %d %v %v; ran: %d %q",
			missing.Code, strings.HasPrefix(errorMessage(missing.Stderr), "exec failed: "),
			notFound.Code, strings.HasPrefix(errorMessage(notFound.Stderr), "exec failed: "),
			strings.Contains(notFound.Stderr, `executable file not found in $PATH`),
			ran.Code, ran.Stderr)
	})
}

// TestParityErrorWords: errors that users and clients match keep runc's
// words.
func TestParityErrorWords(t *testing.T) {
	cases := []struct {
		name, words string
		edit        func(t *testing.T, bundle string)
	}{
		{"seccomp agent unreachable", "failed to connect with seccomp agent specified in the seccomp profile", func(t *testing.T, bundle string) {
			editBundle(t, bundle, func(s *specs.Spec) {
				s.Linux.Seccomp = &specs.LinuxSeccomp{
					DefaultAction: specs.ActAllow,
					ListenerPath:  filepath.Join(t.TempDir(), "no-agent.sock"),
					Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}},
				}
			})
		}},
		{"proc a symlink", "must be mounted on ordinary directory", func(t *testing.T, bundle string) {
			proc := filepath.Join(bundle, "rootfs", "proc")
			must(t, os.RemoveAll(proc))
			must(t, os.Symlink("/tmp", proc))
		}},
		{"proc a file", "must be mounted on ordinary directory", func(t *testing.T, bundle string) {
			proc := filepath.Join(bundle, "rootfs", "proc")
			must(t, os.RemoveAll(proc))
			must(t, os.WriteFile(proc, nil, 0o644))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compareRuntimes(t, func(t *testing.T, r *Runtime) string {
				bundle := newBundle(t, withArgs("true"))
				tc.edit(t, bundle)
				res := r.Run("create", "--bundle", bundle, newID(t))
				return fmt.Sprintf("exit %d, has the words %v", res.Code, strings.Contains(res.Stderr, tc.words))
			})
		})
	}
}
