package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runContainer is `oci-rt run` of bundle under a fresh ID; the container's
// stdout and stderr are the Result's.
func runContainer(t *testing.T, r *Runtime, bundle string, flags ...string) Result {
	t.Helper()
	args := append(append([]string{"run", "--bundle", bundle}, flags...), newID(t))
	return r.Run(args...)
}

// mustRun runs bundle, which must exit 0, and returns its stdout.
func mustRun(t *testing.T, r *Runtime, bundle string, flags ...string) string {
	t.Helper()
	res := runContainer(t, r, bundle, flags...)
	if res.Code != 0 {
		t.Fatalf("%s", res)
	}
	return res.Stdout
}

// statusLines returns the named fields of the container's
// /proc/self/status as "Name:\tvalue" lines, the script's way to print them.
func statusFields(names ...string) string {
	return fmt.Sprintf("grep -E '^(%s):' /proc/self/status", strings.Join(names, "|"))
}

// parseFields turns "Name:\tvalue" lines into a map.
func parseFields(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

// withTmpfs mounts a tmpfs at dest: the default root is read-only.
func withTmpfs(dest string, options ...string) func(*specs.Spec) {
	return func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: dest, Type: "tmpfs", Source: "tmpfs", Options: options})
	}
}

// writeRootfsFile writes a file into the bundle's rootfs.
func writeRootfsFile(t *testing.T, bundle, path, content string, mode os.FileMode) {
	t.Helper()
	full := filepath.Join(bundle, "rootfs", path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(full) // busybox applets are symlinks
	if err := os.WriteFile(full, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func TestProcessArgsEnvCwd(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, withArgs("/bin/sh", "-c", `echo "arg=$1 foo=$FOO path=$PATH"; pwd`, "sh", "first arg"), func(s *specs.Spec) {
		s.Process.Env = []string{"FOO=bar baz", "PATH=/bin"}
		s.Process.Cwd = "/etc"
	})
	out := mustRun(t, r, b)
	want := "arg=first arg foo=bar baz path=/bin\n/etc\n"
	if out != want {
		t.Fatalf("output %q, want %q", out, want)
	}
}

// TestProcessUser: uid, gid, additional gids and umask as configured, and
// files created with them.
func TestProcessUser(t *testing.T) {
	r := newRuntime(t)
	umask := uint32(0o027)
	b := newBundle(t, withTmpfs("/tmp", "mode=1777"),
		shell(`id -u; id -g; `+statusFields("Groups")+`; umask; touch /tmp/f; stat -c '%a %u %g' /tmp/f`),
		func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{2000, 3000}, Umask: &umask}
		})
	out := mustRun(t, r, b)
	want := "1000\n1001\nGroups:\t2000 3000 \n0027\n640 1000 1001\n"
	if out != want {
		t.Fatalf("output %q, want %q", out, want)
	}
}

// TestUserNames: a username is looked up in the container's /etc/passwd
// and /etc/group (the host has no such user), and a numeric user is always
// that uid even when a user is named after the number: the image's
// /etc/passwd must not choose who the process runs as (CVE-2016-3697).
func TestUserNames(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, shell(`id -u; id -g; id -G`))
	writeRootfsFile(t, b, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalice:x:1234:1235:Alice:/home/alice:/bin/sh\n1000:x:4242:4243::/:/bin/sh\n", 0o644)
	writeRootfsFile(t, b, "etc/group", "root:x:0:\nalice:x:1235:\nstaff:x:5000:alice\n4243:x:4243:\n", 0o644)

	for _, tc := range []struct{ username, want string }{
		{"alice", "1234\n1235\n1235 5000\n"},
		{"1000", "1000\n0\n0\n"},             // uid 1000, not the user named "1000"
		{"alice:4243", "1234\n4243\n4243\n"}, // numeric group never a name
		{"1000:1000", "1000\n1000\n1000\n"},
	} {
		editBundle(t, b, func(s *specs.Spec) { s.Process.User = specs.User{Username: tc.username} })
		if out := mustRun(t, r, b); out != tc.want {
			t.Errorf("user %q: output %q, want %q", tc.username, out, tc.want)
		}
	}
	editBundle(t, b, func(s *specs.Spec) { s.Process.User = specs.User{Username: "nobody-here"} })
	if res := runContainer(t, r, b); res.Code == 0 || !strings.Contains(res.Stderr, "nobody-here") {
		t.Errorf("unknown user name: %s, want a failure naming the user", res)
	}
}

