package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The create plan: the runtime sets the container up from outside, on a
// thread that joins the init's namespaces, and the init runs no Go. From
// inside, such a container must look exactly like one whose Go init set
// it up. Binaries built with the ocirt_testhooks tag take the Go path
// when goInitEnv is set.

// createPlanProbe adds to the exec probe what the setup of the container
// decides: its mounts with their options, its /dev, its names and
// sysctls, and the masked and read-only paths.
const createPlanProbe = execPlanProbe + `
cut -d' ' -f4- /proc/self/mountinfo; cd /dev; stat -c '%n %a %u:%g %F %t:%T' * pts/*; for l in fd stdin ptmx; do readlink $l; done; cd /etc
cat /proc/sys/kernel/domainname /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax
cat /proc/kcore 2>&1 | head -c 40; echo; touch /proc/sys/x 2>&1; touch /probe 2>&1; echo end`

// runBothWays runs a container of one bundle made with edits through the
// create plan and through the Go init and returns what each printed (see
// runTakingPath), its container id replaced by ID.
func runBothWays(t *testing.T, edits ...func(*specs.Spec)) (plan, goPath string) {
	t.Helper()
	return runBothWaysAs(t, nil, edits...)
}

// runBothWaysAs is runBothWays with adjust applied to each oci-rt command.
func runBothWaysAs(t *testing.T, adjust func(*exec.Cmd), edits ...func(*specs.Spec)) (plan, goPath string) {
	t.Helper()
	return runBundleBothWays(t, newBundle(t, edits...), adjust)
}

// runBundleBothWays is runBothWaysAs on a bundle made already.
func runBundleBothWays(t *testing.T, bundle string, adjust func(*exec.Cmd)) (plan, goPath string) {
	t.Helper()
	r := newRuntime(t)
	var spec specs.Spec
	noErr(t, json.Unmarshal([]byte(readFile(t, filepath.Join(bundle, "config.json"))), &spec))
	run := func(forceGo bool) string {
		t.Helper()
		id := newID(t)
		out := runTakingPath(t, r, id, "create", []string{"run", "--bundle", bundle}, spec.Process.Terminal, forceGo, adjust)
		return hostOrOwnNamespaces(t, strings.ReplaceAll(out, id, "ID"))
	}
	return run(false), run(true)
}

// hostOrOwnNamespaces replaces each namespace named in out (as
// /proc/<pid>/ns links read) by whether it is the test's or another:
// two containers never share the namespaces they create.
func hostOrOwnNamespaces(t *testing.T, out string) string {
	t.Helper()
	links, err := filepath.Glob("/proc/self/ns/*")
	noErr(t, err)
	host := map[string]bool{}
	for _, l := range links {
		if target, err := os.Readlink(l); err == nil {
			host[target] = true
		}
	}
	return regexp.MustCompile(`[a-z_]+:\[[0-9]+\]`).ReplaceAllStringFunc(out, func(ns string) string {
		if host[ns] {
			return ns[:strings.Index(ns, ":")] + ":host"
		}
		return ns[:strings.Index(ns, ":")] + ":own"
	})
}

// planProbe is probeProcess printing createPlanProbe.
func planProbe(user specs.User, caps []string, nnp bool) *specs.Process {
	p := probeProcess(user, caps, nnp)
	p.Args[2] = createPlanProbe
	return p
}

// withProcess makes p the container's process.
func withProcess(p *specs.Process) func(*specs.Spec) {
	return func(s *specs.Spec) { s.Process = p }
}

