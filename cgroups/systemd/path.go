// Package systemd is the systemd cgroup driver: a container's cgroup is a
// transient systemd unit (a scope, or a slice when asked for one) that
// systemd creates over D-Bus with the container's resources as unit
// properties, so that systemd knows the limits and re-applies the same
// values whenever it re-realizes the cgroup (daemon-reload). Everything
// systemd has no property for is written into the cgroup by the fs or fs2
// driver this one wraps. It knows nothing of the command line.
package systemd

import (
	"fmt"
	"path"
	"strings"
)

// Unit is where a linux.cgroupsPath of the form "slice:prefix:name" puts
// a container: the unit Name, and the Slice it goes in.
type Unit struct {
	Slice string
	Name  string
}

// DefaultPrefix prefixes the scope of a container without cgroupsPath.
const DefaultPrefix = "oci-rt"

// ParsePath reads linux.cgroupsPath as runc's systemd driver does:
// "slice:prefix:name", each part possibly empty. An empty slice is
// system.slice, or -.slice (the root) for a rootless user manager; a name
// ending in ".slice" makes the container's unit that slice; any other name
// makes the scope "prefix-name.scope". An empty cgroupsPath is
// ":oci-rt:<containerID>".
func ParsePath(cgroupsPath, containerID string, rootless bool) (Unit, error) {
	if cgroupsPath == "" {
		cgroupsPath = ":" + DefaultPrefix + ":" + containerID
	}
	parts := strings.Split(cgroupsPath, ":")
	if len(parts) != 3 {
		return Unit{}, fmt.Errorf("cgroupsPath %q: expected the form \"slice:prefix:name\" for systemd cgroups", cgroupsPath)
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	if name == "" {
		return Unit{}, fmt.Errorf("cgroupsPath %q: the name (after the second ':') is empty", cgroupsPath)
	}
	if slice == "" {
		slice = "system.slice"
		if rootless {
			slice = "-.slice"
		}
	}
	if _, err := ExpandSlice(slice); err != nil {
		return Unit{}, fmt.Errorf("cgroupsPath %q: %w", cgroupsPath, err)
	}
	u := Unit{Slice: slice, Name: name}
	if !u.IsSlice() {
		u.Name = prefix + "-" + name + ".scope"
	}
	if err := checkUnitName(u.Name); err != nil {
		return Unit{}, fmt.Errorf("cgroupsPath %q: %w", cgroupsPath, err)
	}
	if u.IsSlice() {
		if _, err := ExpandSlice(u.Name); err != nil {
			return Unit{}, fmt.Errorf("cgroupsPath %q: %w", cgroupsPath, err)
		}
	}
	return u, nil
}

// IsSlice tells whether the container's unit is a slice rather than a
// scope.
func (u Unit) IsSlice() bool { return strings.HasSuffix(u.Name, ".slice") }

// CgroupPath is the unit's cgroup, as systemd names it: a scope sits in its
// slice's cgroup; a slice's place follows from its own name alone (systemd
// ignores where the config puts it), so "a-b.slice" is /a.slice/a-b.slice.
func (u Unit) CgroupPath() string {
	if u.IsSlice() {
		p, _ := ExpandSlice(u.Name)
		return p
	}
	p, _ := ExpandSlice(u.Slice)
	if p == "/" {
		return "/" + u.Name
	}
	return p + "/" + u.Name
}

// ParentMismatch says, for a slice unit whose given parent slice is not
// the one systemd will put it in, what happens instead (runc accepts such
// paths; a warning is all they get). Empty when the parent is right.
func (u Unit) ParentMismatch() string {
	if !u.IsSlice() {
		return ""
	}
	parent, _ := ExpandSlice(u.Slice)
	own := u.CgroupPath()
	if path.Dir(own) == parent {
		return ""
	}
	return fmt.Sprintf("systemd places slice %s at %s, not in %s as the cgroupsPath asks", u.Name, own, u.Slice)
}

// ExpandSlice turns a slice name into its cgroup path: systemd nests a
// slice in the slices its dash-separated prefixes name, so "a-b-c.slice"
// is /a.slice/a-b.slice/a-b-c.slice, and "-.slice" is the root.
func ExpandSlice(slice string) (string, error) {
	base, ok := strings.CutSuffix(slice, ".slice")
	if !ok {
		return "", fmt.Errorf("slice %q does not end in .slice", slice)
	}
	if slice == "-.slice" {
		return "/", nil
	}
	if err := checkUnitName(slice); err != nil {
		return "", err
	}
	if base == "" || strings.HasPrefix(base, "-") || strings.HasSuffix(base, "-") || strings.Contains(base, "--") {
		return "", fmt.Errorf("slice %q: systemd does not accept an empty part between dashes", slice)
	}
	var b strings.Builder
	prefix := ""
	for _, part := range strings.Split(base, "-") {
		b.WriteString("/" + prefix + part + ".slice")
		prefix += part + "-"
	}
	return b.String(), nil
}

// maxUnitName is systemd's UNIT_NAME_MAX (with the terminating NUL).
const maxUnitName = 255

// checkUnitName accepts the characters systemd allows in a unit name:
// ASCII letters and digits, ":", "-", "_", "." and "\" (escapes).
func checkUnitName(name string) error {
	if len(name) >= maxUnitName {
		return fmt.Errorf("unit name %q is longer than systemd allows (%d)", name, maxUnitName-1)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(":-_.\\", r)
		if !ok {
			return fmt.Errorf("unit name %q: %q is not allowed in a systemd unit name", name, r)
		}
	}
	return nil
}
