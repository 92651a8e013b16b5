package libcontainer

import (
	"errors"
	"fmt"
	"net"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/oci-rt/oci-rt/libcontainer/internal/criurpc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/libcontainer/rootfs"
)

// CriuFlags are the CRIU switches checkpoint and restore share; each is
// passed to CRIU unchanged.
type CriuFlags struct {
	// CriuPath is the criu binary (the global --criu), "criu" when empty.
	CriuPath                                                             string
	TCPEstablished, ExtUnixSk, ShellJob, FileLocks, AutoDedup, LazyPages bool
	// ManageCgroupsMode is soft, full, strict or ignore; empty leaves
	// CRIU's default (soft).
	ManageCgroupsMode string
	// EmptyNs are namespaces (runtime-spec names) CRIU creates empty
	// instead of restoring what they held, as the caller sets them up.
	EmptyNs []string
}

// CheckpointOptions are checkpoint's inputs.
type CheckpointOptions struct {
	CriuFlags
	// ImagePath receives the images; WorkPath CRIU's logs (ImagePath when
	// empty); ParentPath is an earlier pre-dump's images.
	ImagePath, WorkPath, ParentPath string
	LeaveRunning, PreDump           bool
	// PageServer is ADDRESS:PORT of a CRIU page server receiving the
	// memory pages.
	PageServer string
	// StatusFD, when >= 0, is our fd CRIU writes a zero byte to once the
	// lazy-pages server is ready.
	StatusFD int
}

// criuCgroupModes are the --manage-cgroups-mode words runc accepts.
var criuCgroupModes = map[string]criurpc.CgMode{
	"soft":   criurpc.CgSoft,
	"full":   criurpc.CgFull,
	"strict": criurpc.CgStrict,
	"ignore": criurpc.CgIgnore,
}

// namespaceCloneFlags maps runtime-spec namespace names to the bits
// CRIU's empty_ns takes.
var namespaceCloneFlags = map[string]uint32{
	string(specs.NetworkNamespace): unix.CLONE_NEWNET,
	string(specs.IPCNamespace):     unix.CLONE_NEWIPC,
	string(specs.UTSNamespace):     unix.CLONE_NEWUTS,
	string(specs.MountNamespace):   unix.CLONE_NEWNS,
	string(specs.PIDNamespace):     unix.CLONE_NEWPID,
	string(specs.UserNamespace):    unix.CLONE_NEWUSER,
	string(specs.CgroupNamespace):  unix.CLONE_NEWCGROUP,
	string(specs.TimeNamespace):    unix.CLONE_NEWTIME,
}

// externalNetNSKey names a joined network namespace in the images: CRIU
// leaves it out of the dump and, at restore, puts the tasks into the one
// passed under this key.
const externalNetNSKey = "extRootNetNS"

// apply sets the shared switches on opts.
func (f *CriuFlags) apply(opts *criurpc.Opts) error {
	opts.TCPEstablished = f.TCPEstablished
	opts.ExtUnixSk = f.ExtUnixSk
	opts.ShellJob = f.ShellJob
	opts.FileLocks = f.FileLocks
	opts.AutoDedup = f.AutoDedup
	opts.LazyPages = f.LazyPages
	opts.ManageCgroups = true
	if f.ManageCgroupsMode != "" {
		mode, ok := criuCgroupModes[f.ManageCgroupsMode]
		if !ok {
			return fmt.Errorf("invalid --manage-cgroups-mode %q: want soft, full, strict or ignore", f.ManageCgroupsMode)
		}
		opts.ManageCgroupsMode = &mode
	}
	var empty uint32
	for _, ns := range f.EmptyNs {
		flag, ok := namespaceCloneFlags[ns]
		if !ok {
			return fmt.Errorf("invalid --empty-ns %q: not a namespace type", ns)
		}
		empty |= flag
	}
	if empty != 0 {
		opts.EmptyNs = empty
	}
	return nil
}

