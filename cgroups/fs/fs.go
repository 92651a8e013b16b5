// Package fs is the cgroup v1 driver: a container's cgroup in every
// mounted v1 hierarchy (and a hybrid host's unified one), with runc's file
// mapping for every controller, the freezer for pause, and the
// devices.allow/deny emulation of package devices.
package fs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/internal/sysfile"
)

// Manager operates on a container's cgroup in every mounted v1 hierarchy, and on
// a hybrid host also in the unified hierarchy (for placement only: it has
// no controllers there), as runc's fs driver does.
type Manager struct {
	// dirs maps each controller (or "name=systemd", or "" for the unified
	// hierarchy) to the container's cgroup directory in its hierarchy;
	// co-mounted controllers share a directory.
	dirs map[string]string
	// paths are the cgroup's paths within each hierarchy, as recorded.
	paths map[string]string
	// mountpoints are where each controller's hierarchy is mounted.
	mountpoints map[string]string
	// rootless: see SetRootless.
	rootless bool
	// open are directories of dirs already open, by path (see
	// UseOpenDirs).
	open map[string]int
}

// UseOpenDirs gives the manager the cgroup's directories, already open,
// by path: a caller that has proved them the container's (by their mark)
// makes the manager's writes go into those very directories, and saves
// walking each path again. The manager keeps them open.
func (m *Manager) UseOpenDirs(open map[string]int) { m.open = open }

// at is how the file name in the cgroup directory dir is reached: by
// name in the directory itself when the manager holds it open (see
// UseOpenDirs), else by its path.
func (m *Manager) at(dir, name string) (dirFD int, target string) {
	if fd, ok := m.open[dir]; ok {
		return fd, name
	}
	return cgroups.At(filepath.Join(dir, name))
}

// writeIn writes value to the file name in the cgroup directory dir.
func (m *Manager) writeIn(dir, name, value, label string) error {
	dirFD, target := m.at(dir, name)
	return cgroups.WriteFileAt(dirFD, target, value, label)
}

// SetRootless marks the cgroup as a rootless container's (see
// cgroups.Location.Rootless).
func (m *Manager) SetRootless() { m.rootless = true }

// Rootless tells whether SetRootless marked the cgroup.
func (m *Manager) Rootless() bool { return m.rootless }

// Load returns the manager of a cgroup recorded by its path in each
// hierarchy (a cgroups.Location's Paths).
func Load(paths map[string]string) (*Manager, error) {
	hier, err := cgroups.V1Hierarchies()
	if err != nil {
		return nil, err
	}
	return newManager(paths, hier)
}

// LoadView is the cgroup at paths for looking at only, the root cgroup
// included: a container without a cgroup of its own shows the caller's
// in its "cgroup" mount, which may be the root.
func LoadView(paths map[string]string) (*Manager, error) {
	hier, err := cgroups.V1Hierarchies()
	if err != nil {
		return nil, err
	}
	return locate(paths, hier, true)
}

func newManager(paths map[string]string, hier map[string]cgroups.Hierarchy) (*Manager, error) {
	return locate(paths, hier, false)
}

// locate finds the directory of each hierarchy's path; the root cgroup
// only with allowRoot.
func locate(paths map[string]string, hier map[string]cgroups.Hierarchy, allowRoot bool) (*Manager, error) {
	m := &Manager{dirs: map[string]string{}, paths: map[string]string{}, mountpoints: map[string]string{}}
	for ctrl, p := range paths {
		h, ok := hier[ctrl]
		if !ok {
			// A hierarchy unmounted since create: nothing of the
			// container can be there.
			continue
		}
		clean, err := cgroups.CleanPath(p)
		if err != nil {
			return nil, err
		}
		if clean == "/" && !allowRoot {
			return nil, errors.New("the root cgroup cannot be managed as a container cgroup")
		}
		rel := clean
		if h.Root != "/" {
			var ok bool
			if rel, ok = strings.CutPrefix(clean, h.Root+"/"); !ok {
				return nil, fmt.Errorf("cgroup %s is outside the part of the %s hierarchy mounted at %s", clean, cgroups.HierarchyName(ctrl), h.Mountpoint)
			}
		}
		m.dirs[ctrl] = filepath.Join(h.Mountpoint, rel)
		m.paths[ctrl] = clean
		m.mountpoints[ctrl] = h.Mountpoint
	}
	if len(m.dirs) == 0 {
		return nil, errors.New("cgroups: none of the container's cgroup hierarchies is mounted")
	}
	return m, nil
}