// TestCapabilities: all five sets land exactly as configured.
func TestCapabilities(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, shell(statusFields("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")), func(s *specs.Spec) {
		s.Process.User = specs.User{UID: 1000, GID: 1000}
		s.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding:    []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN"},
			Permitted:   []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"},
			Effective:   []string{"CAP_CHOWN", "CAP_KILL"},
			Inheritable: []string{"CAP_CHOWN", "CAP_NET_RAW"},
			Ambient:     []string{"CAP_CHOWN"},
		}
	})
	got := parseFields(mustRun(t, r, b))
	// CHOWN=0 KILL=5 NET_RAW=13 SYS_ADMIN=21. The process runs as uid 1000,
	// so execve of busybox (no file caps) leaves P' = E' = ambient: a
	// wrong inheritable, bounding or ambient set shows exactly.
	want := map[string]string{
		"CapInh": "0000000000002001",
		"CapPrm": "0000000000000001",
		"CapEff": "0000000000000001",
		"CapBnd": "0000000000202021",
		"CapAmb": "0000000000000001",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}

	// As root, execve gives P' = E' = inheritable | bounding: the default
	// spec's three capabilities and nothing more.
	b = newBundle(t, shell(statusFields("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")))
	got = parseFields(mustRun(t, r, b))
	for k, v := range map[string]string{"CapInh": "0000000000000000", "CapPrm": "0000000020000420", "CapEff": "0000000020000420", "CapBnd": "0000000020000420", "CapAmb": "0000000000000000"} {
		if got[k] != v {
			t.Errorf("default spec: %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}

func TestUnknownCapabilityFails(t *testing.T) {
	specException(t, "unknown capability")
	r := newRuntime(t)
	b := newBundle(t, func(s *specs.Spec) {
		s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_NOT_A_THING")
	})
	expectCreateFails(t, r, b, "CAP_NOT_A_THING")
}

// TestProcessAttributes: rlimits, no_new_privs, oom_score_adj, scheduler,
// I/O priority, CPU affinity and personality, each read back inside.
func TestProcessAttributes(t *testing.T) {
	r := newRuntime(t)
	oom := 345
	b := newBundle(t, shell(`ulimit -n; ulimit -Hn; `+statusFields("NoNewPrivs", "Cpus_allowed_list")+`; cat /proc/self/oom_score_adj; cut -d" " -f19 /proc/self/stat; uname -m; ionice -p $$`),
		func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 321, Hard: 654}}
			s.Process.NoNewPrivileges = true
			s.Process.OOMScoreAdj = &oom
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Nice: 7}
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 6}
			s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "0"}
			s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
		})
	out := mustRun(t, r, b)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{"321", "654", "NoNewPrivs:\t1", "Cpus_allowed_list:\t0", "345", "7", "i686", "best-effort: prio 6"}
	if len(lines) != len(want) {
		t.Fatalf("output %q, want lines %q", out, want)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d: %q, want %q (output %q)", i, lines[i], want[i], out)
		}
	}

	editBundle(t, b, func(s *specs.Spec) { s.Process.NoNewPrivileges = false })
	if f := parseFields(mustRun(t, r, b)); f["NoNewPrivs"] != "0" {
		t.Errorf("noNewPrivileges false: NoNewPrivs %q, want 0", f["NoNewPrivs"])
	}
}