// TestCreatePlanMatchesGoPath: for a root and a non-root process with
// capabilities, with a seccomp filter installed early (no no_new_privs)
// and late (with it), with a cgroup namespace, with names and sysctls,
// with a read-only root and a writable one, with a terminal, with a
// read-only /proc (mounted so, or made so by readonlyPaths), in a user
// namespace whose root is not host root (created, with a cgroup
// namespace and mount, with a terminal, or joined by path, alone or with
// its pid namespace), the container
// the runtime set up from outside and the one the Go init set up show
// their process the same mounts (options,
// order), /dev, names, sysctls, masked and read-only paths, and the same
// ids, groups, capabilities, seccomp and no_new_privs state, rlimits,
// cwd, umask, env, cgroups, oom_score_adj, scheduling, personality,
// namespaces and fds.
func TestCreatePlanMatchesGoPath(t *testing.T) {
	netCaps := []string{"CAP_NET_RAW", "CAP_NET_BIND_SERVICE"}
	probe := func(user specs.User, caps []string, nnp bool) func(*specs.Spec) {
		return withProcess(planProbe(user, caps, nnp))
	}
	named := func(s *specs.Spec) {
		s.Hostname, s.Domainname = "planned", "example.org"
		s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.msgmax": "4242"}
	}
	// A container whose user namespace others join by path, as the
	// containers of a pod join their sandbox's.
	holders := newRuntime(t)
	holder := holders.Create(userNSBundle(t, withArgs("sleep", "1000")))
	holders.Must("start", holder.ID)
	joinHolderUserNS := func(s *specs.Spec) {
		for i, ns := range s.Linux.Namespaces {
			if ns.Type == specs.UserNamespace {
				s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/user", holder.Pid)
			}
		}
	}
	cases := []struct {
		name  string
		edits []func(*specs.Spec)
	}{
		{"root", []func(*specs.Spec){probe(specs.User{}, []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}, false)}},
		{"root seccomp early", []func(*specs.Spec){probe(specs.User{}, netCaps, false), withMkdirDenied}},
		{"non-root with caps, seccomp late", []func(*specs.Spec){withMkdirDenied,
			probe(specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5, 6}}, netCaps, true)}},
		{"named user", []func(*specs.Spec){probe(specs.User{Username: "root"}, nil, false)}},
		{"cgroup namespace, names, sysctls", []func(*specs.Spec){probe(specs.User{}, nil, false), withCgroupNamespace(""), named}},
		{"writable root", []func(*specs.Spec){probe(specs.User{UID: 1000, GID: 1000}, netCaps, false), func(s *specs.Spec) { s.Root.Readonly = false }}},
		{"terminal", []func(*specs.Spec){withProcess(withProbeTerminal(planProbe(specs.User{UID: 1000, GID: 1000}, netCaps, false)))}},
		// The init cannot write its oom_score_adj through a read-only
		// /proc: it makes a procfs of its own instead of taking the
		// container's.
		{"read-only /proc", []func(*specs.Spec){probe(specs.User{}, nil, false), func(s *specs.Spec) {
			for i := range s.Mounts {
				if s.Mounts[i].Destination == "/proc" {
					s.Mounts[i].Options = append(s.Mounts[i].Options, "ro")
				}
			}
		}}},
		{"/proc a read-only path", []func(*specs.Spec){probe(specs.User{}, nil, false), func(s *specs.Spec) {
			s.Linux.ReadonlyPaths = append(s.Linux.ReadonlyPaths, "/proc")
		}}},
		// The init makes the filesystems, whose options' ids its user
		// namespace reads (devpts gid=5, the tmpfs owners), and the
		// setup thread makes /dev's links and directories as the
		// container's root.
		// (userNSBundle adds the user namespace.)
		{"user namespace", []func(*specs.Spec){probe(specs.User{}, []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}, false)}},
		{"user namespace, cgroup namespace and mount, names, sysctls", []func(*specs.Spec){probe(specs.User{}, nil, false),
			withCgroupNamespace(""), named, func(s *specs.Spec) {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}})
			}}},
		{"user namespace, terminal", []func(*specs.Spec){withProcess(withProbeTerminal(planProbe(specs.User{UID: 1000, GID: 1000}, netCaps, false)))}},
		{"user namespace joined by path", []func(*specs.Spec){probe(specs.User{}, nil, false), joinHolderUserNS}},
		{"user namespace joined by path, with its pid namespace", []func(*specs.Spec){probe(specs.User{}, nil, false), joinHolderUserNS, joinPidNS(holder.Pid)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			edits := append([]func(*specs.Spec){func(s *specs.Spec) {
				s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux}
			}}, tc.edits...)
			userNS := strings.HasPrefix(tc.name, "user namespace")
			var bundle string
			if userNS {
				bundle = userNSBundle(t, edits...)
			} else {
				bundle = newBundle(t, edits...)
			}
			plan, goPath := runBundleBothWays(t, bundle, nil)
			if plan != goPath {
				t.Errorf("the plan gave the container\n%s\nthe Go init\n%s", plan, goPath)
			}
			procMount := "/ /proc rw"
			if tc.name == "read-only /proc" || tc.name == "/proc a read-only path" {
				procMount = "/ /proc ro"
			}
			wants := []string{"Seccomp:", "Max open files            512                  1024", "/etc\n", "FOO=baz", "123\n", "pid:own",
				procMount, " /dev/pts ", "/proc/self/fd\n/proc/self/fd/0\npts/ptmx\n", "end\n"}
			if userNS {
				// The host's devices, bound, and owned by a root the
				// container does not map.
				wants = append(wants, "user:own", "null 666 65534:65534 character special file 1:3", "fd 777 0:0 symbolic link",
					"tmpfs rw,size=65536k,mode=755,uid=100000,gid=100000", "devpts rw,gid=100005,mode=620,ptmxmode=666")
			} else {
				wants = append(wants, "user:host", "null 666 0:0 character special file 1:3")
			}
			switch tc.name {
			case "cgroup namespace, names, sysctls", "user namespace, cgroup namespace and mount, names, sysctls":
				wants = append(wants, "planned\n", "example.org\n1\n4242\n")
			case "writable root":
				wants = append(wants, "touch: /probe: Permission denied") // uid 1000, a root-owned /
			case "terminal", "user namespace, terminal":
				wants = append(wants, "/dev/pts/0\n37 91\n1000 5\n", "has a controlling tty", "console 620 1000:5 character special file 88:0",
					"touch: /probe: Read-only file system")
			default:
				wants = append(wants, "touch: /probe: Read-only file system")
			}
			for _, want := range wants {
				if !strings.Contains(plan, want) {
					t.Errorf("the probe's output lacks %q: the comparison proves less than it claims\n%s", want, plan)
				}
			}
		})
	}
}