// Paths are the cgroup's paths per hierarchy.
func (m *Manager) Paths() map[string]string { return maps.Clone(m.paths) }

// Hierarchies lists the container's v1 hierarchies by name. A hybrid
// host's unified hierarchy is not among them: runc shows containers only
// the v1 ones.
func (m *Manager) Hierarchies() []cgroups.MountedHierarchy {
	byMount := map[string]*cgroups.MountedHierarchy{}
	for _, ctrl := range slices.Sorted(maps.Keys(m.dirs)) {
		if ctrl == cgroups.UnifiedKey {
			continue
		}
		mp := m.mountpoints[ctrl]
		h, ok := byMount[mp]
		if !ok {
			h = &cgroups.MountedHierarchy{Name: filepath.Base(mp), Dir: m.dirs[ctrl]}
			byMount[mp] = h
		}
		h.Controllers = append(h.Controllers, ctrl)
	}
	out := make([]cgroups.MountedHierarchy, 0, len(byMount))
	for _, h := range byMount {
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b cgroups.MountedHierarchy) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Dirs lists each directory once, the representative hierarchy's first.
func (m *Manager) Dirs() []string {
	dirs := m.uniqueDirs()
	first := m.dirs[m.representativeController()]
	out := []string{first}
	for _, d := range dirs {
		if d != first {
			out = append(out, d)
		}
	}
	return out
}

// uniqueDirs lists each directory once (co-mounted controllers share one),
// in a stable order.
func (m *Manager) uniqueDirs() []string {
	seen := map[string]bool{}
	var out []string
	for _, ctrl := range slices.Sorted(maps.Keys(m.dirs)) {
		if d := m.dirs[ctrl]; !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

func (m *Manager) label(ctrl string) string {
	return cgroups.HierarchyName(ctrl) + ":" + m.paths[ctrl]
}

func (m *Manager) read(ctrl, name string) (string, error) {
	dir, ok := m.dirs[ctrl]
	if !ok {
		return "", fmt.Errorf("cgroup: the %s controller is not mounted: %w", ctrl, fs.ErrNotExist)
	}
	b, err := sysfile.ReadFileAt(m.at(dir, name))
	if err != nil {
		return "", fmt.Errorf("cgroup %s: read %s: %w", m.label(ctrl), name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (m *Manager) write(ctrl, name, value string) error {
	dir, ok := m.dirs[ctrl]
	if !ok {
		return fmt.Errorf("cgroup: cannot write %s: the %s controller is not mounted", name, ctrl)
	}
	return m.writeIn(dir, name, value, m.label(ctrl))
}

func (m *Manager) has(ctrl, name string) bool {
	dir, ok := m.dirs[ctrl]
	if !ok {
		return false
	}
	return cgroups.Exists(filepath.Join(dir, name))
}

// Create makes the cgroup in every hierarchy. An existing cgroup is reused
// only if no process is in it and it is not frozen, as on v2. cpuset
// directories start with empty cpus and mems, in which no process may
// run, so each new level gets its parent's (runc does the same).
func (m *Manager) Create() error {
	if err := m.checkReusable(); err != nil {
		return err
	}
	for _, ctrl := range slices.Sorted(maps.Keys(m.dirs)) {
		dir := m.dirs[ctrl]
		if err := mkdirAll(dir); err != nil {
			return fmt.Errorf("cgroup %s: mkdir: %w", m.label(ctrl), err)
		}
		if ctrl == "cpuset" {
			if err := initCpuset(dir); err != nil {
				return fmt.Errorf("cgroup %s: %w", m.label(ctrl), err)
			}
		}
	}
	return nil
}

// mkdirAll makes dir and the parents it lacks, as os.MkdirAll does, but
// tries the mkdir first: a container's cgroup is new and its parent
// mostly exists, so one system call is the common case, where
// os.MkdirAll stats the path and its parent before it (in every
// hierarchy, at every create).
func mkdirAll(dir string) error {
	dirFD, name := cgroups.At(dir)
	err := unix.Mkdirat(dirFD, name, 0o755)
	if errors.Is(err, unix.ENOENT) {
		if perr := mkdirAll(filepath.Dir(dir)); perr != nil {
			return perr
		}
		err = unix.Mkdirat(dirFD, name, 0o755)
	}
	if errors.Is(err, unix.EEXIST) {
		var st unix.Stat_t
		if unix.Fstatat(dirFD, name, &st, 0) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return nil
		}
		err = unix.ENOTDIR
	}
	if err != nil {
		return &os.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	return nil
}

// initCpuset fills empty cpuset.cpus/mems from the top down to dir.
func initCpuset(dir string) error {
	parent := filepath.Dir(dir)
	if !cgroups.Exists(filepath.Join(parent, "cpuset.cpus")) {
		return nil // dir is the hierarchy's root
	}
	if err := initCpuset(parent); err != nil {
		return err
	}
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, err := cgroups.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(cur)) > 0 {
			continue
		}
		val, err := cgroups.ReadFile(filepath.Join(parent, f))
		if err != nil {
			return err
		}
		if err := cgroups.WriteFile(dir, f, string(bytes.TrimSpace(val)), dir); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) checkReusable() error {
	pids, err := m.Pids()
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(pids) > 0 {
		return fmt.Errorf("cgroup %s already exists and has processes", m.representative())
	}
	if state, err := m.read("freezer", "freezer.state"); err == nil && state != "THAWED" {
		return fmt.Errorf("cgroup %s already exists and is frozen", m.representative())
	}
	return nil
}

// representative names the cgroup in messages by one of its paths.
func (m *Manager) representative() string { return m.paths[m.representativeController()] }

func (m *Manager) representativeController() string {
	for _, k := range []string{"memory", "pids", "freezer", "cpu", cgroups.UnifiedKey} {
		if _, ok := m.paths[k]; ok {
			return k
		}
	}
	return slices.Min(slices.Collect(maps.Keys(m.paths)))
}

// Enter moves pid into the cgroup in every hierarchy.
func (m *Manager) Enter(pid int) error {
	for _, dir := range m.uniqueDirs() {
		if err := m.writeIn(dir, "cgroup.procs", strconv.Itoa(pid), dir); err != nil {
			return err
		}
	}
	return nil
}

// JoinTasks is the "tasks" file of the cgroup in one v1 hierarchy, open
// for writing, for a process that moves itself in (see OpenForSelfJoin).
type JoinTasks struct {
	// Hierarchy names the hierarchy (its controllers), for messages.
	Hierarchy string
	Tasks     *os.File
}

// OpenForSelfJoin opens the cgroup for a single-threaded process that
// joins it by itself: v1 holds the "tasks" files of the v1 hierarchies,
// one per directory, into which the process writes 0; unified is the
// unified hierarchy's directory on a hybrid host (nil elsewhere), which
// has no "tasks" and which the process is born into instead (clone3's
// CLONE_INTO_CGROUP). The kernel checks a write to "tasks" against the
// rights of whoever opened the file, so a process that has entered a
// user namespace, where the host's cgroup files are no longer its to
// open, may still write into one opened here. The kernel moves a process
// named in cgroup.procs, or any process named by pid, under a lock of
// the whole machine that every fork and exit takes too, and whose first
// taker after a quiet spell waits out an RCU grace period: 4-14 ms here,
// some 7 ms of a `run`'s 17 on a quiet machine. A thread that moves
// itself through "tasks" takes neither, and a thread that is the whole
// process moves the process.
func (m *Manager) OpenForSelfJoin() (v1 []JoinTasks, unified *os.File, err error) {
	fail := func(err error) ([]JoinTasks, *os.File, error) {
		for _, j := range v1 {
			j.Tasks.Close()
		}
		if unified != nil {
			unified.Close()
		}
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, ctrl := range slices.Sorted(maps.Keys(m.dirs)) {
		dir := m.dirs[ctrl]
		if seen[dir] {
			continue
		}
		seen[dir] = true
		if ctrl == cgroups.UnifiedKey {
			if unified, err = m.openDir(dir); err != nil {
				return fail(err)
			}
			continue
		}
		tasks, err := m.openTasks(dir)
		if err != nil {
			return fail(err)
		}
		v1 = append(v1, JoinTasks{Hierarchy: cgroups.HierarchyName(ctrl), Tasks: tasks})
	}
	return v1, unified, nil
}

// openTasks opens the "tasks" file of the cgroup directory dir for
// writing, as the manager reaches it (see at).
func (m *Manager) openTasks(dir string) (*os.File, error) {
	dirFD, name := m.at(dir, "tasks")
	fd, err := unix.Openat(dirFD, name, unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: filepath.Join(dir, "tasks"), Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(dir, "tasks")), nil
}

// openDir opens the cgroup directory dir, as the manager reaches it (see
// at).
func (m *Manager) openDir(dir string) (*os.File, error) {
	dirFD, name := m.at(dir, ".")
	fd, err := unix.Openat(dirFD, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// pidsDir is the hierarchy whose cgroup.procs lists the container's
// processes: any will do, they all hold the same processes.
func (m *Manager) pidsDir() (string, error) {
	for _, k := range []string{"freezer", "pids", "memory", "cpu", "devices"} {
		if d, ok := m.dirs[k]; ok {
			return d, nil
		}
	}
	if ds := m.uniqueDirs(); len(ds) > 0 {
		return ds[0], nil
	}
	return "", errors.New("cgroup: no hierarchy")
}

// Pids lists the processes in the cgroup and its descendants.
func (m *Manager) Pids() ([]int, error) {
	dir, err := m.pidsDir()
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	dirFD, name := cgroups.At(dir)
	if err := unix.Fstatat(dirFD, name, &st, 0); err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", m.representative(), &os.PathError{Op: "stat", Path: dir, Err: err})
	}
	return cgroups.PidsBelow(dir, m.representative())
}

// Freeze freezes the cgroup through the freezer controller and waits for
// FROZEN. A freeze that does not complete in time is undone.
func (m *Manager) Freeze() error {
	if err := m.write("freezer", "freezer.state", "FROZEN"); err != nil {
		return err
	}
	if err := m.waitFreezer("FROZEN"); err != nil {
		_ = m.write("freezer", "freezer.state", "THAWED")
		return err
	}
	return nil
}

// Thaw resumes the cgroup and waits for THAWED.
func (m *Manager) Thaw() error {
	if err := m.write("freezer", "freezer.state", "THAWED"); err != nil {
		return err
	}
	return m.waitFreezer("THAWED")
}

// Frozen tells whether the cgroup is frozen; FREEZING counts as frozen, as it does for runc (the container
// cannot run either way).
func (m *Manager) Frozen() (bool, error) {
	s, err := m.read("freezer", "freezer.state")
	if err != nil {
		return false, err
	}
	return s != "THAWED", nil
}

// waitFreezer polls freezer.state; writing FROZEN again makes the kernel
// retry tasks that were not freezable at the first attempt.
func (m *Manager) waitFreezer(want string) error {
	deadline := time.Now().Add(cgroups.FreezeTimeout)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		s, err := m.read("freezer", "freezer.state")
		if err != nil {
			return err
		}
		if s == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s: freezer.state still %s after %v", m.label("freezer"), s, cgroups.FreezeTimeout)
		}
		time.Sleep(delay)
		if err := m.write("freezer", "freezer.state", want); err != nil {
			return err
		}
	}
}

// Kill SIGKILLs every process in the cgroup. v1 has no cgroup.kill, so
// the listing is repeated until it shows nothing new: a process forked
// while the list was read is caught in the next round. Freezing first
// would stop such forks too, but would show the container as paused to
// every concurrent `state` meanwhile. Frozen cgroups are thawed after the
// signals, since a v1-frozen task cannot die until it runs again: the
// container's and every one below it, which a process of the container
// may have frozen on its own (thawing a parent does not thaw those).
func (m *Manager) Kill() error {
	signaled := map[int]bool{}
	for range killRounds {
		pids, err := m.Pids()
		if err != nil {
			return err
		}
		fresh := 0
		for _, pid := range pids {
			if signaled[pid] {
				continue
			}
			fresh++
			signaled[pid] = true
			if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("cgroup %s: kill %d: %w", m.representative(), pid, err)
			}
		}
		if fresh == 0 {
			break
		}
	}
	// A tree without processes needs no thaw: a frozen cgroup that holds
	// none is removed as a thawed one is, and a stopped container's
	// delete spares the walk of its freezer tree.
	if len(signaled) == 0 {
		return nil
	}
	return m.thawTree()
}

// thawTree thaws every frozen cgroup in the freezer hierarchy from the
// container's down, parents first.
func (m *Manager) thawTree() error {
	top, ok := m.dirs["freezer"]
	if !ok {
		return nil
	}
	// A cgroup gone meanwhile (its processes died) needs no thaw.
	return filepath.WalkDir(top, func(dir string, d os.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil || !d.IsDir() {
			return err
		}
		state, err := sysfile.ReadFile(filepath.Join(dir, "freezer.state"))
		if errors.Is(err, os.ErrNotExist) || (err == nil && strings.TrimSpace(string(state)) == "THAWED") {
			return nil
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0); err != nil {
			return fmt.Errorf("cgroup %s: thaw %s: %w", m.representative(), dir, err)
		}
		return nil
	})
}

// killRounds bounds Kill's listings: each round can only miss processes
// forked during it, and a killed pid-namespace init takes the whole
// namespace with it.
const killRounds = 8

// Destroy removes the cgroup and everything below it in every hierarchy,
// retrying rmdir on EBUSY while killed tasks exit.
func (m *Manager) Destroy() error {
	deadline := time.Now().Add(cgroups.DestroyTimeout)
	var errs []error
	for _, dir := range m.uniqueDirs() {
		if err := cgroups.RemoveTree(dir, deadline); err != nil {
			errs = append(errs, fmt.Errorf("cgroup %s: destroy: %w", m.representative(), err))
		}
	}
	return errors.Join(errs...)
}

// Sub is the manager of an existing cgroup below the container's, for
// exec --cgroup: "path" names it in every hierarchy, "ctrl[,ctrl]:path"
// only in those controllers' hierarchies (the others keep the container's
// cgroup), as runc accepts it.
func (m *Manager) Sub(sub string) (cgroups.Manager, error) {
	ctrls, rel, err := cgroups.ParseSubCgroup(sub)
	if err != nil {
		return nil, err
	}
	paths := m.Paths()
	if len(ctrls) == 0 {
		for k := range paths {
			paths[k] = path.Join(paths[k], rel)
		}
	}
	for _, c := range ctrls {
		p, ok := paths[c]
		if !ok {
			return nil, fmt.Errorf("--cgroup %q: the %s controller is not mounted", sub, c)
		}
		paths[c] = path.Join(p, rel)
	}
	hier, err := cgroups.V1Hierarchies()
	if err != nil {
		return nil, err
	}
	s, err := newManager(paths, hier)
	if err != nil {
		return nil, err
	}
	for _, d := range s.uniqueDirs() {
		if _, err := os.Stat(d); err != nil {
			return nil, fmt.Errorf("exec cgroup: %w", err)
		}
	}
	// A cpuset made with plain mkdir has no cpus or mems, and no process
	// could join it.
	if d, ok := s.dirs["cpuset"]; ok {
		if err := initCpuset(d); err != nil {
			return nil, fmt.Errorf("exec cgroup %s: %w", d, err)
		}
	}
	return s, nil
}
