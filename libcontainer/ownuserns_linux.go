package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/internal/idmap"
	"github.com/oci-rt/oci-rt/internal/sysfile"
	"github.com/oci-rt/oci-rt/libcontainer/configs"
	"github.com/oci-rt/oci-rt/nsenter"
)

// A runtime without root may not join the namespaces a container creates
// from outside (setns into a mount namespace wants capabilities in the
// caller's own user namespace), so its container is set up by the Go init,
// inside the container's user namespace, from a memfd copy of the binary
// (an overlay too wants a mount namespace the caller holds rights over).
// Where the container's user namespace maps the caller's own uid and gid
// alone, as `spec --rootless` writes it, the runtime can make that
// namespace itself, as any process may, and be its root: it re-executes
// itself, its constructor makes the namespace before the Go runtime starts
// (a process with threads may not enter one), and it creates the container
// in it, as the runtime of a rootless engine creates one in the engine's
// namespace: set up from outside, by the plan, the init running no Go and
// the binary run from the read-only overlay. Seen from inside, the
// container is the same: a user namespace of its own that maps the
// caller's ids alone, setgroups denied, and everything else it creates.

// ownUserNamespace is the user namespace this runtime made for the
// container it creates, and the caller's ids on the host.
type ownUserNamespace struct {
	hostUID, hostGID int
}

// ownNamespaceOutcome says whether this process is the runtime re-executed
// into a user namespace of its own: requested when the constructor was
// asked to make one, active when it did, err when it made one but could
// not map it.
type ownNamespaceOutcome struct {
	requested bool
	active    *ownUserNamespace
	err       error
}

var ownNS ownNamespaceOutcome

// ResumeInOwnUserNamespace finds out whether this process is the runtime
// re-executed into a user namespace of its own, and how that went. The
// CLI calls it first, before anything depends on who the caller is.
func ResumeInOwnUserNamespace() {
	wantUID, wantGID, asked := nsenter.TakeOwnUserNamespaceRequest()
	if !asked {
		return
	}
	ownNS.requested = true
	gotUID, err := sysfile.ReadFile("/proc/self/uid_map")
	if err != nil {
		ownNS.err = fmt.Errorf("the runtime's own user namespace: %w", err)
		return
	}
	gotGID, err := sysfile.ReadFile("/proc/self/gid_map")
	if err != nil {
		ownNS.err = fmt.Errorf("the runtime's own user namespace: %w", err)
		return
	}
	ownNS.active, ownNS.err = judgeOwnUserNamespace(wantUID, wantGID, string(gotUID), string(gotGID))
}

// judgeOwnUserNamespace tells, from the maps the constructor was asked to
// write and those the process has, whether it made the namespace (the
// caller's ids then being the outside ids of the maps), did not make one
// (nil: the kernel refused the unshare and the process is where it was;
// its maps cannot be the ones asked for, as a caller whose euid is not 0
// cannot be in a namespace whose map sends 0 to it), or made one it could
// not map (an error: the process is stuck in it).
func judgeOwnUserNamespace(wantUID, wantGID, gotUID, gotGID string) (*ownUserNamespace, error) {
	if strings.TrimSpace(gotUID) == "" || strings.TrimSpace(gotGID) == "" {
		return nil, fmt.Errorf("the runtime made a user namespace of its own but the kernel refused its maps (uid_map %q, gid_map %q)", wantUID, wantGID)
	}
	if !slices.Equal(strings.Fields(gotUID), strings.Fields(wantUID)) || !slices.Equal(strings.Fields(gotGID), strings.Fields(wantGID)) {
		return nil, nil
	}
	hostUID, err := hostIDOfRoot("uid_map", gotUID)
	if err != nil {
		return nil, err
	}
	hostGID, err := hostIDOfRoot("gid_map", gotGID)
	if err != nil {
		return nil, err
	}
	return &ownUserNamespace{hostUID: hostUID, hostGID: hostGID}, nil
}

// hostIDOfRoot is the id outside that the map text m (the file name) sends
// the namespace's 0 to.
func hostIDOfRoot(name, m string) (int, error) {
	id, mapped, err := idmap.Outside(m, 0)
	if err == nil && !mapped {
		err = errors.New("0 is not mapped")
	}
	if err != nil {
		return 0, fmt.Errorf("the runtime's own user namespace: %s %q: %w", name, m, err)
	}
	return int(id), nil
}

// CallerUID is the uid of whoever runs the runtime, as the host knows it:
// in a user namespace the runtime made for itself, the uid it had before.
func CallerUID() int {
	if ownNS.active != nil {
		return ownNS.active.hostUID
	}
	return os.Geteuid()
}

