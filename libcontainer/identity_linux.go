package libcontainer

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/cgroups/manager"
	"github.com/oci-rt/oci-rt/cgroups/systemd"
	"github.com/oci-rt/oci-rt/internal/sysfile"
)

// What the runtime touches on a container's behalf (its init, its cgroup,
// its host mount) is named in the state by numbers and paths that outlive
// their objects: a pid is reused, a cgroup path recreated by somebody
// else, a reboot makes every pid, cgroup and mount ID mean something new,
// and a state copied from another root or host names objects that were
// never this container's. The store's ownership check keeps everybody but
// the caller from writing states; these checks keep a stale or copied
// state, or one written by a process that can write the store but holds
// no power over the cgroup tree, from turning `kill` or `delete` against
// an unrelated process, cgroup or mount:
//
//   - the state must come from this boot;
//   - the cgroup must be where the container's config places it, and
//     carry the mark create put on it: an extended attribute in the
//     "trusted" namespace, which only a holder of CAP_SYS_ADMIN can read
//     or write, holding a random token recorded in the state. Where the
//     runtime itself cannot use such attributes (it runs without
//     CAP_SYS_ADMIN, or the filesystem has none), the cgroup's inode,
//     which the kernel never hands to another cgroup during a boot,
//     stands in for it;
//   - the init is the process found through a pidfd whose start time and
//     pid namespace are those recorded at create and which lives in that
//     cgroup, checked after the pidfd was opened so that the pidfd is
//     known to be the process that was checked.

// ErrNotRunning says that the container's init is gone (or never
// started); its text holds the words clients match.
var ErrNotRunning = errors.New("container not running")

// errStaleState: the state was written before the last boot.
var errStaleState = errors.New("the state was recorded before the host last booted")

const (
	cgroupMarkAttr = "trusted.oci-rt.container"
	// The inode of the initial user namespace is fixed by the kernel.
	initUserNSInode = 0xEFFFFFFD
)

// bootID identifies the running boot of the host. It is read once per
// process: a boot outlives every process of it.
var bootID = sync.OnceValues(func() (string, error) {
	data, err := sysfile.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", fmt.Errorf("read boot id: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
})

func (c *Container) checkBoot() error {
	id, err := bootID()
	if err != nil {
		return err
	}
	if id != c.State.BootID {
		return errStaleState
	}
	return nil
}

// pidNamespace is the inode of pid's pid namespace.
func pidNamespace(pid int) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/pid", &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// recordInit notes the init's identity in st.
func recordInit(st *State, pid int) error {
	start, _, err := procStat(pid)
	if err == nil {
		st.InitPidNS, err = pidNamespace(pid)
	}
	if errors.Is(err, os.ErrPermission) && (st.NoCgroup || os.Geteuid() != 0) {
		// An unprivileged caller may not look into the namespaces of its
		// init while that is not dumpable (until execve); the pid and
		// its start time identify it then, as they do for runc, with
		// the cgroup where it has one.
		st.InitPidNS, err = 0, nil
	}
	if err != nil {
		return fmt.Errorf("container init %d: %w", pid, err)
	}
	st.InitPid, st.InitStartTime = pid, start
	return nil
}

// openInit returns a pidfd of the container's init once the process
// behind it has proved to be the init (see above). ErrNotRunning means
// that the init is gone; any other error, that the process at the
// recorded pid is not the container's.
func (c *Container) openInit() (int, error) {
	st := c.State
	if st.InitPid <= 0 || c.checkBoot() != nil {
		return -1, ErrNotRunning
	}
	pidfd, err := unix.PidfdOpen(st.InitPid, 0)
	if err != nil {
		return -1, ErrNotRunning
	}
	if err := c.checkInit(); err != nil {
		unix.Close(pidfd)
		if initEnding(st.InitPid) {
			// An exiting process loses its namespaces and cgroup links
			// before it is gone: what it shows then proves nothing.
			return -1, ErrNotRunning
		}
		return -1, err
	}
	return pidfd, nil
}

