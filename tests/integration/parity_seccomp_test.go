package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestParityNotifyWithoutListener: SCMP_ACT_NOTIFY with no listenerPath
// has no agent to answer: create refuses it, in runc's words, and leaves
// no container behind.
func TestParityNotifyWithoutListener(t *testing.T) {
	compareRuntimes(t, func(t *testing.T, r *Runtime) string {
		bundle := newBundle(t, withArgs("true"), func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}},
			}
		})
		res := r.Run("create", "--bundle", bundle, newID(t))
		return fmt.Sprintf("exit %d, says listenerPath is not set %v, containers left %q",
			res.Code, strings.Contains(res.Stderr, "listenerPath is not set"), r.Must("list", "-q"))
	})
}

// TestParityStartContainerHookSeccomp: the startContainer hook runs with
// the container's seccomp filter in place, with and without
// no_new_privs: a hook blocked from mkdir fails, one allowed reports the
// filter in /proc/self/status.
func TestParityStartContainerHookSeccomp(t *testing.T) {
	for _, nnp := range []bool{false, true} {
		t.Run(fmt.Sprintf("noNewPrivileges=%v", nnp), func(t *testing.T) {
			compareRuntimes(t, func(t *testing.T, r *Runtime) string {
				logDir := t.TempDir()
				bundle := newBundle(t, withArgs("true"), withMkdirDenied, func(s *specs.Spec) {
					s.Process.NoNewPrivileges = nnp
					s.Mounts = append(s.Mounts, specs.Mount{Destination: "/hooklog", Type: "bind", Source: logDir, Options: []string{"rbind", "rw"}})
					s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{
						Path: "/bin/sh",
						Args: []string{"sh", "-c", "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status > /hooklog/status; mkdir /hooklog/made 2>/hooklog/mkdir; true"},
					}}}
				})
				c := r.Create(bundle)
				start := r.Run("start", c.ID)
				c.Wait(t, 10e9)
				status, _ := os.ReadFile(filepath.Join(logDir, "status"))
				_, madeErr := os.Stat(filepath.Join(logDir, "made"))
				return fmt.Sprintf("start exit %d; hook saw %q; mkdir blocked %v", start.Code, status, os.IsNotExist(madeErr))
			})
		})
	}
}