// ReexecInOwnUserNamespace re-executes the runtime (the same arguments, in
// the same process) into a user namespace of its own when the caller has
// no root and the container of bundle can be created in such a namespace
// (see ownUserNamespaceMaps); otherwise, or when the re-execution fails,
// it returns and the Go init serves as before. The CLI calls it before
// anything a second start could not repeat. A config it cannot read it
// leaves to create, which reports it.
func ReexecInOwnUserNamespace(bundle string, systemdCgroup bool) {
	if os.Geteuid() == 0 || ownNS.requested || execPlanDisabled() {
		return
	}
	spec, _, _, err := configs.LoadBundle(bundle)
	if err != nil {
		return
	}
	uidMap, gidMap, why := ownUserNamespaceMaps(spec, os.Geteuid(), os.Getegid(), systemdCgroup)
	if why != "" {
		debugf("create: a runtime without root; it cannot make the container's user namespace itself: %s", why)
		return
	}
	debugf("create: a runtime without root; it re-executes itself as root of a user namespace of its own (uid_map %q, gid_map %q), which the container shares", uidMap, gidMap)
	err = unix.Exec("/proc/self/exe", os.Args, nsenter.OwnUserNamespaceEnv(os.Environ(), uidMap, gidMap))
	debugf("create: re-executing the runtime failed, the Go init sets the container up: %v", err)
}

// ownUserNamespaceMaps returns the maps of a user namespace of its own in
// which the runtime of a caller with host ids uid and gid can create spec's
// container, or why there is none: the container must make a user
// namespace that maps the caller's ids alone, to 0 (a map the caller may
// write for itself), and join no namespace by path (which the runtime, in
// a namespace of its own, would hold no rights over); no prestart or
// createRuntime hook may run, as they run in the runtime's namespaces and
// would then run as root of that one; and the systemd cgroup manager is
// not asked for, which would meet the caller's systemd as another user.
func ownUserNamespaceMaps(spec *specs.Spec, uid, gid int, systemdCgroup bool) (uidMap, gidMap, why string) {
	switch {
	case spec.Linux == nil || !inUserNamespace(spec):
		return "", "", "the container has no user namespace"
	case systemdCgroup:
		return "", "", "the systemd cgroup manager is asked for"
	case spec.Hooks != nil && len(spec.Hooks.Prestart)+len(spec.Hooks.CreateRuntime) > 0:
		return "", "", "prestart or createRuntime hooks run in the runtime's namespaces"
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Path != "" {
			return "", "", fmt.Sprintf("the container joins a %s namespace by path", ns.Type)
		}
	}
	if !mapsCallerAloneToRoot(spec.Linux.UIDMappings, uid) || !mapsCallerAloneToRoot(spec.Linux.GIDMappings, gid) {
		return "", "", "its id maps are not the caller's own uid and gid alone, as root"
	}
	return fmt.Sprintf("0 %d 1", uid), fmt.Sprintf("0 %d 1", gid), ""
}

// mapsCallerAloneToRoot: m maps host id id alone, to 0.
func mapsCallerAloneToRoot(m []specs.LinuxIDMapping, id int) bool {
	return mapsOnly(m, id) && m[0].ContainerID == 0
}

// specInOwnUserNamespace is the spec the runtime creates the container
// from: in a runtime re-executed into a user namespace of its own, spec
// without its user namespace, which is the runtime's. The recorded config
// keeps it, so that exec and the other commands, run from outside, join
// the container's.
func specInOwnUserNamespace(spec *specs.Spec, id string, systemdCgroup bool) (*specs.Spec, error) {
	if ownNS.err != nil {
		return nil, ownNS.err
	}
	if ownNS.active == nil {
		if ownNS.requested {
			debugf("create %s: the kernel did not make the runtime a user namespace of its own: the Go init sets the container up", id)
		}
		return spec, nil
	}
	if _, _, why := ownUserNamespaceMaps(spec, ownNS.active.hostUID, ownNS.active.hostGID, systemdCgroup); why != "" {
		return nil, fmt.Errorf("the config changed while the runtime re-executed itself into a user namespace of its own: %s", why)
	}
	linux := *spec.Linux
	linux.Namespaces = slices.DeleteFunc(slices.Clone(linux.Namespaces), func(ns specs.LinuxNamespace) bool { return ns.Type == specs.UserNamespace })
	linux.UIDMappings, linux.GIDMappings = nil, nil
	inOwn := *spec
	inOwn.Linux = &linux
	debugf("create %s: the runtime is root of the container's user namespace, made for it", id)
	return &inOwn, nil
}
