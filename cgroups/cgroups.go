package cgroups

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Manager operates on a container's cgroup, in the one unified hierarchy
// (fs2.Manager, cgroup v2) or in every mounted v1 hierarchy (fs.Manager,
// legacy and hybrid hosts); manager.Load picks one for a Location. The
// systemd driver (cgroups/systemd) wraps either in a systemd unit.
type Manager interface {
	// Create makes the cgroup (and missing ancestors) in every hierarchy.
	Create() error
	// Apply sets the resources at creation, device rules included.
	Apply(r *specs.LinuxResources) error
	// Update changes the set fields of r on a running container.
	Update(r *specs.LinuxResources) error
	// Enter moves a process (all its threads) into the cgroup everywhere.
	Enter(pid int) error
	// Pids lists the processes in the cgroup and its descendants.
	Pids() ([]int, error)
	Freeze() error
	Thaw() error
	Frozen() (bool, error)
	// Kill sends SIGKILL to every process in the cgroup and below.
	Kill() error
	// Destroy removes the cgroup and its descendants everywhere.
	Destroy() error
	Stats() (*Stats, error)
	// OOMKillCount is how many OOM kills the cgroup has seen (v1: how many
	// times it hit its limit and the OOM killer ran).
	OOMKillCount() (uint64, error)
	// WatchOOM returns a watcher whose Fd becomes readable when an OOM
	// event may have happened.
	WatchOOM() (OOMWatcher, error)
	// Sub is the manager of an existing cgroup below this one, for exec
	// --cgroup: sub is runc's "path" or "controller[,controller]:path".
	Sub(sub string) (Manager, error)
	// Dirs are the cgroup's directories, one per mounted hierarchy
	// (co-mounted controllers share one), the first the one that names it.
	Dirs() []string
}

// OOMWatcher tells when the cgroup's OOM count rises.
type OOMWatcher interface {
	// Fd is pollable (POLLIN), or -1 when there is nothing to watch.
	Fd() int
	// Rose consumes pending notifications and reports whether an OOM kill
	// happened since the last call.
	Rose() (bool, error)
	Close()
}

// Location is where a container's cgroup is, as the state records it:
// Path in the unified hierarchy on a cgroup v2 host, or Paths per v1
// controller (key "" for a hybrid host's unified hierarchy) otherwise.
// Relative cgroupsPaths differ between hierarchies, so v1 needs the map.
type Location struct {
	Path  string
	Paths map[string]string
	// Unit, for the systemd driver, is the transient unit whose cgroup
	// this is, and Slice the slice the configuration puts it in.
	Unit, Slice string
	// Rootless: the cgroup is for a container created --rootless, whose
	// device rules are left unset where the caller may not set them.
	Rootless bool
}

// Files is the manager that reads and writes m's cgroup files: m itself,
// or the fs/fs2 manager a wrapping driver (systemd) works through. Setup
// steps that need a driver's own interface (v1 hierarchies, a v2 cgroup
// fd) look there.
func Files(m Manager) Manager {
	if w, ok := m.(interface{ Unwrap() Manager }); ok {
		return w.Unwrap()
	}
	return m
}

// Resolve turns linux.cgroupsPath into the container's Location on this
// host. An absolute path is taken from each hierarchy's root, a relative
// one from the runtime's own cgroup in that hierarchy (as runc does), and
// an empty one becomes defaultPath (see DefaultPath).
func Resolve(cgroupsPath, containerID, defaultPath string) (Location, error) {
	mode, err := HostMode()
	if err != nil {
		return Location{}, err
	}
	if mode == ModeUnified {
		p, err := ResolvePath(cgroupsPath, containerID, defaultPath)
		return Location{Path: p}, err
	}
	hier, err := v1Hierarchies()
	if err != nil {
		return Location{}, err
	}
	var own map[string]string
	if cgroupsPath != "" && !strings.HasPrefix(cgroupsPath, "/") {
		if own, err = ownV1Cgroups(); err != nil {
			return Location{}, fmt.Errorf("cgroupsPath %q: %w", cgroupsPath, err)
		}
	}
	return resolveV1(cgroupsPath, containerID, defaultPath, hier, own)
}

