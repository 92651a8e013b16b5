package rootfs

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/nsenter"
)

func TestParseMountOptions(t *testing.T) {
	cases := []struct {
		options []string
		want    mountOptions
	}{
		{[]string{"ro"}, mountOptions{attrSet: unix.MOUNT_ATTR_RDONLY}},
		{[]string{"ro", "rw"}, mountOptions{attrClr: unix.MOUNT_ATTR_RDONLY}},
		{[]string{"nosuid", "nodev", "noexec"}, mountOptions{attrSet: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC}},
		{[]string{"suid", "dev", "exec"}, mountOptions{attrClr: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC}},
		{[]string{"nodiratime"}, mountOptions{attrSet: unix.MOUNT_ATTR_NODIRATIME}},
		{[]string{"diratime"}, mountOptions{attrClr: unix.MOUNT_ATTR_NODIRATIME}},
		{[]string{"nosymfollow"}, mountOptions{attrSet: unix.MOUNT_ATTR_NOSYMFOLLOW}},
		{[]string{"noatime"}, mountOptions{attrSet: unix.MOUNT_ATTR_NOATIME, attrClr: unix.MOUNT_ATTR__ATIME}},
		{[]string{"strictatime"}, mountOptions{attrSet: unix.MOUNT_ATTR_STRICTATIME, attrClr: unix.MOUNT_ATTR__ATIME}},
		{[]string{"noatime", "relatime"}, mountOptions{attrSet: unix.MOUNT_ATTR_RELATIME, attrClr: unix.MOUNT_ATTR__ATIME}},
		{[]string{"noatime", "atime"}, mountOptions{attrClr: unix.MOUNT_ATTR__ATIME}},
		{[]string{"strictatime", "nostrictatime"}, mountOptions{attrClr: unix.MOUNT_ATTR__ATIME}},
		{[]string{"norelatime"}, mountOptions{attrClr: unix.MOUNT_ATTR__ATIME}},
		{[]string{"rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow"}, mountOptions{recAttrSet: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_NOSYMFOLLOW}},
		{[]string{"rrw", "rsuid", "rdev", "rexec", "rdiratime", "rsymfollow"}, mountOptions{recAttrClr: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NODIRATIME | unix.MOUNT_ATTR_NOSYMFOLLOW}},
		{[]string{"rnoatime"}, mountOptions{recAttrSet: unix.MOUNT_ATTR_NOATIME, recAttrClr: unix.MOUNT_ATTR__ATIME}},
		{[]string{"rstrictatime"}, mountOptions{recAttrSet: unix.MOUNT_ATTR_STRICTATIME, recAttrClr: unix.MOUNT_ATTR__ATIME}},
		{[]string{"ratime"}, mountOptions{recAttrClr: unix.MOUNT_ATTR__ATIME}},
		{[]string{"rrelatime"}, mountOptions{recAttrClr: unix.MOUNT_ATTR__ATIME}},
		{[]string{"rnorelatime", "rnostrictatime"}, mountOptions{recAttrClr: unix.MOUNT_ATTR__ATIME}},
		{[]string{"sync", "async", "dirsync", "mand", "nomand", "lazytime", "nolazytime"}, mountOptions{superblockFlags: []string{"sync", "dirsync", "mand", "lazytime"}}},
		{[]string{"bind"}, mountOptions{bind: true}},
		{[]string{"rbind"}, mountOptions{bind: true, recursiveBind: true}},
		{[]string{"remount"}, mountOptions{remount: true}},
		{[]string{"idmap"}, mountOptions{idmap: true}},
		{[]string{"ridmap"}, mountOptions{idmap: true, recursiveIdmap: true}},
		{[]string{"defaults"}, mountOptions{}},
		{[]string{"acl", "noacl", "iversion", "noiversion", "silent", "loud"}, mountOptions{}},
		{[]string{"tmpcopyup", "mode=1777"}, mountOptions{copyUp: true, data: []string{"mode=1777"}}},
		{[]string{"private"}, mountOptions{propagation: unix.MS_PRIVATE}},
		{[]string{"rprivate"}, mountOptions{propagation: unix.MS_PRIVATE, recursivePropagation: true}},
		{[]string{"shared"}, mountOptions{propagation: unix.MS_SHARED}},
		{[]string{"rshared"}, mountOptions{propagation: unix.MS_SHARED, recursivePropagation: true}},
		{[]string{"slave"}, mountOptions{propagation: unix.MS_SLAVE}},
		{[]string{"rslave"}, mountOptions{propagation: unix.MS_SLAVE, recursivePropagation: true}},
		{[]string{"unbindable"}, mountOptions{propagation: unix.MS_UNBINDABLE}},
		{[]string{"runbindable"}, mountOptions{propagation: unix.MS_UNBINDABLE, recursivePropagation: true}},
		{[]string{"mode=755", "size=65536k", "newinstance", "rsize"}, mountOptions{data: []string{"mode=755", "size=65536k", "newinstance", "rsize"}}},
	}
	for _, c := range cases {
		got, err := parseMountOptions(c.options)
		if err != nil {
			t.Errorf("%v: %v", c.options, err)
			continue
		}
		// TestRemountFlags checks runc's flag word.
		got.remountFlags = 0
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v:\n got %+v\nwant %+v", c.options, got, c.want)
		}
	}
}