// hookProbe is what a createContainer or startContainer hook prints of
// its view into file: its namespaces (the container's own or the
// runtime's, see hostOrOwnNamespaces), its cwd, ids, capabilities,
// seccomp and no_new_privs state, umask, scheduling, environment, and
// the state on stdin, its pid left out. With initPid, it also says for
// each namespace whether it is that process's.
func hookProbe(file, initPid string) string {
	compare := ""
	if initPid != "" {
		compare = `[ "$(readlink /proc/self/ns/$ns)" = "$(readlink /proc/` + initPid + `/ns/$ns)" ] && echo "$ns: the container's"`
	}
	return `exec > ` + file + ` 2>&1; state=$(cat); pid=${state#*'"pid":'}; pid=${pid%%,*}
for ns in mnt net uts ipc pid cgroup user; do readlink /proc/self/ns/$ns; ` + compare + `
done
pwd; id; umask; grep -E '^(Cap|Seccomp|NoNewPrivs)' /proc/self/status; cut -d' ' -f19 /proc/self/stat; env | sort
echo fds $(ls /proc/self/fd); echo "$state" | sed 's/"pid":[0-9]*/"pid":N/'`
}

// TestCreatePlanRunsHooksAsTheGoInit: the createContainer hooks, which
// the runtime's setup thread starts when it sets the container up from
// outside, and the startContainer hooks, which the init that runs no Go
// starts after start, see what they see when the Go init starts them:
// the container's namespaces, pid namespace included, the same cwd,
// ids, capabilities, seccomp filter and no_new_privs state, umask,
// scheduling, environment, fds and state. The startContainer hooks run
// as the container's process, as runc runs them. In a container with a
// user namespace of its own, where the init runs the createContainer
// hooks, they run as its root, in it.
func TestCreatePlanRunsHooksAsTheGoInit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		user   specs.User
		nnp    bool
		userNS bool
	}{
		{"root, seccomp early", specs.User{}, false, false},
		{"non-root, no_new_privs, seccomp late", specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5}}, true, false},
		{"user namespace, root, seccomp early", specs.User{}, false, true},
		{"user namespace, non-root, no_new_privs, seccomp late", specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5}}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := probeProcess(tc.user, []string{"CAP_NET_RAW", "CAP_KILL"}, tc.nnp)
			// The init's /proc entries are closed to a hook in a user
			// namespace of the container's own (the init is not
			// dumpable): the container's process compares its
			// namespaces with the ones the createContainer hook wrote
			// down.
			p.Args[2] = `cat /hooks/create /hooks/start
for ns in mnt net uts ipc pid cgroup user; do grep -qxF "$(readlink /proc/self/ns/$ns)" /hooks/create-ns && echo "$ns: the hook's"; done`
			createProbe := hookProbe("hooks/create", "$pid") + "\nfor ns in mnt net uts ipc pid cgroup user; do readlink /proc/self/ns/$ns; done > hooks/create-ns"
			bundleOf := userNSBundle
			if !tc.userNS {
				bundleOf = func(t *testing.T, edits ...func(*specs.Spec)) string { return newBundle(t, edits...) }
			}
			plan, goPath := runBundleBothWays(t, bundleOf(t, withProcess(p), withMkdirDenied, func(s *specs.Spec) {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/hooks", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=1777"}})
				// The createContainer hook runs in the rootfs, before the
				// switch of root: hooks/ is the container's tmpfs.
				s.Hooks = &specs.Hooks{
					CreateContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", createProbe}}},
					StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", hookProbe("/hooks/start", "")},
						Env: []string{"PATH=/bin", "HOOK=start"}}},
				}
			}), nil)
			if plan != goPath {
				t.Errorf("the plan's hooks saw\n%s\nthe Go init's\n%s", plan, goPath)
			}
			uid := fmt.Sprintf("uid=%d", tc.user.UID)
			user, seen := "user:host\n", 7
			if tc.userNS {
				user, seen = "user:own\n", 0
			}
			own := "mnt:own\nnet:own\nuts:own\nipc:own\npid:own\ncgroup:host\n" + user
			wants := []string{"\"}\n" + own, "mnt: the hook's\nnet: the hook's\nuts: the hook's\nipc: the hook's\npid: the hook's\ncgroup: the hook's\nuser: the hook's\n",
				"uid=0(root)", "FOO=baz", `"status":"creating"`, "/etc\n" + uid, "0027\n", "HOOK=start", `"status":"created"`, `"pid":N`, "fds 0 1 2 3\n"}
			if !tc.userNS {
				wants = append(wants, "mnt:own\nmnt: the container's\nnet:own\nnet: the container's\nuts:own\nuts: the container's\nipc:own\nipc: the container's\n"+
					"pid:own\npid: the container's\ncgroup:host\ncgroup: the container's\nuser:host\nuser: the container's\n")
			}
			if tc.nnp {
				wants = append(wants, "NoNewPrivs:\t1\nSeccomp:\t2")
			} else {
				wants = append(wants, "NoNewPrivs:\t0\nSeccomp:\t2")
			}
			for _, want := range wants {
				if !strings.Contains(plan, want) {
					t.Errorf("the hooks' output lacks %q: the comparison proves less than it claims\n%s", want, plan)
				}
			}
			if strings.Count(plan, "the container's") != seen || strings.Count(plan, "the hook's") != 7 {
				t.Errorf("the createContainer hook ran outside one of the container's namespaces:\n%s", plan)
			}
		})
	}
}

