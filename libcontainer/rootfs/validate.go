package rootfs

import (
	"errors"
	"fmt"
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// procOvermountAllowed lists the only places under /proc a mount may cover:
// lxcfs-style binds that fake per-container resource views. Anything else
// over procfs could hide a masked path or fake a file the runtime trusts.
var procOvermountAllowed = map[string]bool{
	"/proc/cpuinfo":                true,
	"/proc/diskstats":              true,
	"/proc/meminfo":                true,
	"/proc/stat":                   true,
	"/proc/swaps":                  true,
	"/proc/uptime":                 true,
	"/proc/loadavg":                true,
	"/proc/slabinfo":               true,
	"/proc/net/dev":                true,
	"/proc/sys/kernel/ns_last_pid": true,
	"/proc/pressure/cpu":           true,
	"/proc/pressure/io":            true,
	"/proc/pressure/memory":        true,
}

// isFsTypeName tells whether name has the shape of a filesystem type
// (/proc/filesystems lists e.g. "tmpfs", "cgroup2", "fuse.sshfs"): a
// lower-case letter or digit, then those, '.', '_' or '-'. A loop, not a
// regular expression: compiling one cost every create about 0.15 ms.
func isFsTypeName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return name != ""
}

// ValidateMount checks one spec mount without touching the system, so that a
// bad config fails at create time before anything exists.
func ValidateMount(m specs.Mount) error {
	if err := validateMount(m); err != nil {
		return fmt.Errorf("mount %q (type %q) on %q: %w", m.Source, m.Type, m.Destination, err)
	}
	return nil
}

func validateMount(m specs.Mount) error {
	dest := m.Destination
	if !path.IsAbs(dest) {
		return errors.New("destination must be an absolute path")
	}
	for _, part := range strings.Split(dest, "/") {
		if part == ".." {
			return errors.New("destination must not contain '..'")
		}
	}
	dest = path.Clean(dest)
	if dest == "/" {
		return errors.New("cannot mount over the container's root")
	}
	if strings.ContainsRune(dest, 0) || strings.ContainsRune(m.Source, 0) {
		return errors.New("path contains a NUL byte")
	}
	opts, err := parseMountOptions(m.Options)
	if err != nil {
		return err
	}
	bind := isBind(m, opts)
	if !bind && !isFsTypeName(m.Type) {
		return errors.New("unknown filesystem type (a bind mount needs the bind or rbind option)")
	}
	if bind && m.Source == "" {
		return errors.New("bind mount needs a source")
	}
	if (len(m.UIDMappings) == 0) != (len(m.GIDMappings) == 0) {
		return errors.New("uidMappings and gidMappings must be given together")
	}
	if (opts.idmap || len(m.UIDMappings) > 0) && !bind {
		return errors.New("idmap and uid/gid mappings are only allowed on bind mounts")
	}
	for _, maps := range [][]specs.LinuxIDMapping{m.UIDMappings, m.GIDMappings} {
		for _, idm := range maps {
			if idm.Size == 0 {
				return errors.New("id mapping with size 0")
			}
		}
	}
	if opts.remount && bind {
		return errors.New("remount cannot be combined with bind")
	}
	switch {
	case dest == "/proc":
		if m.Type != "proc" {
			return errors.New("only a procfs may be mounted on /proc")
		}
	case strings.HasPrefix(dest, "/proc/"):
		if !procOvermountAllowed[dest] {
			return errors.New("mounts under /proc are only allowed on lxcfs-style files such as /proc/cpuinfo")
		}
		if !bind {
			return errors.New("mounts under /proc must be bind mounts")
		}
	}
	return nil
}

// isBind follows runc: a mount is a bind when its type says so or when its
// options ask for one (type "none" with "rbind" is the common spelling).
func isBind(m specs.Mount, opts mountOptions) bool {
	return m.Type == "bind" || opts.bind
}

// IsReadOnlyMount tells whether setup mounts m read-only, its own options
// read the way setup reads them ("rw" after "ro" undoes it, "rro" makes
// it read-only too); a mount whose options do not parse counts as one.
func IsReadOnlyMount(m specs.Mount) bool {
	opts, err := parseMountOptions(m.Options)
	return err != nil || (opts.attrSet|opts.recAttrSet)&unix.MOUNT_ATTR_RDONLY != 0
}

// IsBindMount tells whether m is a bind as setup mounts it; a mount whose
// options do not parse is not one.
func IsBindMount(m specs.Mount) bool {
	opts, err := parseMountOptions(m.Options)
	return err == nil && isBind(m, opts)
}