// TestRemountFlags: the flag word follows runc's, in which options only
// set or clear their own flag, the last one wins and the r* options have
// no say.
func TestRemountFlags(t *testing.T) {
	cases := []struct {
		options []string
		want    uint64
	}{
		{[]string{"rbind"}, 0},
		{[]string{"rbind", "rw"}, 0},
		{[]string{"ro", "rw"}, 0},
		{[]string{"rw", "ro"}, unix.MS_RDONLY},
		{[]string{"rbind", "nosuid", "nodev"}, unix.MS_NOSUID | unix.MS_NODEV},
		{[]string{"noatime", "atime"}, 0},
		{[]string{"relatime"}, unix.MS_RELATIME},
		{[]string{"strictatime", "nostrictatime"}, 0},
		{[]string{"nodiratime", "noexec"}, unix.MS_NODIRATIME | unix.MS_NOEXEC},
		{[]string{"sync", "async", "dirsync"}, unix.MS_DIRSYNC},
		{[]string{"rro", "rnosuid", "rnoatime", "shared", "mode=755"}, 0},
	}
	for _, c := range cases {
		got, err := parseMountOptions(c.options)
		if err != nil {
			t.Fatalf("%v: %v", c.options, err)
		}
		if got.remountFlags != c.want {
			t.Errorf("%v: flags %#x, want %#x", c.options, got.remountFlags, c.want)
		}
	}
}

// TestBindRemountAttr: no flag, no change; otherwise the listed flags are
// exact and the atime field changes only when an option names it.
func TestBindRemountAttr(t *testing.T) {
	const exact = unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NOSYMFOLLOW
	const atime = unix.MOUNT_ATTR__ATIME | unix.MOUNT_ATTR_NODIRATIME
	cases := []struct {
		flags uint64
		want  unix.MountAttr
	}{
		{0, unix.MountAttr{}},
		{unix.MS_NOSUID, unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NOSUID, Attr_clr: exact &^ unix.MOUNT_ATTR_NOSUID}},
		{unix.MS_RDONLY | unix.MS_NODEV, unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NODEV, Attr_clr: exact &^ (unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NODEV)}},
		{unix.MS_STRICTATIME, unix.MountAttr{Attr_set: unix.MOUNT_ATTR_STRICTATIME, Attr_clr: exact | atime}},
		{unix.MS_NOATIME | unix.MS_STRICTATIME, unix.MountAttr{Attr_set: unix.MOUNT_ATTR_STRICTATIME, Attr_clr: exact | atime}},
		{unix.MS_RELATIME, unix.MountAttr{Attr_clr: exact | atime}},
		{unix.MS_NODIRATIME, unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NODIRATIME, Attr_clr: exact | unix.MOUNT_ATTR__ATIME}},
		{unix.MS_NOATIME | unix.MS_NOEXEC, unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NOATIME | unix.MOUNT_ATTR_NOEXEC, Attr_clr: (exact &^ unix.MOUNT_ATTR_NOEXEC) | atime}},
	}
	for _, c := range cases {
		if got := bindRemountAttr(c.flags); got != c.want {
			t.Errorf("flags %#x: got %+v, want %+v", c.flags, got, c.want)
		}
	}
}

