package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/tests/seccompprofile"
)

// TestExecUnderDockerProfile: exec works in a container under Docker's
// default profile, with the Docker capabilities (no CAP_SYS_ADMIN), with
// and without no_new_privs. Without it the exec init installs the filter
// while it still may and then starts the process under it (clone, the
// closing of its fds, setsid, execve must all pass the profile); with it
// the process installs the filter itself. Either way the exec'd process
// ends up with exactly the init's filter.
func TestExecUnderDockerProfile(t *testing.T) {
	prof, err := seccompprofile.DockerDefault()
	if err != nil {
		t.Fatal(err)
	}
	for _, nnp := range []bool{false, true} {
		t.Run(fmt.Sprintf("noNewPrivileges=%v", nnp), func(t *testing.T) {
			r := newRuntime(t)
			c := r.Create(newBundle(t, withSeccomp(prof), withArgs("sleep", "1000"), func(s *specs.Spec) {
				caps := s.Process.Capabilities
				caps.Bounding, caps.Effective, caps.Permitted = seccompprofile.DefaultCaps, seccompprofile.DefaultCaps, seccompprofile.DefaultCaps
				s.Process.NoNewPrivileges = nnp
			}))
			r.Must("start", c.ID)
			res := r.Run("exec", c.ID, "sh", "-c", grepStatus("Seccomp", "Seccomp_filters", "NoNewPrivs"))
			if res.Code != 0 {
				t.Fatalf("exec: %s", res)
			}
			got := statusMap(res.Stdout)
			init := statusMap(readFile(t, fmt.Sprintf("/proc/%d/status", c.Pid)))
			for _, key := range []string{"Seccomp", "Seccomp_filters", "NoNewPrivs"} {
				if got[key] == "" || got[key] != init[key] {
					t.Errorf("%s: exec'd %q, init %q", key, got[key], init[key])
				}
			}
		})
	}
}

// TestExecInstallsFilterCompiledAtCreate: create records the seccomp
// filter it compiled, and exec installs that program instead of compiling
// the profile again; only where there is no record it can trust (writable
// by others, damaged, missing) does exec compile the recorded profile.
// After create the recorded config is given another profile, which makes
// getppid fail with another errno, so that the exec'd process's answer
// tells which of the two it runs under.
func TestExecInstallsFilterCompiledAtCreate(t *testing.T) {
	profile := func(errno unix.Errno) *specs.LinuxSeccomp {
		ret := uint(errno)
		return &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"getppid"}, Action: specs.ActErrno, ErrnoRet: &ret}},
		}
	}
	r := newRuntime(t)
	bundle := newBundle(t, withSeccomp(profile(unix.EXDEV)), withArgs("sleep", "1000"))
	withSysprobe(t, bundle)
	c := r.Create(bundle)
	r.Must("start", c.ID)

	stateDir := filepath.Join(r.Root, c.ID)
	filterPath := filepath.Join(stateDir, "seccomp.bpf")
	recorded, err := os.ReadFile(filterPath)
	if err != nil {
		t.Fatalf("create recorded no filter: %v", err)
	}
	configPath := filepath.Join(stateDir, "config.json")
	var spec specs.Spec
	if err := json.Unmarshal([]byte(readFile(t, configPath)), &spec); err != nil {
		t.Fatal(err)
	}
	spec.Linux.Seccomp = profile(unix.EMLINK)
	edited, err := json.Marshal(&spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(configPath, edited, 0o600); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		record  string
		prepare func() error
		errno   unix.Errno
	}{
		{"as create wrote it", func() error { return nil }, unix.EXDEV},
		{"writable by others", func() error { return os.Chmod(filterPath, 0o666) }, unix.EMLINK},
		{"restored", func() error { return os.Chmod(filterPath, 0o600) }, unix.EXDEV},
		{"cut short", func() error { return os.WriteFile(filterPath, recorded[:len(recorded)-5], 0o600) }, unix.EMLINK},
		{"missing", func() error { return os.Remove(filterPath) }, unix.EMLINK},
	}
	for _, step := range steps {
		if err := step.prepare(); err != nil {
			t.Fatal(err)
		}
		res := r.Run("exec", c.ID, "/sysprobe", fmt.Sprint(unix.SYS_GETPPID))
		want := fmt.Sprintf("ret=-1 errno=%d", step.errno)
		if res.Code != 0 || strings.TrimSpace(res.Stdout) != want {
			t.Errorf("record %s: want %q, got %s", step.record, want, res)
		}
	}
}
