package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/internal/sysfile"
)

// Mode is how a host lays out its cgroup hierarchies.
type Mode int

const (
	// ModeUnified is a host with only cgroup2, mounted at /sys/fs/cgroup.
	ModeUnified Mode = iota
	// ModeHybrid is a host with v1 controllers under /sys/fs/cgroup/<controller>, and a
	// cgroup2 (usually without controllers) at /sys/fs/cgroup/unified.
	ModeHybrid
	// ModeLegacy is a host with v1 hierarchies only.
	ModeLegacy
)

func (m Mode) String() string {
	return [...]string{"unified", "hybrid", "legacy"}[m]
}

// Root is where the host's cgroup hierarchies are mounted.
const Root = "/sys/fs/cgroup"

const hybridUnified = Root + "/unified"

// UnifiedKey is the unified hierarchy's key among a hybrid host's
// hierarchies and in a Location's Paths.
const UnifiedKey = ""

var hostMode = sync.OnceValues(detectMode)

// HostMode tells the host's cgroup layout the way runc tells it: the
// filesystem type at /sys/fs/cgroup, and for v1 whether a cgroup2 is also
// mounted at /sys/fs/cgroup/unified.
func HostMode() (Mode, error) { return hostMode() }

func detectMode() (Mode, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(Root, &st); err != nil {
		return 0, fmt.Errorf("cgroups: statfs %s: %w", Root, err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return ModeUnified, nil
	}
	if err := unix.Statfs(hybridUnified, &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return ModeHybrid, nil
	}
	return ModeLegacy, nil
}

// Hierarchy is one mounted v1 hierarchy (or a hybrid host's unified one).
type Hierarchy struct {
	Mountpoint string
	Root       string // the mount's root within the hierarchy (mountinfo field 4)
}

// MountedHierarchy is one v1 hierarchy of a container as its cgroup mount
// shows it.
type MountedHierarchy struct {
	// Name is the hierarchy's directory on the host ("cpu,cpuacct",
	// "memory", "systemd"), which the container sees under the same name.
	Name string
	// Controllers select the hierarchy in a new cgroup mount ("cpu",
	// "cpuacct", or "name=systemd").
	Controllers []string
	// Dir is the container's cgroup directory in the hierarchy.
	Dir string
}

// V1Hierarchies maps each v1 controller (and "name=systemd", and
// UnifiedKey for a hybrid host's unified hierarchy) to the hierarchy it is
// mounted in. Co-mounted controllers (cpu,cpuacct) map to the same mount.
// The map is read once per process and shared: callers must not change it.
func V1Hierarchies() (map[string]Hierarchy, error) { return v1Hierarchies() }

var v1Hierarchies = sync.OnceValues(readV1Hierarchies)

// cgroupLines keeps the lines of mountinfo that describe cgroup and
// cgroup2 mounts, for the parser to take apart only those: a node's
// mounts (each pod's volumes, secrets and overlays) run into thousands,
// and every runtime command reads them. The filesystem type is the word
// after the only " - " of a line (its paths show spaces as \040).
func cgroupLines(mountinfo []byte) io.Reader {
	var kept bytes.Buffer
	for line := range bytes.Lines(mountinfo) {
		if bytes.Contains(line, []byte(" - cgroup ")) || bytes.Contains(line, []byte(" - cgroup2 ")) {
			kept.Write(line)
		}
	}
	return &kept
}

// joinedNamed are the named (controller-less) v1 hierarchies a container
// joins, as runc does: systemd's own tracking hierarchy.
var joinedNamed = map[string]bool{"name=systemd": true}

func parseV1Mounts(r io.Reader) (map[string]Hierarchy, error) {
	infos, err := mountinfo.GetMountsFromReader(r, func(m *mountinfo.Info) (skip, stop bool) {
		return m.FSType != "cgroup" && m.FSType != "cgroup2", false
	})
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	mounts := make([]cgroupMount, len(infos))
	for i, m := range infos {
		mounts[i] = cgroupMount{fsType: m.FSType, mountpoint: m.Mountpoint, root: m.Root, superOptions: m.VFSOptions}
	}
	out := hierarchiesOf(mounts)
	if len(out) == 0 {
		return nil, errors.New("cgroups: no cgroup v1 hierarchy is mounted")
	}
	return out, nil
}

// cgroupMount is what tells a cgroup or cgroup2 mount's hierarchy.
type cgroupMount struct {
	fsType       string // "cgroup" or "cgroup2"
	mountpoint   string
	root         string // the mount's root within the hierarchy
	superOptions string // a v1 mount's controllers are among them
}

// hierarchiesOf maps each v1 controller (and named hierarchy) to the
// first of mounts that holds it, and UnifiedKey to a cgroup2 mount at
// /sys/fs/cgroup/unified.
func hierarchiesOf(mounts []cgroupMount) map[string]Hierarchy {
	out := map[string]Hierarchy{}
	for _, m := range mounts {
		h := Hierarchy{Mountpoint: m.mountpoint, Root: m.root}
		switch m.fsType {
		case "cgroup":
			for _, opt := range strings.Split(m.superOptions, ",") {
				if _, seen := out[opt]; !seen && (knownV1Controllers[opt] || joinedNamed[opt]) {
					out[opt] = h
				}
			}
		case "cgroup2":
			if h.Mountpoint == hybridUnified {
				out[UnifiedKey] = h
			}
		}
	}
	return out
}

// knownV1Controllers are the controllers a container's cgroup is made in.
var knownV1Controllers = map[string]bool{
	"cpu": true, "cpuacct": true, "cpuset": true, "memory": true, "pids": true,
	"blkio": true, "hugetlb": true, "net_cls": true, "net_prio": true,
	"perf_event": true, "rdma": true, "devices": true, "freezer": true, "misc": true,
}

// ownV1Cgroups maps each v1 controller (and named hierarchy, and "" for
// the unified one) to the caller's cgroup in it, from /proc/self/cgroup.
func ownV1Cgroups() (map[string]string, error) {
	data, err := sysfile.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("own cgroup: %w", err)
	}
	return parseProcCgroup(data)
}

func parseProcCgroup(data []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		p, err := CleanPath(parts[2])
		if err != nil {
			return nil, err
		}
		if parts[0] == "0" && parts[1] == "" {
			out[UnifiedKey] = p
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = p
		}
	}
	return out, sc.Err()
}