// TestLSMOnHostWithout: this host has no AppArmor or SELinux. A requested
// AppArmor profile, SELinux process label or mount label must fail create
// with a clear error (runc's words for the process label), never run
// unconfined; an exec with --process-label fails the same way.
func TestLSMOnHostWithout(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/security/apparmor"); err == nil {
		t.Fatal("this test expects a host without AppArmor")
	}
	if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
		t.Fatal("this test expects a host without SELinux")
	}
	r := newRuntime(t)
	b := newBundle(t, func(s *specs.Spec) { s.Process.ApparmorProfile = "oci-rt-test" })
	expectCreateFails(t, r, b, "apparmor")

	b = newBundle(t, func(s *specs.Spec) { s.Process.SelinuxLabel = "system_u:system_r:container_t:s0" })
	expectCreateFails(t, r, b, "selinux label is specified in config, but selinux is disabled or not supported")
	b = newBundle(t, func(s *specs.Spec) { s.Linux.MountLabel = "system_u:object_r:container_file_t:s0" })
	expectCreateFails(t, r, b, `linux.mountLabel "system_u:object_r:container_file_t:s0": selinux is disabled`)
	// Empty labels are what engines send on such hosts: no label, no error.
	b = newBundle(t, shell("echo ran"), func(s *specs.Spec) { s.Process.SelinuxLabel, s.Linux.MountLabel = "", "" })
	if out := mustRun(t, r, b); out != "ran\n" {
		t.Fatalf("empty selinux labels: output %q", out)
	}

	c := r.Create(newBundle(t, withArgs("sleep", "60")))
	res := r.Run("exec", "--process-label", "system_u:system_r:container_t:s0", c.ID, "true")
	checkFailure(t, res, "selinux label is specified in config, but selinux is disabled or not supported")
}

// TestExecIdentityAndCwd: `exec --cap X` adds X to the effective,
// permitted and bounding sets but never to the inheritable one
// (CVE-2022-29162), an unknown capability is an error naming it; `exec -u
// 1000` is uid 1000 even with a user named "1000" (CVE-2016-3697); `exec
// --cwd /proc/self/fd/N` fails or stays inside (CVE-2024-21626).
func TestExecIdentityAndCwd(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, withArgs("sleep", "60"))
	writeRootfsFile(t, b, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n1000:x:4242:4242::/:/bin/sh\n", 0o644)
	c := r.Create(b)
	r.Must("start", c.ID)

	got := parseFields(r.Must("exec", "--cap", "CAP_NET_RAW", c.ID, "sh", "-c", statusFields("CapInh", "CapEff", "CapBnd", "CapAmb")))
	// Default spec: KILL(5), NET_BIND_SERVICE(10), AUDIT_WRITE(29); plus NET_RAW(13).
	for k, v := range map[string]string{"CapInh": "0000000000000000", "CapEff": "0000000020002420", "CapBnd": "0000000020002420", "CapAmb": "0000000000000000"} {
		if got[k] != v {
			t.Errorf("exec --cap CAP_NET_RAW: %s = %q, want %q", k, got[k], v)
		}
	}
	checkFailure(t, r.Run("exec", "--cap", "CAP_BOGUS", c.ID, "true"), "CAP_BOGUS")

	if out := r.Must("exec", "-u", "1000", c.ID, "id", "-u"); out != "1000\n" {
		t.Errorf("exec -u 1000: uid %q, want 1000 (not the user named \"1000\")", out)
	}

	for n := 3; n <= 20; n++ {
		res := r.Run("exec", "--cwd", fmt.Sprintf("/proc/self/fd/%d", n), c.ID, "pwd", "-P")
		if res.Code == 0 && (!strings.HasPrefix(res.Stdout, "/") || strings.Contains(res.Stdout, "unreachable")) {
			t.Errorf("exec --cwd /proc/self/fd/%d: %s: the process ran outside the container", n, res)
		}
	}
}