func (c *Container) checkInit() error {
	st := c.State
	start, state, err := procStat(st.InitPid)
	if err != nil || start != st.InitStartTime || state == 'Z' || state == 'X' {
		return ErrNotRunning
	}
	notOurs := func(why string) error {
		return fmt.Errorf("process %d is not the init of container %s (%s): refusing to touch it", st.InitPid, st.ID, why)
	}
	// Without a recorded namespace (see recordInit) the start time above
	// is what tells the init from a later process of that pid, and for
	// an unprivileged caller's container with a cgroup, that cgroup.
	if st.InitPidNS != 0 || !st.NoCgroup && os.Geteuid() == 0 {
		ns, err := pidNamespace(st.InitPid)
		if err != nil {
			return ErrNotRunning
		}
		if ns != st.InitPidNS {
			return notOurs("its pid namespace is not the one recorded at create")
		}
	}
	if st.NoCgroup {
		return nil
	}
	if _, err := c.verifiedCgroup(); err != nil {
		return notOurs(err.Error())
	}
	in, err := inCgroup(st.InitPid, st.CgroupPath)
	if err != nil {
		return ErrNotRunning
	}
	if !in && !st.Complete {
		return errInitInSetup
	}
	if !in {
		return notOurs("it is not in the container's cgroup " + st.CgroupPath)
	}
	return nil
}

// initEnding tells whether pid has begun to exit or has a SIGKILL on the
// way. A pid namespace's init that exits stays a live process until the
// kernel has reaped every other process of the namespace, and a killed
// process runs on until it is scheduled: status and /proc still show it
// running while everything the caller tries with it fails.
func initEnding(pid int) bool {
	const pfExiting = 0x4 // PF_EXITING in the kernel's task flags
	const sigkill = 1 << (unix.SIGKILL - 1)
	data, err := sysfile.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// Fields after the command name: state, ppid, pgrp, session, tty_nr,
	// tpgid, flags.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(fields) > 6 {
		if flags, err := strconv.ParseUint(fields[6], 10, 64); err == nil && flags&pfExiting != 0 {
			return true
		}
	}
	status, err := sysfile.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return true
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), ":")
		if name != "SigPnd" && name != "ShdPnd" {
			continue
		}
		if mask, err := strconv.ParseUint(strings.TrimSpace(value), 16, 64); err == nil && mask&sigkill != 0 {
			return true
		}
	}
	return false
}

// errInitInSetup: the init of an unfinished create is outside the
// container's cgroup, where it does its setup (see joinCgroup); nothing
// there proves it the container's.
var errInitInSetup = errors.New("the container's init is still in its setup, outside the container's cgroup")

// waitInitInSetup waits a while for the init of a create that was killed
// during the setup to end: it does so by itself once it reads the closed
// socket of that create. It is not signalled, as it is not proven the
// container's; the wait only lets delete return once it is gone.
func (c *Container) waitInitInSetup() {
	pidfd, err := unix.PidfdOpen(c.State.InitPid, 0)
	if err != nil {
		return
	}
	defer unix.Close(pidfd)
	if start, _, err := procStat(c.State.InitPid); err == nil && start == c.State.InitStartTime {
		waitPidfd(pidfd, 5*time.Second)
	}
}

// inCgroup tells whether pid is in the cgroup at path (within a
// hierarchy, as /proc/PID/cgroup shows it) or below it, on any hierarchy.
func inCgroup(pid int, cgroupPath string) (bool, error) {
	data, err := sysfile.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return false, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		// hierarchy-ID:controllers:path; the path may hold ':'.
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) == 3 && (parts[2] == cgroupPath || strings.HasPrefix(parts[2], cgroupPath+"/")) {
			return true, nil
		}
	}
	return false, sc.Err()
}

// errNoCgroup: the state names no cgroup, or the cgroup is gone.
var errNoCgroup = errors.New("the container has no cgroup")