func TestParseMountOptionsErrors(t *testing.T) {
	for _, options := range [][]string{{""}, {"rw", ""}} {
		if _, err := parseMountOptions(options); err == nil {
			t.Errorf("%q: expected an error", options)
		}
	}
}

func TestValidateMount(t *testing.T) {
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	good := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755"}},
		{Destination: "/data", Type: "bind", Source: "data"},
		{Destination: "/data", Type: "none", Source: "/srv", Options: []string{"rbind", "rro"}},
		{Destination: "/data", Source: "/srv", Options: []string{"bind", "idmap"}},
		{Destination: "/data", Type: "bind", Source: "/srv", UIDMappings: maps, GIDMappings: maps},
		{Destination: "/proc/cpuinfo", Type: "bind", Source: "/var/lib/lxcfs/proc/cpuinfo"},
		{Destination: "/sys/fs/cgroup", Type: "cgroup2", Source: "cgroup"},
		{Destination: "/a/./b/", Type: "tmpfs"},
		{Destination: "/x", Type: "fuse.sshfs", Source: "host:/"},
		{Destination: "/x", Type: "9p", Source: "share"},
		{Destination: "/x", Type: "fuse.my_fs-2", Source: "share"},
		{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"rw", "rprivate", "nosuid", "nodev", "tmpcopyup"}},
	}
	for _, m := range good {
		if err := ValidateMount(m); err != nil {
			t.Errorf("%+v: unexpected error %v", m, err)
		}
	}
	bad := []struct {
		m    specs.Mount
		word string
	}{
		{specs.Mount{Destination: "data", Type: "tmpfs"}, "absolute"},
		{specs.Mount{Destination: "", Type: "tmpfs"}, "absolute"},
		{specs.Mount{Destination: "/a/../../etc", Type: "tmpfs"}, "'..'"},
		{specs.Mount{Destination: "/", Type: "tmpfs"}, "root"},
		{specs.Mount{Destination: "/x\x00y", Type: "tmpfs"}, "NUL"},
		{specs.Mount{Destination: "/x", Type: ""}, "unknown filesystem type"},
		{specs.Mount{Destination: "/x", Type: "../tmpfs"}, "unknown filesystem type"},
		{specs.Mount{Destination: "/x", Type: "-tmpfs"}, "unknown filesystem type"},
		{specs.Mount{Destination: "/x", Type: ".tmpfs"}, "unknown filesystem type"},
		{specs.Mount{Destination: "/x", Type: "Tmpfs"}, "unknown filesystem type"},
		{specs.Mount{Destination: "/x", Type: "tmp fs"}, "unknown filesystem type"},
		{specs.Mount{Destination: "/x", Type: "tmpfs\n"}, "unknown filesystem type"},
		{specs.Mount{Destination: "/x", Type: "tmpfs/"}, "unknown filesystem type"},
		{specs.Mount{Destination: "/x", Type: "bind"}, "needs a source"},
		{specs.Mount{Destination: "/x", Type: "tmpfs", Options: []string{"idmap"}}, "only allowed on bind"},
		{specs.Mount{Destination: "/x", Type: "tmpfs", UIDMappings: maps, GIDMappings: maps}, "only allowed on bind"},
		{specs.Mount{Destination: "/x", Type: "bind", Source: "/s", UIDMappings: maps}, "together"},
		{specs.Mount{Destination: "/x", Type: "bind", Source: "/s", UIDMappings: []specs.LinuxIDMapping{{}}, GIDMappings: maps}, "size 0"},
		{specs.Mount{Destination: "/x", Type: "bind", Source: "/s", Options: []string{"remount"}}, "remount"},
		{specs.Mount{Destination: "/proc", Type: "tmpfs"}, "only a procfs"},
		{specs.Mount{Destination: "/proc", Type: "bind", Source: "/proc"}, "only a procfs"},
		{specs.Mount{Destination: "/proc/", Type: "overlay", Source: "/proc"}, "only a procfs"},
		{specs.Mount{Destination: "/proc/sys", Type: "bind", Source: "/tmp"}, "under /proc"},
		{specs.Mount{Destination: "/proc/sys/kernel/core_pattern", Type: "bind", Source: "/tmp/x"}, "under /proc"},
		{specs.Mount{Destination: "/proc/cpuinfo", Type: "tmpfs"}, "must be bind"},
	}
	for _, c := range bad {
		err := ValidateMount(c.m)
		if err == nil {
			t.Errorf("%+v: expected an error", c.m)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.word) || strings.Contains(msg, "\n") || !strings.Contains(msg, "mount ") {
			t.Errorf("%+v: error %q should be one line naming the mount and containing %q", c.m, msg, c.word)
		}
	}
}

