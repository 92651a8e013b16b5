package libcontainer

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/libcontainer/intelrdt"
)

const mountinfoPath = "/proc/self/mountinfo"

// joinIntelRdt puts the container's init into its resctrl group, recording
// the directories it is about to create first so that delete --force
// removes them whatever happens next. Everything the init forks inherits
// the group.
func joinIntelRdt(lock *Lock, st *State, spec *specs.Spec, pid int) error {
	cfg := spec.Linux.IntelRdt
	if cfg == nil {
		return nil
	}
	root, err := intelrdt.FindRoot(mountinfoPath)
	if err != nil {
		return err
	}
	group := intelrdt.Plan(root, st.ID, cfg)
	st.IntelRdtDirs = group.New
	if err := lock.Save(st); err != nil {
		return err
	}
	return group.Apply(root, cfg, pid)
}

// addToIntelRdt puts an exec'd process, which the runtime forks rather
// than the init, into the container's resctrl group.
func addToIntelRdt(st *State, spec *specs.Spec, pid int) error {
	cfg := spec.Linux.IntelRdt
	if cfg == nil {
		return nil
	}
	root, err := intelrdt.FindRoot(mountinfoPath)
	if err != nil {
		return err
	}
	return intelrdt.Plan(root, st.ID, cfg).AddTask(pid)
}

// removeIntelRdt removes the resctrl directories the container made.
func removeIntelRdt(st *State) error {
	if len(st.IntelRdtDirs) == 0 {
		return nil
	}
	root, err := intelrdt.FindRoot(mountinfoPath)
	if err != nil {
		return err
	}
	return intelrdt.Remove(root, st.IntelRdtDirs)
}