// verifiedCgroup is the container's cgroup once it has proved to be the
// one create made for it, in every hierarchy. errNoCgroup means there is
// none any more.
func (c *Container) verifiedCgroup() (cgroups.Manager, error) {
	if c.cgroup != nil {
		return c.cgroup, nil
	}
	st := c.State
	if st.CgroupPath == "" && st.CgroupPaths == nil {
		return nil, errNoCgroup
	}
	m, err := manager.Load(cgroups.Location{Path: st.CgroupPath, Paths: st.CgroupPaths, Unit: st.SystemdUnit, Slice: st.SystemdSlice})
	if err != nil {
		return nil, err
	}
	notOurs := func(why string) error {
		return fmt.Errorf("cgroup %s is not container %s's (%s): left alone", st.CgroupPath, st.ID, why)
	}
	if err := c.checkBoot(); err != nil {
		return nil, notOurs(err.Error())
	}
	if err := c.checkPlacement(); err != nil {
		return nil, notOurs(err.Error())
	}
	open := map[string]int{}
	for i, d := range m.Dirs() {
		dir, err := openCgroupDir(d)
		if errors.Is(err, os.ErrNotExist) {
			// A delete cut short may have removed some hierarchies' part.
			continue
		}
		if err != nil {
			closeDirs(open)
			return nil, err
		}
		open[d] = dir
		if err := checkCgroupMark(dir, st, i == 0); err != nil {
			closeDirs(open)
			return nil, notOurs(err.Error())
		}
	}
	if len(open) == 0 {
		return nil, errNoCgroup
	}
	keepOpenDirs(m, open)
	c.cgroup = m
	return m, nil
}

// keepOpenDirs hands the cgroup's directories, open and proved the
// container's, to the manager of its files, which writes into them from
// then on (see fs.Manager.UseOpenDirs); a manager without that use for
// them has them closed.
func keepOpenDirs(m cgroups.Manager, open map[string]int) {
	if u, ok := cgroups.Files(m).(interface{ UseOpenDirs(map[string]int) }); ok {
		u.UseOpenDirs(open)
		return
	}
	closeDirs(open)
}

func closeDirs(open map[string]int) {
	for _, fd := range open {
		unix.Close(fd)
	}
}

// checkPlacement: the recorded cgroup is where the container's config
// puts it. A relative cgroupsPath was resolved against the cgroup of the
// runtime that created the container, which a later command need not
// share: its tail must match.
func (c *Container) checkPlacement() error {
	config, err := c.config()
	if err != nil {
		return err
	}
	cgroupsPath := ""
	if config.Linux != nil {
		cgroupsPath = config.Linux.CgroupsPath
	}
	got := c.State.CgroupPath
	if c.State.SystemdUnit != "" {
		if systemdPlaced(cgroupsPath, c.State.ID, got, systemd.UserManager()) {
			return nil
		}
		return errors.New("not where the container's config places it")
	}
	if cgroupsPath != "" && !strings.HasPrefix(cgroupsPath, "/") {
		if strings.HasSuffix(got, path.Clean("/"+cgroupsPath)) {
			return nil
		}
	} else if want, err := cgroups.Resolve(cgroupsPath, c.State.ID, cgroups.DefaultPath(c.store.Root, c.State.ID)); err == nil && want.Path == got {
		return nil
	}
	return errors.New("not where the container's config places it")
}

// canUseTrustedXattrs tells whether this process may read and write
// "trusted" extended attributes: it needs CAP_SYS_ADMIN in the initial
// user namespace. (Without it the kernel answers a read as if there were
// no attribute, so the answer cannot come from trying.) The runtime's
// capabilities do not change while it runs: it is asked once, not for
// every directory of every check of a v1 cgroup.
var canUseTrustedXattrs = sync.OnceValue(func() bool {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/user", &st); err != nil || st.Ino != initUserNSInode {
		return false
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_SYS_ADMIN) != 0
})

