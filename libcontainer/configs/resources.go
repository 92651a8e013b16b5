package configs

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// validateCgroupsPath keeps the cgroup inside the hierarchy: the path is
// joined onto the cgroup mount, so ".." could climb out of it.
func validateCgroupsPath(spec *specs.Spec) error {
	p := spec.Linux.CgroupsPath
	if strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("linux.cgroupsPath %q: contains a NUL byte", p)
	}
	for component := range strings.SplitSeq(p, "/") {
		if component == ".." {
			return fmt.Errorf("linux.cgroupsPath %q: \"..\" components are not allowed", p)
		}
	}
	return nil
}

func validateResources(spec *specs.Spec) error {
	r := spec.Linux.Resources
	if r == nil {
		return nil
	}
	for i, rule := range r.Devices {
		if err := validateDeviceRule(rule); err != nil {
			return fmt.Errorf("linux.resources.devices[%d]: %w", i, err)
		}
	}
	for i, limit := range r.HugepageLimits {
		if !isHugepageSize(limit.Pagesize) {
			return fmt.Errorf("linux.resources.hugepageLimits[%d].pageSize %q: not a size like 2MB or 1GB", i, limit.Pagesize)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(r.Unified)) {
		if err := validateUnifiedKey(key); err != nil {
			return fmt.Errorf("linux.resources.unified %q: %w", key, err)
		}
	}
	for _, device := range slices.Sorted(maps.Keys(r.Rdma)) {
		if device == "" || strings.ContainsAny(device, " \t\r\n/") {
			return fmt.Errorf("linux.resources.rdma %q: not an RDMA device name", device)
		}
	}
	return nil
}

func validateDeviceRule(rule specs.LinuxDeviceCgroup) error {
	switch rule.Type {
	case "", "a", "b", "c":
	default:
		return fmt.Errorf("type %q: not a, b or c", rule.Type)
	}
	for _, number := range []*int64{rule.Major, rule.Minor} {
		if number != nil && *number < -1 {
			return fmt.Errorf("device number %d: negative (use -1 or leave it out for any)", *number)
		}
	}
	for _, c := range []byte(rule.Access) {
		if c != 'r' && c != 'w' && c != 'm' {
			return fmt.Errorf("access %q: only r, w and m are allowed", rule.Access)
		}
	}
	return nil
}

// isHugepageSize accepts "<digits><K|M|G>B", the form the kernel uses in
// hugetlb.<size>.max; the size becomes part of a file name.
func isHugepageSize(size string) bool {
	digits := strings.TrimRight(size, "KMGB")
	suffix := size[len(digits):]
	if digits == "" || (suffix != "KB" && suffix != "MB" && suffix != "GB") {
		return false
	}
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validateUnifiedKey keeps a unified key a file name in the container's own
// cgroup directory.
func validateUnifiedKey(key string) error {
	switch {
	case key == "" || key == "." || key == "..":
		return errors.New("not a cgroup file name")
	case strings.ContainsAny(key, "/\x00"):
		return errors.New("must be a file name, without '/'")
	case strings.Contains(key, ".."):
		return errors.New("must not contain \"..\"")
	}
	return nil
}

// validateDevices checks linux.devices, which become device nodes: they must
// land under /dev, never elsewhere in the rootfs.
func validateDevices(spec *specs.Spec) error {
	seen := make(map[string]bool)
	for i, dev := range spec.Linux.Devices {
		field := fmt.Sprintf("linux.devices[%d]", i)
		if err := requireAbsolute(field+".path", dev.Path); err != nil {
			return err
		}
		clean := path.Clean(dev.Path)
		if !strings.HasPrefix(clean, "/dev/") || hasDotDot(dev.Path) {
			return fmt.Errorf("%s.path %q: must be under /dev", field, dev.Path)
		}
		if seen[clean] {
			return fmt.Errorf("%s.path %q: listed more than once", field, dev.Path)
		}
		seen[clean] = true
		switch dev.Type {
		case "c", "b", "u", "p":
		default:
			return fmt.Errorf("%s.type %q: not c, b, u or p", field, dev.Type)
		}
		if dev.Major < 0 || dev.Minor < 0 || dev.Major > 0xfff || dev.Minor > 0xfffff {
			return fmt.Errorf("%s: device number %d:%d out of range", field, dev.Major, dev.Minor)
		}
		if dev.FileMode != nil {
			if err := validateDeviceFileType(uint32(*dev.FileMode), dev.Type); err != nil {
				return fmt.Errorf("%s.fileMode %#o: %w", field, uint32(*dev.FileMode), err)
			}
		}
	}
	return nil
}

// validateDeviceFileType accepts a fileMode that carries file-type bits
// besides the permissions, as Podman sends (020666 for a character device)
// and runc accepts, but only when they name the same kind of node as the
// device's type: anything else would make mknod create a different node.
func validateDeviceFileType(mode uint32, devType string) error {
	typeBits := mode &^ 0o7777
	if typeBits == 0 {
		return nil
	}
	want := map[string]uint32{"c": unix.S_IFCHR, "u": unix.S_IFCHR, "b": unix.S_IFBLK, "p": unix.S_IFIFO}[devType]
	if typeBits != want {
		return fmt.Errorf("file type bits %#o do not match type %q (want %#o or none)", typeBits, devType, want)
	}
	return nil
}

func hasDotDot(p string) bool {
	for component := range strings.SplitSeq(p, "/") {
		if component == ".." {
			return true
		}
	}
	return false
}