// dumpOptions are the CRIU options of a checkpoint (or pre-dump) of a
// container whose init is pid and whose root is rootfsPath. netnsInode is
// the inode of a joined network namespace (0 for none), freezeDir the
// cgroup directory CRIU freezes the tasks through, v1 the container's
// cgroup v1 hierarchies (none on cgroup v2).
func dumpOptions(o *CheckpointOptions, spec *specs.Spec, rootfsPath string, pid int, netnsInode uint64, freezeDir string, v1 []cgroups.MountedHierarchy) (*criurpc.Opts, error) {
	opts := &criurpc.Opts{
		Pid:          int32(pid),
		Root:         rootfsPath,
		LogLevel:     4,
		LogFile:      dumpLogName(o.PreDump),
		LeaveRunning: o.LeaveRunning || o.PreDump,
		ExtMnt:       dumpExternalMounts(spec, v1),
	}
	if err := o.apply(opts); err != nil {
		return nil, err
	}
	if freezeDir != "" {
		opts.FreezeCgroup = freezeDir
	}
	if spec.Process != nil && spec.Process.Terminal {
		// The pty master went to the console socket, out of the
		// container: CRIU dumps the slave alone and, at restore, makes
		// a new pair whose master we pass on.
		opts.OrphanPtsMaster = true
	}
	if o.PreDump || o.ParentPath != "" {
		// Pre-dumps and the dump after them track which pages changed,
		// so that each dumps only those.
		opts.TrackMem = true
	}
	if o.ParentPath != "" {
		parent, err := parentRelativePath(o.ImagePath, o.ParentPath)
		if err != nil {
			return nil, err
		}
		opts.ParentImg = parent
	}
	if o.PageServer != "" {
		ps, err := pageServer(o.PageServer)
		if err != nil {
			return nil, err
		}
		opts.PageServer = ps
	}
	if netnsInode != 0 {
		opts.External = append(opts.External, fmt.Sprintf("net[%d]:%s", netnsInode, externalNetNSKey))
	}
	return opts, nil
}

func dumpLogName(preDump bool) string {
	if preDump {
		return "pre-dump.log"
	}
	return "dump.log"
}

// parentRelativePath is the parent images' directory as CRIU takes it:
// relative to the images directory.
func parentRelativePath(imagePath, parentPath string) (string, error) {
	images, err := filepath.Abs(imagePath)
	if err != nil {
		return "", err
	}
	parent, err := filepath.Abs(parentPath)
	if err != nil {
		return "", err
	}
	return filepath.Rel(images, parent)
}

// pageServer parses --page-server ADDRESS:PORT.
func pageServer(s string) (*criurpc.PageServer, error) {
	host, portText, err := net.SplitHostPort(s)
	if err != nil {
		return nil, fmt.Errorf("invalid --page-server %q: want ADDRESS:PORT", s)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("invalid --page-server %q: port %q is not a number below 65536", s, portText)
	}
	return &criurpc.PageServer{Address: host, Port: int32(port)}, nil
}

// externalMounts maps each mount of spec that CRIU must be told comes
// from outside the container, keyed by its destination, to what is bound
// there now: a bind's source (relative ones under bundle), a cgroup
// mount's cgroupDir, the host directory it shows. On cgroup v1 (v1 lists
// the container's hierarchies) a "cgroup" mount is a tmpfs, which CRIU
// dumps with the container, holding a mount of each hierarchy below: a
// bind of the container's cgroup directory there, external, or in a
// cgroup namespace a cgroup mount CRIU makes again itself.
func externalMounts(spec *specs.Spec, bundle, cgroupDir string, v1 []cgroups.MountedHierarchy) []criurpc.ExtMount {
	var ext []criurpc.ExtMount
	for _, m := range spec.Mounts {
		switch {
		case rootfs.IsBindMount(m):
			source := m.Source
			if !filepath.IsAbs(source) {
				source = filepath.Join(bundle, source)
			}
			ext = append(ext, criurpc.ExtMount{Key: m.Destination, Val: source})
		case m.Type == "cgroup" && len(v1) > 0:
			if newCgroupNS(spec) {
				continue
			}
			for _, h := range v1 {
				ext = append(ext, criurpc.ExtMount{Key: path.Join(m.Destination, h.Name), Val: h.Dir})
			}
		case m.Type == "cgroup" || m.Type == "cgroup2":
			ext = append(ext, criurpc.ExtMount{Key: m.Destination, Val: cgroupDir})
		}
	}
	return ext
}