// TestCreateContainerHookFailsAlikeInAUserNamespace: a createContainer
// hook of a container with a user namespace of its own, which the init
// runs in C when the runtime sets the container up from outside, fails
// create as it fails it run by the Go init: one line that names the hook
// and how it failed (its exit status and stderr, its timeout, or the
// execve that failed), and nothing left behind.
func TestCreateContainerHookFailsAlikeInAUserNamespace(t *testing.T) {
	timeout := 1
	for _, tc := range []struct {
		name, want string
		hook       specs.Hook
	}{
		{"exit status", "createContainer hook #1 (/bin/sh): exit status 3: cc broke", specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "echo cc broke >&2; exit 3"}}},
		{"timeout", "createContainer hook #1 (/bin/sleep): timed out after 1s", specs.Hook{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Timeout: &timeout}},
		{"no such program", "createContainer hook #1 (/no/such/hook): fork/exec /no/such/hook: no such file or directory", specs.Hook{Path: "/no/such/hook"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRuntime(t)
			bundle := userNSBundle(t, withArgs("true"), func(s *specs.Spec) {
				s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/true"}, tc.hook}}
			})
			failures := createFailsBothWays(t, r, bundle, tc.want)
			for i, f := range failures {
				forceGo := i == 1
				if inC := strings.Contains(f.log, "runs the 2 createContainer hooks, as the root of the container's user namespace"); inC == forceGo {
					t.Errorf("the init ran the hooks in C: %v, want %v", inC, !forceGo)
				}
			}
			if failures[0].msg != failures[1].msg {
				t.Errorf("the init in C failed create with\n%s\nthe Go init with\n%s", failures[0].msg, failures[1].msg)
			}
		})
	}
}

// failedCreate is what a create that failed said: its error message, its
// container id replaced by ID, and its debug log.
type failedCreate struct{ msg, log string }

// createFailsBothWays runs create of bundle with --debug through the plan
// and then through the Go init, and checks that each fails with one line
// naming want and leaves nothing behind. It returns what each said, the
// plan's first.
func createFailsBothWays(t *testing.T, r *Runtime, bundle, want string) [2]failedCreate {
	t.Helper()
	var failures [2]failedCreate
	for i, forceGo := range []bool{false, true} {
		id, logFile := newID(t), filepath.Join(t.TempDir(), "log")
		cmd := r.Command("--log", logFile, "--debug", "create", "--bundle", bundle, id)
		if forceGo {
			cmd.Env = append(cmd.Environ(), goInitEnv)
		}
		res := r.RunCmd(cmd)
		checkFailure(t, res, want)
		checkNothingLeft(t, r, id)
		failures[i] = failedCreate{strings.ReplaceAll(errorMessage(strings.TrimSpace(res.Stderr)), id, "ID"), readFile(t, logFile)}
	}
	return failures
}

