// Package cgroups is what every cgroup driver shares: the Manager
// interface a container's cgroup is operated through, the host's layout
// (unified, hybrid or legacy), where a container's cgroup goes
// (cgroupsPath resolution), the statistics shape, and the resource
// conversions and file helpers both drivers use. The drivers are in
// cgroups/fs2 (v2, with an eBPF device filter) and cgroups/fs (v1, with
// runc's file mapping), device rules in cgroups/devices, and
// cgroups/manager picks a driver for a recorded Location. None of them
// knows about the command line; callers pass runtime-spec values and get
// errors that name the cgroup and the file.
package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/internal/sysfile"
)

// Candidate mountpoints of the unified hierarchy: a pure v2 system mounts it
// at /sys/fs/cgroup, hybrid systems (systemd's "unified" layout) one level down.
var mountpoints = []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}

// Mountpoint returns where the cgroup2 filesystem is mounted.
func Mountpoint() (string, error) {
	for _, p := range mountpoints {
		var st unix.Statfs_t
		if err := unix.Statfs(p, &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return p, nil
		}
	}
	return "", fmt.Errorf("no cgroup2 filesystem mounted at %s", strings.Join(mountpoints, " or "))
}

// ResolvePath turns linux.cgroupsPath into a path within the unified
// hierarchy (always starting with "/"), following the runtime spec: an
// absolute path is taken from the hierarchy's root, a relative one from the
// runtime's own cgroup (as runc does), and an empty one becomes
// defaultPath (see DefaultPath). Paths with ".." components, NUL or other control
// characters, and the root cgroup itself are rejected.
func ResolvePath(cgroupsPath, containerID, defaultPath string) (string, error) {
	own := ""
	if cgroupsPath != "" && !strings.HasPrefix(cgroupsPath, "/") {
		var err error
		if own, err = ownCgroup(); err != nil {
			return "", fmt.Errorf("cgroupsPath %q: %w", cgroupsPath, err)
		}
	}
	return resolvePath(cgroupsPath, containerID, own, defaultPath)
}

// ownCgroup is the caller's cgroup on the unified hierarchy.
func ownCgroup() (string, error) {
	data, err := sysfile.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("own cgroup: %w", err)
	}
	return parseOwnCgroup(data)
}

// MoveToOwn moves a process (all its threads) into the caller's own cgroup
// on the unified hierarchy. The runtime keeps a container's init there while
// it sets the container up, so that the memory the setup touches is charged
// to the runtime and not against the container's limits.
func MoveToOwn(pid int) error {
	own, err := ownCgroup()
	if err != nil {
		return err
	}
	root, err := Mountpoint()
	if err != nil {
		return err
	}
	return WriteFile(filepath.Join(root, own), "cgroup.procs", strconv.Itoa(pid), own)
}

func resolvePath(cgroupsPath, containerID, own, defaultPath string) (string, error) {
	switch {
	case cgroupsPath == "":
		if err := CheckName(containerID); err != nil {
			return "", fmt.Errorf("default cgroup for container %q: %w", containerID, err)
		}
		cgroupsPath = defaultPath
	case !strings.HasPrefix(cgroupsPath, "/"):
		cgroupsPath = own + "/" + cgroupsPath
	}
	p, err := CleanPath(cgroupsPath)
	if err != nil {
		return "", err
	}
	if p == "/" {
		return "", fmt.Errorf("cgroupsPath %q: the root cgroup cannot hold a container", cgroupsPath)
	}
	return p, nil
}

// parseOwnCgroup extracts the unified-hierarchy path from /proc/self/cgroup
// (the "0::" line, present on v2 and hybrid systems).
func parseOwnCgroup(data []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return CleanPath(p)
		}
	}
	return "", errors.New("no cgroup2 entry (0::) in /proc/self/cgroup")
}

// CleanPath validates a path within the hierarchy and returns it in canonical
// form. ".." is refused outright rather than resolved, so a configuration
// can never name a cgroup outside the subtree it appears to name.
func CleanPath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("cgroup path %q is not absolute", p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("cgroup path %q contains a control character", p)
		}
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return "", fmt.Errorf("cgroup path %q contains \"..\"", p)
		}
	}
	return path.Clean(p), nil
}

// CheckName validates a single path component.
func CheckName(n string) error {
	switch {
	case n == "", n == ".", n == "..":
		return fmt.Errorf("invalid name %q", n)
	case strings.ContainsAny(n, "/\x00"):
		return fmt.Errorf("name %q contains '/' or NUL", n)
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("name %q contains a control character", n)
		}
	}
	return nil
}
