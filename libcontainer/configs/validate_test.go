package configs

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func ptr[T any](v T) *T { return &v }

func withNamespace(s *specs.Spec, ns specs.LinuxNamespace) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, ns)
}

func withoutNamespace(s *specs.Spec, nsType specs.LinuxNamespaceType) {
	var kept []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != nsType {
			kept = append(kept, ns)
		}
	}
	s.Linux.Namespaces = kept
}

func withUserNamespace(s *specs.Spec) {
	withNamespace(s, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
}

func TestValidateRejects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mutate  func(*specs.Spec)
		mention []string
	}{
		// Structure.
		{"no root", func(s *specs.Spec) { s.Root = nil }, []string{"root.path is missing"}},
		{"no linux", func(s *specs.Spec) { s.Linux = nil }, []string{"linux: missing"}},

		// Process.
		{"no process", func(s *specs.Spec) { s.Process = nil }, []string{"process: missing"}},
		{"no args", func(s *specs.Spec) { s.Process.Args = nil }, []string{"process.args: empty"}},
		{"empty argv0", func(s *specs.Spec) { s.Process.Args = []string{""} }, []string{"process.args: empty"}},
		{"NUL in arg", func(s *specs.Spec) { s.Process.Args = []string{"sh", "a\x00b"} }, []string{`process.args[1] "a\x00b"`, "NUL"}},
		{"more additional gids than NGROUPS_MAX", func(s *specs.Spec) { s.Process.User.AdditionalGids = make([]uint32, 65537) },
			[]string{"process.user.additionalGids: 65537 groups", "limit of 65536"}},
		{"cwd relative", func(s *specs.Spec) { s.Process.Cwd = "tmp" }, []string{`process.cwd "tmp"`, "not an absolute path"}},
		{"cwd empty", func(s *specs.Spec) { s.Process.Cwd = "" }, []string{"process.cwd: missing"}},
		{"env without =", func(s *specs.Spec) { s.Process.Env = []string{"PATH"} }, []string{`process.env[0] "PATH"`, "missing '='"}},
		{"env empty name", func(s *specs.Spec) { s.Process.Env = []string{"=x"} }, []string{"empty variable name"}},
		{"env NUL", func(s *specs.Spec) { s.Process.Env = []string{"A=b\x00c"} }, []string{"NUL"}},
		{"umask too big", func(s *specs.Spec) { s.Process.User.Umask = ptr(uint32(0o1000)) }, []string{"process.user.umask 01000"}},
		{"oomScoreAdj out of range", func(s *specs.Spec) { s.Process.OOMScoreAdj = ptr(1001) }, []string{"process.oomScoreAdj 1001"}},
		{"unknown capability", func(s *specs.Spec) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_NOPE")
		}, []string{"process.capabilities", `"CAP_NOPE"`}},
		{"unknown rlimit", func(s *specs.Spec) { s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_FOO"}} },
			[]string{"process.rlimits[0]", `unknown rlimit type "RLIMIT_FOO"`}},
		{"rlimit soft above hard", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 2048, Hard: 1024}}
		}, []string{"process.rlimits[0]", "RLIMIT_NOFILE soft limit 2048 is above the hard limit 1024"}},
		{"rlimit twice", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_CORE"}, {Type: "RLIMIT_CORE"}}
		}, []string{"process.rlimits[1]", "more than once"}},
		{"scheduler policy", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_FAST"} },
			[]string{`process.scheduler.policy "SCHED_FAST"`}},
		{"scheduler flag", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{"SCHED_FLAG_X"}}
		}, []string{`unknown flag "SCHED_FLAG_X"`}},
		{"scheduler nice", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Nice: 20} },
			[]string{"process.scheduler.nice 20"}},
		{"scheduler priority for OTHER", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Priority: 5} },
			[]string{"process.scheduler.priority 5"}},
		{"scheduler FIFO without priority", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO} },
			[]string{"process.scheduler.priority 0", "SCHED_FIFO"}},
		{"scheduler deadline fields for RR", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedRR, Priority: 1, Runtime: 10}
		}, []string{"only for SCHED_DEADLINE"}},
		{"ioPriority class", func(s *specs.Spec) { s.Process.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_NONE"} },
			[]string{`process.ioPriority.class "IOPRIO_CLASS_NONE"`}},
		{"ioPriority level", func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 8}
		}, []string{"process.ioPriority.priority 8"}},
		{"cpu affinity syntax", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0-x"} },
			[]string{`process.execCPUAffinity.initial "0-x"`}},
		{"cpu affinity backwards", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "3-1"} },
			[]string{`process.execCPUAffinity.final "3-1"`, "backwards"}},
		// The init's affinity mask has room for 1024 CPUs (runc's bound too).
		{"cpu affinity beyond the mask", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0,1024"} },
			[]string{`process.execCPUAffinity.initial "0,1024"`, "CPU 1024 is beyond the last supported, 1023"}},
		{"apparmor newline", func(s *specs.Spec) { s.Process.ApparmorProfile = "p\nchangeprofile x" },
			[]string{"process.apparmorProfile", "control character"}},
		{"apparmor space", func(s *specs.Spec) { s.Process.ApparmorProfile = "a b" }, []string{"process.apparmorProfile", "whitespace"}},
		{"selinux shape", func(s *specs.Spec) { s.Process.SelinuxLabel = "container_t" },
			[]string{`process.selinuxLabel "container_t"`, "user:role:type"}},
		{"mount label shape", func(s *specs.Spec) { s.Linux.MountLabel = "a::c" }, []string{"linux.mountLabel", "empty component"}},

		// Namespaces.
		{"unknown namespace", func(s *specs.Spec) { withNamespace(s, specs.LinuxNamespace{Type: "foo"}) },
			[]string{`unknown namespace type "foo"`}},
		{"duplicate namespace", func(s *specs.Spec) { withNamespace(s, specs.LinuxNamespace{Type: specs.PIDNamespace}) },
			[]string{`namespace type "pid" is listed more than once`}},
		{"relative namespace path", func(s *specs.Spec) {
			withNamespace(s, specs.LinuxNamespace{Type: specs.CgroupNamespace, Path: "proc/1/ns/cgroup"})
		}, []string{".path", "not an absolute path"}},
		{"time offsets without time ns", func(s *specs.Spec) {
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}}
		}, []string{"linux.timeOffsets", "new time namespace"}},
		{"time offsets with joined time ns", func(s *specs.Spec) {
			withNamespace(s, specs.LinuxNamespace{Type: specs.TimeNamespace, Path: "/proc/self/ns/time"})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}}
		}, []string{"linux.timeOffsets", "new time namespace"}},
		{"time offsets unknown clock", func(s *specs.Spec) {
			withNamespace(s, specs.LinuxNamespace{Type: specs.TimeNamespace})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"realtime": {Secs: 10}}
		}, []string{`unknown clock "realtime"`}},

		// ID mappings.
		{"uid map without user ns", func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
		}, []string{"linux.uidMappings: set", "no user namespace"}},
		{"gid map without user ns", func(s *specs.Spec) {
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
		}, []string{"linux.gidMappings: set", "no user namespace"}},
		{"new user ns without uid map", func(s *specs.Spec) { withUserNamespace(s); s.Linux.UIDMappings = nil },
			[]string{"linux.uidMappings: empty"}},
		{"new user ns without gid map", func(s *specs.Spec) { withUserNamespace(s); s.Linux.GIDMappings = nil },
			[]string{"linux.gidMappings: empty"}},
		{"overlapping container uids", func(s *specs.Spec) {
			withUserNamespace(s)
			s.Linux.UIDMappings = append(s.Linux.UIDMappings, specs.LinuxIDMapping{ContainerID: 65535, HostID: 300000, Size: 10})
		}, []string{"linux.uidMappings[1]", "container ids 65535-65544 overlap linux.uidMappings[0]"}},
		{"overlapping host gids", func(s *specs.Spec) {
			withUserNamespace(s)
			s.Linux.GIDMappings = append(s.Linux.GIDMappings, specs.LinuxIDMapping{ContainerID: 70000, HostID: 100000, Size: 1})
		}, []string{"linux.gidMappings[1]", "host ids 100000-100000 overlap"}},
		{"zero-size map", func(s *specs.Spec) {
			withUserNamespace(s)
			s.Linux.UIDMappings[0].Size = 0
		}, []string{"linux.uidMappings[0]: size is 0"}},
		{"wrapping map", func(s *specs.Spec) {
			withUserNamespace(s)
			s.Linux.UIDMappings[0].HostID = 4294967295
		}, []string{"linux.uidMappings[0]", "past id 4294967295"}},
		{"idmap on a tmpfs mount", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs",
				UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}},
				GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}})
		}, []string{`mounts[7]: mount "tmpfs" (type "tmpfs") on "/data"`, "only allowed on bind mounts"}},
		{"idmap option on a non-bind mount", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs", Options: []string{"idmap"}})
		}, []string{`mounts[7]: mount "tmpfs" (type "tmpfs") on "/data"`, "only allowed on bind mounts"}},
		{"overlapping mount idmap", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/tmp", Options: []string{"rbind"},
				UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 10}, {ContainerID: 5, HostID: 2000, Size: 1}},
				GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}})
		}, []string{"mounts[7].uidMappings[1]", "container ids 5-5 overlap mounts[7].uidMappings[0]"}},

		// Mount destinations.
		{"relative mount destination", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "data", Type: "tmpfs", Source: "tmpfs"})
		}, []string{`mounts[7]: mount "tmpfs" (type "tmpfs") on "data"`, "absolute path"}},
		{"escaping mount destination", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/../../etc", Type: "tmpfs", Source: "tmpfs"})
		}, []string{`mounts[7]: mount "tmpfs" (type "tmpfs") on "/../../etc"`, "'..'"}},

		// Sysctls.
		{"core_pattern", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"kernel.core_pattern": "|/tmp/x"} },
			[]string{`linux.sysctl "kernel.core_pattern"`, "not a namespaced sysctl"}},
		{"vm sysctl", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"vm.overcommit_memory": "1"} },
			[]string{`linux.sysctl "vm.overcommit_memory"`, "not a namespaced sysctl"}},
		{"net sysctl without netns", func(s *specs.Spec) {
			withoutNamespace(s, specs.NetworkNamespace)
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, []string{`linux.sysctl "net.ipv4.ip_forward"`, "own network namespace"}},
		{"net sysctl with the host netns joined", func(s *specs.Spec) {
			withoutNamespace(s, specs.NetworkNamespace)
			withNamespace(s, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/proc/self/ns/net"})
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, []string{`linux.sysctl "net.ipv4.ip_forward"`, "own network namespace"}},
		{"ipc sysctl without ipc ns", func(s *specs.Spec) {
			withoutNamespace(s, specs.IPCNamespace)
			s.Linux.Sysctl = map[string]string{"kernel.shmmax": "1"}
		}, []string{`linux.sysctl "kernel.shmmax"`, "own ipc namespace"}},
		{"mqueue sysctl without ipc ns", func(s *specs.Spec) {
			withoutNamespace(s, specs.IPCNamespace)
			s.Linux.Sysctl = map[string]string{"fs.mqueue.msg_max": "1"}
		}, []string{`linux.sysctl "fs.mqueue.msg_max"`, "own ipc namespace"}},
		{"hostname sysctl without uts ns", func(s *specs.Spec) {
			withoutNamespace(s, specs.UTSNamespace)
			s.Hostname = ""
			s.Linux.Sysctl = map[string]string{"kernel.hostname": "x"}
		}, []string{`linux.sysctl "kernel.hostname"`, "own uts namespace"}},
		{"sysctl path traversal", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"net.ipv4/../../../kernel/core_pattern": "x"} },
			[]string{"linux.sysctl", "character '/' not allowed"}},
		{"sysctl dotdot", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"net..ipv4": "x"} },
			[]string{"linux.sysctl", "empty component"}},

		// UTS.
		{"hostname without uts ns", func(s *specs.Spec) { withoutNamespace(s, specs.UTSNamespace) },
			[]string{`hostname "oci-rt"`, "own uts namespace"}},
		{"domainname without uts ns", func(s *specs.Spec) {
			withoutNamespace(s, specs.UTSNamespace)
			s.Hostname = ""
			s.Domainname = "example.org"
		}, []string{`domainname "example.org"`, "own uts namespace"}},
		{"hostname too long", func(s *specs.Spec) { s.Hostname = strings.Repeat("h", 65) }, []string{"hostname", "64 bytes"}},

		// Paths.
		{"relative masked path", func(s *specs.Spec) { s.Linux.MaskedPaths = []string{"proc/kcore"} },
			[]string{`linux.maskedPaths[0] "proc/kcore"`}},
		{"relative readonly path", func(s *specs.Spec) { s.Linux.ReadonlyPaths = []string{"proc/sys"} },
			[]string{`linux.readonlyPaths[0] "proc/sys"`}},
		{"masked path with ..", func(s *specs.Spec) { s.Linux.MaskedPaths = []string{"/proc/../etc/shadow"} },
			[]string{`linux.maskedPaths[0] "/proc/../etc/shadow"`, `".."`}},
		{"readonly path ending in ..", func(s *specs.Spec) { s.Linux.ReadonlyPaths = []string{"/proc/sys", "/sys/.."} },
			[]string{`linux.readonlyPaths[1] "/sys/.."`, `".."`}},
		{"rootfs propagation", func(s *specs.Spec) { s.Linux.RootfsPropagation = "rprivate,shared" },
			[]string{`linux.rootfsPropagation "rprivate,shared"`}},

		// Hooks.
		{"relative hook path", func(s *specs.Spec) { s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "hook.sh"}}} },
			[]string{`hooks.poststart[0].path "hook.sh"`, "not an absolute path"}},
		{"zero hook timeout", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true", Timeout: ptr(0)}}}
		}, []string{"hooks.createRuntime[0].timeout 0"}},
		{"negative hook timeout", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/true", Timeout: ptr(-5)}}}
		}, []string{"hooks.prestart[0].timeout -5"}},
		{"hook env", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true", Env: []string{"X"}}}}
		}, []string{`hooks.poststop[0].env[0] "X"`}},

		// Cgroups.
		{"cgroupsPath with ..", func(s *specs.Spec) { s.Linux.CgroupsPath = "/oci-rt/../../x" },
			[]string{`linux.cgroupsPath "/oci-rt/../../x"`, `".."`}},
		{"relative cgroupsPath with ..", func(s *specs.Spec) { s.Linux.CgroupsPath = "../x" }, []string{"linux.cgroupsPath", `".."`}},
		{"cgroupsPath NUL", func(s *specs.Spec) { s.Linux.CgroupsPath = "a\x00b" }, []string{"linux.cgroupsPath", "NUL"}},
		{"hugepage ../x", func(s *specs.Spec) {
			s.Linux.Resources.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "../x", Limit: 1}}
		}, []string{`linux.resources.hugepageLimits[0].pageSize "../x"`}},
		{"hugepage lowercase", func(s *specs.Spec) {
			s.Linux.Resources.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2mb"}}
		}, []string{`pageSize "2mb"`}},
		{"hugepage no digits", func(s *specs.Spec) {
			s.Linux.Resources.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "MB"}}
		}, []string{`pageSize "MB"`}},
		{"unified slash", func(s *specs.Spec) { s.Linux.Resources.Unified = map[string]string{"../memory.max": "1"} },
			[]string{`linux.resources.unified "../memory.max"`}},
		{"unified dotdot", func(s *specs.Spec) { s.Linux.Resources.Unified = map[string]string{"..": "1"} },
			[]string{`linux.resources.unified ".."`}},
		{"device rule type", func(s *specs.Spec) {
			s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{Type: "x"})
		}, []string{"linux.resources.devices[1]", `type "x"`}},
		{"device rule access", func(s *specs.Spec) {
			s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{Type: "c", Access: "rwx"})
		}, []string{"linux.resources.devices[1]", `access "rwx"`}},

		// linux.devices.
		{"device outside /dev", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/etc/null", Type: "c", Major: 1, Minor: 3}}
		}, []string{`linux.devices[0].path "/etc/null"`, "under /dev"}},
		{"device escaping /dev", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/../etc/null", Type: "c", Major: 1, Minor: 3}}
		}, []string{`linux.devices[0].path "/dev/../etc/null"`, "under /dev"}},
		{"device is /dev", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev", Type: "c", Major: 1, Minor: 3}}
		}, []string{`linux.devices[0].path "/dev"`}},
		{"device relative", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "dev/null", Type: "c", Major: 1, Minor: 3}}
		}, []string{`linux.devices[0].path "dev/null"`, "not an absolute path"}},
		{"device type", func(s *specs.Spec) { s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "s"}} },
			[]string{`linux.devices[0].type "s"`}},
		{"device twice", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "p"}, {Path: "/dev//x", Type: "p"}}
		}, []string{"linux.devices[1].path", "more than once"}},
		{"device number", func(s *specs.Spec) { s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "c", Major: -1}} },
			[]string{"linux.devices[0]", "out of range"}},
		{"device mode", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "c", Major: 1, Minor: 3, FileMode: ptr(os.FileMode(0o170666))}}
		}, []string{"linux.devices[0].fileMode"}},
		{"device mode of another type", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "c", Major: 1, Minor: 3, FileMode: ptr(os.FileMode(0o060666))}}
		}, []string{"linux.devices[0].fileMode 060666", `type "c"`}},
		{"fifo mode with char type bits", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "p", FileMode: ptr(os.FileMode(0o020600))}}
		}, []string{"linux.devices[0].fileMode", `type "p"`}},

		// Seccomp, personality.
		{"seccomp unknown action", func(s *specs.Spec) { s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_MAYBE"} },
			[]string{"seccomp", "SCMP_ACT_MAYBE"}},
		{"seccomp unknown arch", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_Z80"}}
		}, []string{"seccomp", "SCMP_ARCH_Z80"}},
		{"seccomp error quoting a newline", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
				Syscalls: []specs.LinuxSyscall{{Names: []string{"read\nwrite"}, Action: "SCMP_ACT_BAD"}}}
		}, []string{"seccomp", `read\nwrite`, "SCMP_ACT_BAD"}},
		{"personality domain", func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: "PER_BSD"} },
			[]string{`linux.personality.domain "PER_BSD"`}},
		{"personality flag", func(s *specs.Spec) {
			s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}
		}, []string{`unknown flag "ADDR_NO_RANDOMIZE"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := DefaultSpec(false)
			tc.mutate(spec)
			err := Validate(spec)
			requireOneLineError(t, err, tc.mention...)
			t.Log(err)
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*specs.Spec)
	}{
		{"default", func(*specs.Spec) {}},
		{"NGROUPS_MAX additional gids", func(s *specs.Spec) { s.Process.User.AdditionalGids = make([]uint32, 65536) }},
		{"masked and readonly paths with dots in names", func(s *specs.Spec) {
			s.Linux.MaskedPaths = []string{"/proc/..hidden", "/sys/./firmware"}
			s.Linux.ReadonlyPaths = []string{"/proc/sys..", "/a.b/c"}
		}},
		{"namespaced sysctls", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{
				"net.ipv4.ip_forward": "1", "kernel.shmmax": "1", "kernel.shm_rmid_forced": "1",
				"fs.mqueue.msg_max": "10", "kernel.domainname": "x",
				"net.ipv4.conf.all.rp_filter": "0", "net.ipv6.conf.default.disable_ipv6": "1",
			}
		}},
		{"net sysctl in a joined netns that is not ours", func(s *specs.Spec) {
			withoutNamespace(s, specs.NetworkNamespace)
			withNamespace(s, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/run/netns/does-not-exist"})
			s.Linux.Sysctl = map[string]string{"net.core.somaxconn": "1024"}
		}},
		{"user namespace with several maps", func(s *specs.Spec) {
			withUserNamespace(s)
			s.Linux.UIDMappings = append(s.Linux.UIDMappings, specs.LinuxIDMapping{ContainerID: 65536, HostID: 200000, Size: 1})
		}},
		{"joined user namespace without maps", func(s *specs.Spec) {
			withNamespace(s, specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/1/ns/user"})
		}},
		{"time namespace with offsets", func(s *specs.Spec) {
			withNamespace(s, specs.LinuxNamespace{Type: specs.TimeNamespace})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: -10}, "boottime": {Secs: 3600, Nanosecs: 999999999}}
		}},
		{"idmapped bind mount", func(s *specs.Spec) {
			withUserNamespace(s)
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/tmp", Options: []string{"rbind", "idmap"},
				UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}},
				GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}})
		}},
		{"everything set sanely", func(s *specs.Spec) {
			s.Process.User.Umask = ptr(uint32(0o022))
			s.Process.OOMScoreAdj = ptr(-1000)
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 99, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_IDLE, Priority: 7}
			// A blank and a trailing comma, which runc and the kernel allow.
			s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0", Final: "0-1, 3,5-7,"}
			s.Process.ApparmorProfile = "docker-default"
			s.Process.SelinuxLabel = "system_u:system_r:container_t:s0:c1,c2"
			s.Linux.MountLabel = "system_u:object_r:container_file_t:s0"
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_CORE", Soft: 0, Hard: ^uint64(0)})
			s.Domainname = "example.org"
			s.Linux.CgroupsPath = "/oci-rt/..data/x"
			s.Linux.RootfsPropagation = "rslave"
			s.Linux.Resources.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB"}, {Pagesize: "1GB"}, {Pagesize: "64KB"}}
			s.Linux.Resources.Unified = map[string]string{"memory.high": "1G", "io.weight": "default 100"}
			s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(-1)), Access: "rwm"})
			s.Linux.Devices = []specs.LinuxDevice{
				{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: ptr(os.FileMode(0o666))},
				{Path: "/dev/net/tun", Type: "c", Major: 10, Minor: 200},
				{Path: "/dev/fifo", Type: "p"},
				// Podman's --device: the file type bits come along.
				{Path: "/dev/null2", Type: "c", Major: 1, Minor: 3, FileMode: ptr(os.FileMode(0o020666))},
				{Path: "/dev/loop9", Type: "b", Major: 7, Minor: 9, FileMode: ptr(os.FileMode(0o060660))},
				{Path: "/dev/fifo2", Type: "p", FileMode: ptr(os.FileMode(0o010644))},
			}
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true", Args: []string{"true"}, Env: []string{"A=1"}, Timeout: ptr(5)}}}
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "no_such_syscall"}, Action: specs.ActAllow}}}
			s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := DefaultSpec(false)
			tc.mutate(spec)
			if err := Validate(spec); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestValidateNil(t *testing.T) {
	requireOneLineError(t, Validate(nil), "config is empty")
}

// A config with several bad entries in one map must get the same error on
// every run: map order is random in Go, so the first bad key found was not
// always the same one. The entries are checked in sorted key order now;
// ValidateHost's network devices likewise.
func TestValidateReportsTheSameProblemEveryTime(t *testing.T) {
	userAndTime := []specs.LinuxNamespace{{Type: specs.UserNamespace}, {Type: specs.TimeNamespace}}
	for _, tc := range []struct {
		name   string
		mutate func(*specs.Spec)
		want   string
	}{
		{"sysctls", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"vm.swappiness": "1", "kernel.core_pattern": "|/x", "fs.file-max": "1"}
		}, `linux.sysctl "fs.file-max"`},
		{"unified", func(s *specs.Spec) {
			s.Linux.Resources.Unified = map[string]string{"z/../x": "1", "b/../x": "1", "m/../x": "1"}
		}, `linux.resources.unified "b/../x"`},
		{"rdma", func(s *specs.Spec) {
			s.Linux.Resources.Rdma = map[string]specs.LinuxRdma{"z/0": {}, "a/0": {}, "m/0": {}}
		}, `linux.resources.rdma "a/0"`},
		{"time offsets", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, userAndTime...)
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"zulu": {}, "alpha": {}, "mars": {}}
		}, `unknown clock "alpha"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := DefaultSpec(false)
			tc.mutate(spec)
			for range 50 {
				requireOneLineError(t, Validate(spec), tc.want)
			}
		})
	}
	t.Run("net devices", func(t *testing.T) {
		spec := DefaultSpec(false)
		spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{"z/0": {}, "a/0": {}, "m/0": {}}
		for range 50 {
			requireOneLineError(t, ValidateHost(spec), `linux.netDevices["a/0"]`)
		}
	})
}