// TestCreatePlanJoinsAPidNamespaceAsTheGoInit: a container that joins
// another's pid namespace, which the runtime sets up from outside while
// its init stays outside that namespace, and whose init then starts the
// process there, is the Go init's: the same mounts, /dev, names, process
// and namespaces, its /proc the joined namespace's (the other
// container's process is pid 1 there), and its startContainer hook,
// run by the process in the namespace, sees what it sees there, for a
// root and a non-root process, with and without a terminal.
func TestCreatePlanJoinsAPidNamespaceAsTheGoInit(t *testing.T) {
	r := newRuntime(t)
	other := startPidNamespaceOwner(t, r)
	for _, tc := range []struct {
		name     string
		user     specs.User
		nnp      bool
		terminal bool
	}{
		{"root", specs.User{}, false, false},
		{"non-root, no_new_privs", specs.User{UID: 1000, GID: 1000}, true, false},
		{"terminal", specs.User{UID: 1000, GID: 1000}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planProbe(tc.user, []string{"CAP_NET_RAW"}, tc.nnp)
			p.Args[2] += "; cat /proc/1/cmdline | tr '\\0' ' '; echo; cat /hooks/start"
			if tc.terminal {
				p = withProbeTerminal(p)
			}
			plan, goPath := runBothWays(t, withProcess(p), withMkdirDenied, joinPidNS(other.Pid), func(s *specs.Spec) {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/hooks", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=1777"}})
				s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", hookProbe("/hooks/start", "")}}}}
			})
			if plan != goPath {
				t.Errorf("the plan gave the container\n%s\nthe Go init\n%s", plan, goPath)
			}
			wants := []string{"pid:own", "sleep 300 \n", "FOO=baz", "/ /proc rw", "end\n", `"status":"created"`,
				fmt.Sprintf("uid=%d", tc.user.UID), "mnt:own\nnet:own\nuts:own\nipc:own\npid:own\n"}
			if tc.terminal {
				wants = append(wants, "has a controlling tty")
			}
			for _, want := range wants {
				if !strings.Contains(plan, want) {
					t.Errorf("the probe's output lacks %q: the comparison proves less than it claims\n%s", want, plan)
				}
			}
		})
	}
}

// TestCreatePlanSwitchesRootAsTheGoInit: where the switch of root moves
// the setup thread's root alone (--no-pivot; a container without a mount
// namespace of its own, whose root is a chroot in the runtime's, even
// one that has no namespace of its own at all), the init takes the
// container's root from the runtime, and the container is
// the Go init's: the same root, mounts, /dev and process, its user named
// by the container's account files (which only the container's root
// has, not the init's root before it takes it).
func TestCreatePlanSwitchesRootAsTheGoInit(t *testing.T) {
	noPivot := func(cmd *exec.Cmd) {
		i := slices.Index(cmd.Args, "run")
		cmd.Args = slices.Insert(cmd.Args, i+1, "--no-pivot")
	}
	for _, tc := range []struct {
		name     string
		adjust   func(*exec.Cmd)
		edit     func(*specs.Spec)
		terminal bool
	}{
		{"--no-pivot", noPivot, func(*specs.Spec) {}, false},
		// The root comes before the pty.
		{"--no-pivot with a terminal", noPivot, func(*specs.Spec) {}, true},
		{"no mount namespace", nil, withoutMountNamespace, false},
		// The thread then joins no namespace at all.
		{"no namespace at all", nil, func(s *specs.Spec) {
			withoutMountNamespace(s)
			s.Linux.Namespaces, s.Hostname = nil, ""
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planProbe(specs.User{Username: "probe"}, []string{"CAP_NET_RAW"}, false)
			if tc.adjust == nil {
				// The runtime's mount namespace holds the host's mounts.
				p.Args[2] = strings.Replace(p.Args[2], "cut -d' ' -f4- /proc/self/mountinfo; ", "", 1)
			}
			p.Args[2] = "ls -1 /; " + p.Args[2]
			if tc.terminal {
				p = withProbeTerminal(p)
			}
			bundle := newBundle(t, withProcess(p), tc.edit)
			writeRootfsFile(t, bundle, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nprobe:x:4242:4343::/:/bin/sh\n", 0o644)
			writeRootfsFile(t, bundle, "etc/group", "root:x:0:\nprobes:x:4343:\nextra:x:77:probe\n", 0o644)
			plan, goPath := runBundleBothWays(t, bundle, tc.adjust)
			if plan != goPath {
				t.Errorf("the plan gave the container\n%s\nthe Go init\n%s", plan, goPath)
			}
			for _, want := range []string{"bin\ndev\netc\n", "Uid:\t4242\t4242\t4242\t4242\nGid:\t4343\t4343\t4343\t4343\n", "Groups:\t77 \n",
				"null 666 0:0 character special file 1:3", "/etc\n", "FOO=baz", "end\n"} {
				if !strings.Contains(plan, want) {
					t.Errorf("the probe's output lacks %q: the comparison proves less than it claims\n%s", want, plan)
				}
			}
			if tc.terminal && !strings.Contains(plan, "has a controlling tty") {
				t.Errorf("the process has no controlling terminal:\n%s", plan)
			}
		})
	}
}

// TestCreatePlanIdmapsAsTheGoInit: the runtime idmaps the detached bind
// its setup thread made, as it does the one the Go init makes: the same
// mounts (idmapped among the options) and the same mapped owner. (Not in
// the cgroup v2 VM, whose kernel cannot idmap its tmpfs.)
func TestCreatePlanIdmapsAsTheGoInit(t *testing.T) {
	src := t.TempDir()
	must(t, os.WriteFile(filepath.Join(src, "f"), nil, 0o644))
	p := planProbe(specs.User{}, nil, false)
	p.Args[2] += "; stat -c '%u %g' /data/f"
	plan, goPath := runBothWays(t, withProcess(p), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: src, Options: []string{"rbind", "idmap"},
			UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 2000, Size: 10}},
			GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 3000, Size: 10}}})
	})
	if plan != goPath {
		t.Errorf("the plan gave the container\n%s\nthe Go init\n%s", plan, goPath)
	}
	for _, want := range []string{" /data rw,relatime,idmapped ", "end\n2000 3000\n"} {
		if !strings.Contains(plan, want) {
			t.Errorf("the probe's output lacks %q: the comparison proves less than it claims\n%s", want, plan)
		}
	}
}