// dumpExternalMounts declares each external mount under its destination,
// the key restore maps to what is bound there then.
func dumpExternalMounts(spec *specs.Spec, v1 []cgroups.MountedHierarchy) []criurpc.ExtMount {
	ext := externalMounts(spec, "", "", v1)
	for i := range ext {
		ext[i].Val = ext[i].Key
	}
	return ext
}

// newCgroupNS tells whether the container has a cgroup namespace of its
// own.
func newCgroupNS(spec *specs.Spec) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.CgroupNamespace && ns.Path == "" {
			return true
		}
	}
	return false
}

// joinedNetNS is the path of a network namespace the container joins, ""
// when it has its own or the host's.
func joinedNetNS(spec *specs.Spec) string {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			return ns.Path
		}
	}
	return ""
}

// CheckpointRecord is what checkpoint writes beside CRIU's images: what
// restore needs that the images do not say (where the process's stdio
// pointed) and what a bundle must match for the images to fit it.
type CheckpointRecord struct {
	// Stdio are the targets of the init's fds 0, 1 and 2 at the dump
	// ("pipe:[N]" for a pipe): restore hands its own in for pipes.
	Stdio [3]string `json:"stdio"`
	// Namespaces are the types of the container's namespaces, and
	// JoinedNamespaces those of them it joined by path.
	Namespaces       []string `json:"namespaces"`
	JoinedNamespaces []string `json:"joinedNamespaces,omitempty"`
	// Mounts are the destinations of the config's mounts, in order.
	Mounts []string `json:"mounts"`
	// Terminal is whether the process had a terminal.
	Terminal bool `json:"terminal"`
}

// checkpointRecordFile is its name in the images directory.
const checkpointRecordFile = "oci-rt-checkpoint.json"

// newCheckpointRecord describes spec as checkpoint records it.
func newCheckpointRecord(spec *specs.Spec) *CheckpointRecord {
	r := &CheckpointRecord{Terminal: spec.Process != nil && spec.Process.Terminal}
	for _, ns := range spec.Linux.Namespaces {
		r.Namespaces = append(r.Namespaces, string(ns.Type))
		if ns.Path != "" {
			r.JoinedNamespaces = append(r.JoinedNamespaces, string(ns.Type))
		}
	}
	slices.Sort(r.Namespaces)
	slices.Sort(r.JoinedNamespaces)
	for _, m := range spec.Mounts {
		r.Mounts = append(r.Mounts, m.Destination)
	}
	return r
}

// matches says why images recorded as r cannot be restored into a
// container made from spec, nil when they can: CRIU would otherwise fail
// deep in the restore, or restore the process into a different world.
func (r *CheckpointRecord) matches(spec *specs.Spec) error {
	now := newCheckpointRecord(spec)
	if !slices.Equal(r.Namespaces, now.Namespaces) {
		return fmt.Errorf("namespaces %s in the images, %s in the bundle", listOrNone(r.Namespaces), listOrNone(now.Namespaces))
	}
	if !slices.Equal(r.JoinedNamespaces, now.JoinedNamespaces) {
		return fmt.Errorf("joined namespaces %s in the images, %s in the bundle", listOrNone(r.JoinedNamespaces), listOrNone(now.JoinedNamespaces))
	}
	for _, dest := range r.Mounts {
		if !slices.Contains(now.Mounts, dest) {
			return fmt.Errorf("mount %s of the images is not in the bundle", dest)
		}
	}
	for _, dest := range now.Mounts {
		if !slices.Contains(r.Mounts, dest) {
			return fmt.Errorf("mount %s of the bundle is not in the images", dest)
		}
	}
	if r.Terminal != now.Terminal {
		return fmt.Errorf("process.terminal is %t in the images, %t in the bundle", r.Terminal, now.Terminal)
	}
	return nil
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ",")
}

// errCheckpointMismatch prefixes a mismatch between images and bundle.
var errCheckpointMismatch = errors.New("checkpoint image does not match the bundle")
