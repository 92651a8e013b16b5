package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// printEnv prints the process's environment, one variable a line, sorted.
var printEnv = []string{"/bin/sh", "-c", "env | sort"}

// TestParityProcessEnv: the process gets exactly the config's env, later
// duplicates winning, and HOME from the container's /etc/passwd when the
// env leaves it unset or empty; no PATH is added.
func TestParityProcessEnv(t *testing.T) {
	for name, env := range map[string][]string{
		"empty HOME":           {"HOME=", "A=1"},
		"no HOME, no PATH":     {"A=1"},
		"HOME set":             {"HOME=/x", "PATH=/bin"},
		"duplicates":           {"A=1", "B=2", "A=3", "HOME=/x", "HOME="},
		"empty HOME with PATH": {"PATH=/usr/bin:/bin", "HOME="},
	} {
		t.Run(name, func(t *testing.T) {
			compareRuntimes(t, func(t *testing.T, r *Runtime) string {
				bundle := newBundle(t, withArgs(printEnv...), func(s *specs.Spec) { s.Process.Env = env })
				c := r.Create(bundle)
				r.Must("start", c.ID)
				ws := c.Wait(t, 10e9)
				return fmt.Sprintf("exit %d, env %q", ws.ExitStatus(), c.ReadOutput(t))
			})
		})
	}
}

// TestParityExecEnv: `exec -p process.json` runs with exactly the file's
// env (HOME completed as for the init); `exec` without it takes the
// container's env plus --env.
func TestParityExecEnv(t *testing.T) {
	compareRuntimes(t, func(t *testing.T, r *Runtime) string {
		c := runningContainer(t, r, func(s *specs.Spec) { s.Process.Env = []string{"PATH=/bin", "FROM_CONFIG=1"} })
		proc := specs.Process{Args: printEnv, Cwd: "/", Env: []string{"A=1", "HOME="}}
		data, err := json.Marshal(proc)
		noErr(t, err)
		path := filepath.Join(t.TempDir(), "process.json")
		noErr(t, os.WriteFile(path, data, 0o644))
		fromFile := r.Run("exec", "-p", path, c.ID)
		fromArgs := r.Run("exec", "--env", "B=2", "--env", "HOME=", c.ID, printEnv[0], printEnv[1], printEnv[2])
		return fmt.Sprintf("-p: exit %d %q; args: exit %d %q", fromFile.Code, fromFile.Stdout, fromArgs.Code, fromArgs.Stdout)
	})
}

// TestParityHookEnv: each hook runs with exactly its own env from the
// config. One without env gets the runtime's own env when it runs on the
// host, the container process's env when it runs in the container
// (createContainer, startContainer). The host's hooks run in the bundle
// directory.
func TestParityHookEnv(t *testing.T) {
	compareRuntimes(t, func(t *testing.T, r *Runtime) string {
		logDir := t.TempDir()
		hostHook := func(kind string, env []string) specs.Hook {
			return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "env | sort > " + filepath.Join(logDir, kind)}, Env: env}
		}
		bundle := newBundle(t, withArgs("/bin/sh", "-c", "cat /hooklog/startContainer"), func(s *specs.Spec) {
			s.Process.Env = []string{"PATH=/bin", "FROM_CONFIG=1", "FROM_CONFIG=2"}
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/hooklog", Type: "bind", Source: logDir, Options: []string{"rbind", "rw"}})
			s.Hooks = &specs.Hooks{
				Prestart:        []specs.Hook{hostHook("prestart", []string{"HOOK=prestart"})}, //nolint:staticcheck // still used by clients
				CreateRuntime:   []specs.Hook{hostHook("createRuntime", nil)},
				CreateContainer: []specs.Hook{hostHook("createContainer", nil)},
				StartContainer: []specs.Hook{
					{Path: "/bin/sh", Args: []string{"sh", "-c", "env | sort > /hooklog/startContainer"}, Env: []string{"HOOK=startContainer", "PATH=/bin"}},
					{Path: "/bin/sh", Args: []string{"sh", "-c", "env | sort > /hooklog/startContainer-noenv"}},
				},
				Poststart: []specs.Hook{hostHook("poststart", []string{"HOOK=poststart"})},
			}
		})
		c := r.Create(bundle)
		r.Must("start", c.ID)
		c.Wait(t, 10e9)
		var out []string
		for _, kind := range []string{"prestart", "createRuntime", "createContainer", "startContainer", "startContainer-noenv", "poststart"} {
			data, err := os.ReadFile(filepath.Join(logDir, kind))
			data = []byte(strings.ReplaceAll(string(data), bundle, "BUNDLE"))
			out = append(out, fmt.Sprintf("%s: %q %v", kind, data, err == nil))
		}
		return strings.Join(out, "; ")
	})
}

// TestParityExecCap: `exec --cap` adds to the bounding, effective,
// permitted and ambient sets, never to the inheritable one; the ambient
// capability takes effect when the config makes it inheritable, for root
// and for another user.
func TestParityExecCap(t *testing.T) {
	compareRuntimes(t, func(t *testing.T, r *Runtime) string {
		c := runningContainer(t, r, func(s *specs.Spec) {
			s.Process.Capabilities.Inheritable = []string{"CAP_KILL"}
			s.Process.Capabilities.Ambient = nil
		})
		var out []string
		for _, user := range []string{"0:0", "1000:1000"} {
			for _, capability := range []string{"CAP_NET_ADMIN", "CAP_KILL"} {
				res := r.Run("exec", "--user", user, "--cap", capability, c.ID, "sh", "-c", grepStatus("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"))
				out = append(out, fmt.Sprintf("%s %s: exit %d %q", user, capability, res.Code, res.Stdout))
			}
		}
		return strings.Join(out, "; ")
	})
}