// TestCreatePlanInitJoinsItsCgroup: on a host with v1 hierarchies the
// init that runs no Go joins the container's cgroup by itself, one plan
// step per hierarchy, and is in it in every hierarchy once create
// returns; from a user namespace of its own too, whose host cgroup files
// it could not open (the runtime opened them). With a createRuntime hook,
// which may look at the init's cgroup while the container is set up, the
// runtime moves it before the hook, and its plan joins nothing.
func TestCreatePlanInitJoinsItsCgroup(t *testing.T) {
	requireV1(t)
	for _, tc := range []struct {
		name  string
		edits []func(*specs.Spec)
		joins bool
	}{
		{"by itself", nil, true},
		{"by itself, from its own user namespace", []func(*specs.Spec){withOwnUserNamespace}, true},
		{"moved before a createRuntime hook", []func(*specs.Spec){func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true"}}}
		}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRuntime(t)
			logFile := filepath.Join(t.TempDir(), "log")
			r.Global = []string{"--debug", "--log", logFile}
			b := newBundle(t, append(tc.edits, withArgs("sleep", "1000"))...)
			openToUserNS(t, b)
			c := r.Create(b)
			requireInItsCgroups(t, c)
			requireSelfJoinSteps(t, readFile(t, logFile), "create "+c.ID, tc.joins)
		})
	}
}

// TestExecPlanJoinsItsCgroup: on a host with v1 hierarchies the process
// exec starts joins the container's cgroup by itself, its stage writing
// into each hierarchy's tasks before it joins any namespace, and is in it
// in every hierarchy; in a container with a user namespace of its own
// too, whose host cgroup files the process could not open once inside.
func TestExecPlanJoinsItsCgroup(t *testing.T) {
	requireV1(t)
	for _, tc := range []struct {
		name  string
		edits []func(*specs.Spec)
	}{{"plain", nil}, {"own user namespace", []func(*specs.Spec){withOwnUserNamespace}}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRuntime(t)
			b := newBundle(t, append([]func(*specs.Spec){withArgs("sleep", "1000")}, tc.edits...)...)
			openToUserNS(t, b)
			c := r.Create(b)
			r.Must("start", c.ID)
			logFile := filepath.Join(t.TempDir(), "log")
			r.Global = []string{"--debug", "--log", logFile}
			own := r.Must("exec", c.ID, "cat", "/proc/self/cgroup")
			for _, ctrl := range []string{"memory", "cpu", "cpuacct", "cpuset", "pids", "blkio", "devices", "freezer"} {
				if want := ctrl + ":" + strings.TrimPrefix(v1Dir(c.ID, ctrl), "/sys/fs/cgroup/"+ctrl) + "\n"; v1Mounted(ctrl) && !strings.Contains(own, want) {
					t.Errorf("exec'd process not in its %s cgroup (%q):\n%s", ctrl, want, own)
				}
			}
			requireSelfJoinSteps(t, readFile(t, logFile), "exec "+c.ID, true)
		})
	}
}