func TestSysctlPath(t *testing.T) {
	for key, want := range map[string]string{
		"net.ipv4.ip_forward":             "sys/net/ipv4/ip_forward",
		"net.ipv4.conf.eth0/1.forwarding": "sys/net/ipv4/conf/eth0.1/forwarding",
		"kernel.shm_rmid_forced":          "sys/kernel/shm_rmid_forced",
	} {
		if got, err := sysctlPath(key); err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", key, got, err, want)
		}
	}
	for _, key := range []string{"", "net..x", "net.ipv4./..", "kernel."} {
		if _, err := sysctlPath(key); err == nil {
			t.Errorf("%q: expected an error", key)
		}
	}
}

// Only a propagation that can leave the mount above the rootfs shared makes
// prepareRoot read mountinfo: the recursive non-shared ones (the default
// among them) leave no mount of the namespace shared.
func TestMayLeaveMountsShared(t *testing.T) {
	for name, want := range map[string]bool{
		"": false, "rslave": false, "rprivate": false, "runbindable": false,
		"shared": true, "rshared": true, "slave": true, "private": true, "unbindable": true,
	} {
		if got := mayLeaveMountsShared(name); got != want {
			t.Errorf("mayLeaveMountsShared(%q) = %v, want %v", name, got, want)
		}
	}
}

// The settings of a new filesystem are its source, then its superblock
// flags, then its data options in order, each a string where it has a
// value and a flag where it has none.
func TestFilesystemSettings(t *testing.T) {
	opts := mountOptions{superblockFlags: []string{"ro"}, data: []string{"size=1m", "nr_inodes=0", "noswap", "mode="}}
	got := filesystemSettings("shm", opts)
	want := []nsenter.FilesystemSetting{
		{Key: "source", Value: "shm"}, {Key: "ro", Flag: true},
		{Key: "size", Value: "1m"}, {Key: "nr_inodes", Value: "0"}, {Key: "noswap", Flag: true}, {Key: "mode", Value: ""},
	}
	if !slices.Equal(got, want) {
		t.Errorf("settings %+v, want %+v", got, want)
	}
	if got := filesystemSettings("", mountOptions{}); len(got) != 0 {
		t.Errorf("no source and no options: settings %+v, want none", got)
	}
}