func markValue(st *State) string { return st.ID + ":" + st.CgroupMark }

// newCgroupMark draws the token create marks the cgroup with, recorded in
// the state before the cgroup exists; empty where it cannot be set.
func newCgroupMark() (string, error) {
	if !canUseTrustedXattrs() {
		return "", nil
	}
	// One getrandom(2) system call: crypto/rand, and x/sys's Getrandom,
	// which goes through the vDSO, would first map and fill the state of
	// a generator (about 35 µs here), which this one read per create
	// does not repay.
	b := make([]byte, 16)
	n, _, errno := unix.Syscall(unix.SYS_GETRANDOM, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0)
	if errno != 0 {
		return "", fmt.Errorf("cgroup mark: getrandom: %w", errno)
	}
	if int(n) != len(b) {
		return "", fmt.Errorf("cgroup mark: getrandom returned %d bytes of %d", n, len(b))
	}
	return hex.EncodeToString(b), nil
}

// markCgroup puts the mark on every directory of the cgroup create just
// made and records the inode of the first, which names it; the manager
// keeps the marked directories open for its writes.
func markCgroup(m cgroups.Manager, st *State) error {
	open := map[string]int{}
	for i, d := range m.Dirs() {
		dir, err := openCgroupDir(d)
		if err != nil {
			closeDirs(open)
			return err
		}
		open[d] = dir
		if err := markCgroupDir(dir, d, st, i == 0); err != nil {
			closeDirs(open)
			return err
		}
	}
	keepOpenDirs(m, open)
	return nil
}

// openCgroupDir opens a cgroup directory as a bare fd: an *os.File would
// cost each of the many directories of a v1 cgroup a poller registration
// and a switch back to blocking mode for nothing.
func openCgroupDir(path string) (int, error) {
	for {
		dirFD, name := cgroups.At(path)
		dir, err := unix.Openat(dirFD, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return -1, fmt.Errorf("cgroup %s: %w", path, &os.PathError{Op: "open", Path: path, Err: err})
		}
		return dir, nil
	}
}

// markCgroupDir marks the directory open as dir, at path.
func markCgroupDir(dir int, path string, st *State, first bool) error {
	if first {
		var fst unix.Stat_t
		if err := unix.Fstat(dir, &fst); err != nil {
			return fmt.Errorf("cgroup %s: %w", path, err)
		}
		st.CgroupInode = fst.Ino
	}
	if st.CgroupMark == "" {
		return nil
	}
	err := unix.Fsetxattr(dir, cgroupMarkAttr, []byte(markValue(st)), 0)
	if errors.Is(err, unix.EOPNOTSUPP) {
		st.CgroupMark = ""
		return nil
	}
	if err != nil {
		return fmt.Errorf("cgroup %s: mark it as container %s's: %w", path, st.ID, err)
	}
	return nil
}

// checkCgroupMark compares the cgroup directory open as dir with what
// create recorded: the mark where this runtime can read one, else the
// inode (recorded for the first directory only).
func checkCgroupMark(dir int, st *State, first bool) error {
	if canUseTrustedXattrs() {
		buf := make([]byte, 256)
		n, err := unix.Fgetxattr(dir, cgroupMarkAttr, buf)
		switch {
		case err == nil && st.CgroupMark != "" && string(buf[:n]) == markValue(st):
			return nil
		case err == nil, errors.Is(err, unix.ENODATA), errors.Is(err, unix.ERANGE):
			return errors.New("it does not carry the mark create put on the container's cgroup")
		case !errors.Is(err, unix.EOPNOTSUPP):
			return fmt.Errorf("read its mark: %w", err)
		}
	}
	if !first {
		return nil
	}
	var fst unix.Stat_t
	if err := unix.Fstat(dir, &fst); err != nil {
		return err
	}
	if st.CgroupInode == 0 || fst.Ino != st.CgroupInode {
		return errors.New("it is not the cgroup create made")
	}
	return nil
}