// withOwnUserNamespace gives the container a user namespace of its own
// (userNSSpec) without a cgroup namespace, which its stage would make in
// the container's cgroup, joined there before anything else.
func withOwnUserNamespace(s *specs.Spec) {
	userNSSpec(s)
	s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(ns specs.LinuxNamespace) bool { return ns.Type == specs.CgroupNamespace })
}

// requireSelfJoinSteps checks that what (as the debug log names it,
// "create ID") ran a plan and that log shows the process joining the
// container's cgroup by itself in each v1 hierarchy (a step of create's
// plan, the first act of exec's stage), or in none when joins is false.
func requireSelfJoinSteps(t *testing.T, log, what string, joins bool) {
	t.Helper()
	if !strings.Contains(log, what+": plan of ") {
		t.Fatalf("%s ran no plan; log:\n%s", what, log)
	}
	for _, ctrl := range []string{"memory", "cpu", "cpuacct", "cpuset", "pids", "blkio", "devices", "freezer"} {
		step := "join the container's cgroup in the " + ctrl + " hierarchy"
		if v1Mounted(ctrl) && strings.Contains(log, step) != joins {
			t.Errorf("%s's log has %q: %t, want %t; log:\n%s", what, step, !joins, joins, log)
		}
	}
}

// TestCreatePlanFallsBack: what the plan does not cover (in a user
// namespace, the one sysctl whose ids the writer's namespace reads, where
// its value is not two ids) still runs, set up by the Go init, and
// --debug says why.
func TestCreatePlanFallsBack(t *testing.T) {
	cases := []struct {
		name, why string
		edit      func(*specs.Spec)
	}{
		// The kernel takes one id and keeps the high end it had, as the
		// writer's namespace names it: the thread gives only two ids as
		// its own (see TestCreatePlanGivesPingGroupsAsItsOwn). The log
		// quotes the value.
		{"ping_group_range in a user namespace, one id", `net.ipv4.ping_group_range=\"5\", not two group ids the setup thread could give as its own`, func(s *specs.Spec) {
			withAllNamespaces(s)
			s.Linux.Sysctl = map[string]string{"net.ipv4.ping_group_range": "5"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRuntime(t)
			bundle, id := newBundle(t, tc.edit, shell("echo ran")), newID(t)
			logFile := filepath.Join(t.TempDir(), "log")
			res := r.Run("--debug", "--log", logFile, "run", "--bundle", bundle, id)
			if res.Code != 0 || res.Stdout != "ran\n" {
				t.Fatalf("run: %s", res)
			}
			log := readFile(t, logFile)
			if !strings.Contains(log, "the init sets the container up in Go: "+tc.why) || strings.Contains(log, "plan of") {
				t.Errorf("create did not say it fell back for %s; log:\n%s", tc.why, log)
			}
		})
	}
}

// TestCreatePlanGivesPingGroupsAsItsOwn: ping_group_range names groups,
// which the kernel reads in the user namespace of the process that writes
// it. In a container with a user namespace of its own the setup thread,
// outside it, gives the container's groups as its own namespace names
// them, and the kernel keeps what it keeps for the Go init, the
// container's root: the range itself; a range whose ends are the wrong
// way round in the container, off (which the container reads as two
// unmapped groups), even where the map puts them the right way round
// outside; a group the container does not map, refused.
func TestCreatePlanGivesPingGroupsAsItsOwn(t *testing.T) {
	// Groups 0 and 1 of the container are the host's 100001 and 100000.
	swapped := func(s *specs.Spec) {
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100001, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 1}, {ContainerID: 2, HostID: 100002, Size: 65534}}
	}
	for _, tc := range []struct {
		name, value, want string
		edits             []func(*specs.Spec)
	}{
		{"range", "0 1", "0 1", nil},
		{"range in one group", "5 5", "5 5", nil},
		// The kernel reads ids as strtoul with base 0 does.
		{"range in octal and hex", "010 0x10", "8 16", nil},
		{"ends the wrong way round", "1 0", "65534 65534", []func(*specs.Spec){swapped}},
		{"ends the wrong way round outside only", "0 1", "65534 65534", []func(*specs.Spec){swapped}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bundle := userNSBundle(t, append([]func(*specs.Spec){shell("cat /proc/sys/net/ipv4/ping_group_range"), func(s *specs.Spec) {
				s.Linux.Sysctl = map[string]string{"net.ipv4.ping_group_range": tc.value}
			}}, tc.edits...)...)
			plan, goPath := runBundleBothWays(t, bundle, nil)
			if got := strings.Join(strings.Fields(plan), " "); got != tc.want || plan != goPath {
				t.Errorf("ping_group_range %q reads %q through the plan, %q through the Go init; want %q", tc.value, plan, goPath, tc.want)
			}
		})
	}
	t.Run("group the container does not map", func(t *testing.T) {
		r := newRuntime(t)
		bundle := userNSBundle(t, withArgs("true"), func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net.ipv4.ping_group_range": "0 70000"}
		})
		for i, f := range createFailsBothWays(t, r, bundle, "net.ipv4.ping_group_range=0 70000") {
			if !strings.Contains(f.msg, "invalid argument") {
				t.Errorf("a group the container does not map (Go path forced: %v): %s", i == 1, f.msg)
			}
		}
	})
}