func resolveV1(cgroupsPath, containerID, defaultPath string, hier map[string]Hierarchy, own map[string]string) (Location, error) {
	loc := Location{Paths: map[string]string{}}
	for ctrl := range hier {
		base := ""
		if cgroupsPath != "" && !strings.HasPrefix(cgroupsPath, "/") {
			o, ok := own[ctrl]
			if !ok {
				return Location{}, fmt.Errorf("cgroupsPath %q: the runtime's own cgroup in the %s hierarchy is unknown", cgroupsPath, HierarchyName(ctrl))
			}
			base = o
		}
		p, err := resolvePath(cgroupsPath, containerID, base, defaultPath)
		if err != nil {
			return Location{}, err
		}
		loc.Paths[ctrl] = p
	}
	loc.Path = representativePath(loc.Paths)
	return loc, nil
}

// representativePath is what stands for a v1 Location's paths: that of a
// hybrid host's unified hierarchy, or else the memory hierarchy's.
func representativePath(paths map[string]string) string {
	for _, k := range []string{UnifiedKey, "memory", "pids", "cpu", "devices"} {
		if p, ok := paths[k]; ok {
			return p
		}
	}
	return ""
}

// Own is the Location of the caller's cgroup, in every hierarchy it is
// in: where a container without a cgroup of its own runs.
func Own() (Location, error) {
	mode, err := HostMode()
	if err != nil {
		return Location{}, err
	}
	if mode == ModeUnified {
		p, err := ownCgroup()
		return Location{Path: p}, err
	}
	hier, err := v1Hierarchies()
	if err != nil {
		return Location{}, err
	}
	own, err := ownV1Cgroups()
	if err != nil {
		return Location{}, err
	}
	loc := Location{Paths: map[string]string{}}
	for ctrl := range hier {
		if p, ok := own[ctrl]; ok {
			loc.Paths[ctrl] = p
		}
	}
	loc.Path = representativePath(loc.Paths)
	return loc, nil
}

// HierarchyName names the hierarchy of a V1Hierarchies key in messages.
func HierarchyName(ctrl string) string {
	if ctrl == UnifiedKey {
		return "unified"
	}
	return ctrl
}

// DefaultStateRoot is the state directory a runtime run as root uses
// unless told otherwise.
const DefaultStateRoot = "/run/oci-rt"

// DefaultPath is where the cgroup of container id goes when its config
// has no linux.cgroupsPath, for a runtime keeping its state in stateRoot.
// The default root uses /oci-rt/<id>, a parent it keeps, as runc leaves
// the parents it made. Every other root uses /oci-rt-<hash>-<id>, the hash
// a short stable one of the root's absolute path: two state roots with a
// container of the same ID never share a cgroup (the second create would
// find the first's busy, or worse, its delete would remove the other
// container's cgroup), and roots that come and go (temporary ones, tests)
// leave nothing behind without a parent of their own, which every create
// would have to make and every last delete remove again, in every
// hierarchy. An ID too long for that name is replaced by a hash of root
// and ID. The path is absolute, not runc's "next to the runtime": on
// cgroup v2 a runtime started from a cgroup that holds processes could not
// give the container any controller there.
func DefaultPath(stateRoot, id string) string {
	abs, err := filepath.Abs(stateRoot)
	if err != nil {
		abs = stateRoot
	}
	abs = filepath.Clean(abs)
	if abs == DefaultStateRoot {
		return "/oci-rt/" + id
	}
	rootSum := sha256.Sum256([]byte(abs))
	name := "oci-rt-" + hex.EncodeToString(rootSum[:4]) + "-" + id
	if len(name) > maxNameLength {
		sum := sha256.Sum256([]byte(abs + "\x00" + id))
		name = "oci-rt-" + hex.EncodeToString(sum[:16])
	}
	return "/" + name
}

// maxNameLength is NAME_MAX, the longest name of a cgroup directory.
const maxNameLength = 255