// With --debug, a create whose init runs a plan logs what the runtime did
// in the init's namespaces and the plan, in order.
func TestDebugLogShowsPlannedCreate(t *testing.T) {
	r := newRuntime(t)
	logFile := filepath.Join(t.TempDir(), "log")
	id := newID(t)
	bundle := newBundle(t, withArgs("sleep", "1000"), func(s *specs.Spec) { s.Hostname = "debugged" })
	for _, args := range [][]string{{"create", "--bundle", bundle, id}, {"start", id}} {
		if res := r.Run(append([]string{"--debug", "--log", logFile}, args...)...); res.Code != 0 {
			t.Fatalf("%s", res)
		}
	}
	inOrder(t, readFile(t, logFile),
		"create "+id+": init ",
		" runs no Go: the runtime sets the container up on a thread in its namespaces [network ipc uts mount]",
		"create "+id+": mounts done, the runtime runs the prestart and createRuntime hooks",
		"create "+id+": root filesystem set up, root switched (pivot_root)",
		"create "+id+": hostname, sysctls, read-only and masked paths set",
		"create "+id+": plan of ",
		"; take the container's /proc as its procfs handle; ",
		"create "+id+": the plan's steps 0-",
		"; setresuid 0; ",
		"; wait for the runtime",
		"create "+id+": created, init ",
		"start "+id+": the process runs",
	)
}

// TestCreatePlanFromAUserNamespace: a runtime that is root of a user
// namespace of its own, as rootless Podman runs it, sets the container
// up from outside too, and the container is the Go init's, its sysctls
// included: no private procfs can be made there, and the setup thread,
// outside the container's pid namespace, must not look for its own /proc
// entries in the container's procfs.
func TestCreatePlanFromAUserNamespace(t *testing.T) {
	inUserNS := func(cmd *exec.Cmd) {
		maps := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS, UidMappings: maps, GidMappings: maps}
	}
	// A user namespace of the container's own, inside the runtime's, as
	// rootless Podman's --userns=keep-id makes: its root is the runtime's
	// uid 10000.
	nested := func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 10000, Size: 5000}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 10000, Size: 5000}}
		s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/sys/fs/cgroup" })
	}
	// ping_group_range names groups, which the kernel reads in the
	// writer's user namespace: the setup thread, in the runtime's, gives
	// the container's as the runtime's namespace names them.
	for _, tc := range []struct {
		name   string
		edits  []func(*specs.Spec)
		userNS string // the sysctl's value, then the container's uid map
	}{
		{"container in the runtime's user namespace", nil, "0 1 0 0 65536"},
		{"container with a user namespace of its own", []func(*specs.Spec){nested}, "0 1 0 10000 5000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planProbe(specs.User{UID: 1000, GID: 1000}, []string{"CAP_NET_RAW"}, false)
			p.Args[2] += "; echo sysctl; cat /proc/sys/net/ipv4/ping_group_range /proc/self/uid_map"
			value := strings.Join(strings.Fields(tc.userNS)[:2], " ")
			bundle := newBundle(t, append([]func(*specs.Spec){withProcess(p), func(s *specs.Spec) {
				s.Linux.Sysctl = map[string]string{"net.ipv4.ping_group_range": value}
			}}, tc.edits...)...)
			openToUserNS(t, bundle)
			plan, goPath := runBundleBothWays(t, bundle, inUserNS)
			if plan != goPath {
				t.Errorf("the plan gave the container\n%s\nthe Go init\n%s", plan, goPath)
			}
			for _, want := range []string{"user:own", "FOO=baz", "end\n"} {
				if !strings.Contains(plan, want) {
					t.Errorf("the probe's output lacks %q: the comparison proves less than it claims\n%s", want, plan)
				}
			}
			if got := strings.Join(strings.Fields(plan[strings.LastIndex(plan, "sysctl\n")+len("sysctl\n"):]), " "); got != tc.userNS {
				t.Errorf("the sysctl and the container's uid map read %q, want %q", got, tc.userNS)
			}
		})
	}
}
