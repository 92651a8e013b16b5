package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
	"github.com/oci-rt/oci-rt/libcontainer/internal/criurpc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/cgroups/fs"
	"github.com/oci-rt/oci-rt/cgroups/fs2"
	"github.com/oci-rt/oci-rt/libcontainer/rootfs"
)

// Checkpoint dumps the running (or paused) container's processes with
// CRIU into o.ImagePath. Unless the container is left running (or this is
// a pre-dump), CRIU ends its processes and the container is deleted, as
// runc does: its images are what remains of it.
func (c *Container) Checkpoint(o *CheckpointOptions) error {
	criuPath, _, err := FindCriu(o.CriuPath)
	if err != nil {
		return err
	}
	lock, err := c.store.Lock(c.ID())
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if c.State, err = c.store.Load(c.ID()); err != nil {
		return err
	}
	if err := c.Allow(OpCheckpoint); err != nil {
		return err
	}
	spec, err := c.Spec()
	if err != nil {
		return err
	}
	pidfd, err := c.openInit()
	if err != nil {
		return err
	}
	defer unix.Close(pidfd)
	cg, err := c.verifiedCgroup()
	if err != nil && !errors.Is(err, errNoCgroup) {
		return err
	}
	if err := c.dump(criuPath, o, spec, cg); err != nil {
		return err
	}
	if o.LeaveRunning || o.PreDump {
		return nil
	}
	lock.Unlock()
	return Delete(c.store, c.ID(), true)
}

// dump runs CRIU's dump (or pre-dump) of the container.
func (c *Container) dump(criuPath string, o *CheckpointOptions, spec *specs.Spec, cg cgroups.Manager) error {
	pid := c.State.InitPid
	images, work, err := openCriuDirs(o.ImagePath, o.WorkPath)
	if err != nil {
		return err
	}
	defer images.Close()
	defer work.Close()
	var netnsInode uint64
	if joinedNetNS(spec) != "" {
		var st unix.Stat_t
		if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st); err != nil {
			return fmt.Errorf("network namespace of container init %d: %w", pid, err)
		}
		netnsInode = st.Ino
	}
	stdio, err := stdioKeys(pid)
	if err != nil {
		return err
	}
	opts, err := dumpOptions(o, spec, c.State.Rootfs, pid, netnsInode, freezeDir(cg), v1Hierarchies(cg))
	if err != nil {
		return err
	}
	opts.External = append(opts.External, externalStdio(stdio)...)
	if !o.PreDump {
		if err := writeCheckpointRecord(images.Name(), stdio, spec); err != nil {
			return err
		}
	}
	run := &criuRun{workDir: work.Name(), logName: opts.LogFile}
	// CRIU opens these through our /proc/PID/fd, as the fds of the
	// process at the other end of its socket.
	opts.ImagesDirFd, opts.WorkDirFd = int32(images.Fd()), int32(work.Fd())
	if o.StatusFD >= 0 {
		opts.StatusFd = int32(o.StatusFD)
	}
	reqType := criurpc.Dump
	if o.PreDump {
		reqType = criurpc.PreDump
	}
	if err := run.start(criuPath, [3]*os.File{}); err != nil {
		return err
	}
	_, err = run.do(&criurpc.Req{Type: reqType, Opts: opts}, nil)
	// After a pre-dump CRIU waits for the next dump of a series and
	// fails when the socket closes instead: its exit says nothing then.
	if closeErr := run.close(); err == nil && closeErr != nil && !o.PreDump {
		err = fmt.Errorf("criu: %w%s", closeErr, run.logHint())
	}
	return err
}

// openCriuDirs makes and opens the images directory and the work
// directory (the images directory when none is given).
func openCriuDirs(imagePath, workPath string) (images, work *os.File, err error) {
	if workPath == "" {
		workPath = imagePath
	}
	open := func(path, what string) (*os.File, error) {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		f, err := os.OpenFile(abs, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return f, nil
	}
	if images, err = open(imagePath, "image path"); err != nil {
		return nil, nil, err
	}
	if work, err = open(workPath, "work path"); err != nil {
		images.Close()
		return nil, nil, err
	}
	return images, work, nil
}

// freezeDir is the cgroup directory CRIU freezes the tasks through: the
// unified one, or on cgroup v1 the freezer hierarchy's.
func freezeDir(cg cgroups.Manager) string {
	if cg == nil {
		return ""
	}
	if _, unified := cg.(*fs2.Manager); unified {
		return cg.Dirs()[0]
	}
	for _, dir := range cg.Dirs() {
		if strings.Contains(dir, "/freezer/") {
			return dir
		}
	}
	return ""
}

// stdioKeys names the init's fds 0-2 as CRIU's images will: a pipe by
// its "pipe:[inode]", a terminal outside the container's mounts (the
// caller's, with --shell-job) as the external "tty[rdev:dev]", another
// file outside them (the caller's /dev/null, a log file) as the external
// file "file[mnt_id:inode]" that CRIU would otherwise fail to find.
// Restore hands its own stdio in under these names. A file inside the
// container keeps no name: CRIU restores it.
func stdioKeys(pid int) ([3]string, error) {
	var keys [3]string
	mounts, err := mountIDs(pid)
	if err != nil {
		return keys, err
	}
	for fd := range keys {
		link := fmt.Sprintf("/proc/%d/fd/%d", pid, fd)
		target, err := os.Readlink(link)
		if err != nil {
			continue // closed
		}
		if strings.HasPrefix(target, "pipe:") {
			keys[fd] = target
			continue
		}
		f, err := statOpenFile(link)
		if err != nil {
			return keys, fmt.Errorf("stdio of container init %d: %w", pid, err)
		}
		switch {
		case mounts[f.mountID]:
		case f.terminal():
			keys[fd] = fmt.Sprintf("tty[%x:%x]", f.rdev, f.dev)
		default:
			keys[fd] = fmt.Sprintf("file[%x:%x]", f.mountID, f.ino)
		}
	}
	return keys, nil
}

// mountIDs are the IDs of the mounts in pid's mount namespace.
func mountIDs(pid int) (map[uint64]bool, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		return nil, fmt.Errorf("mounts of container init %d: %w", pid, err)
	}
	defer f.Close()
	mounts, err := mountinfo.GetMountsFromReader(f, nil)
	if err != nil {
		return nil, fmt.Errorf("mounts of container init %d: %w", pid, err)
	}
	ids := make(map[uint64]bool, len(mounts))
	for _, m := range mounts {
		ids[uint64(m.ID)] = true
	}
	return ids, nil
}

// openFile is what CRIU names an open file by: its mount and inode, and
// for a device its number and the number of the filesystem it lives on,
// encoded as stat(2) does.
type openFile struct {
	mountID, ino uint64
	mode         uint16
	rdev, dev    uint64
}

// terminal tells whether the file is a tty CRIU dumps as one: a virtual
// console or serial line, /dev/tty or /dev/console, a pty master or slave.
func (f *openFile) terminal() bool {
	if f.mode&unix.S_IFMT != unix.S_IFCHR {
		return false
	}
	major := unix.Major(f.rdev)
	return major == 4 || major == 5 || major >= 128 && major <= 143
}

// statOpenFile describes the file an fd link of /proc/<pid>/fd names:
// statx follows the magic link to the open file.
func statOpenFile(link string) (*openFile, error) {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, link, 0, unix.STATX_MNT_ID|unix.STATX_INO|unix.STATX_TYPE, &stx); err != nil {
		return nil, os.NewSyscallError("statx", err)
	}
	return &openFile{
		mountID: stx.Mnt_id,
		ino:     stx.Ino,
		mode:    stx.Mode,
		rdev:    unix.Mkdev(stx.Rdev_major, stx.Rdev_minor),
		dev:     unix.Mkdev(stx.Dev_major, stx.Dev_minor),
	}, nil
}

// writeCheckpointRecord saves what restore needs besides the images.
func writeCheckpointRecord(imageDir string, stdio [3]string, spec *specs.Spec) error {
	record := newCheckpointRecord(spec)
	record.Stdio = stdio
	data, err := json.Marshal(record)
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(imageDir, checkpointRecordFile), data, 0o600)
}

// readCheckpointRecord reads what checkpoint saved beside the images.
func readCheckpointRecord(imagePath string) (*CheckpointRecord, error) {
	data, err := os.ReadFile(filepath.Join(imagePath, checkpointRecordFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("image path %s holds no checkpoint of oci-rt (no %s)", imagePath, checkpointRecordFile)
	}
	if err != nil {
		return nil, fmt.Errorf("image path: %w", err)
	}
	var record CheckpointRecord
	if err := json.Unmarshal(data, &record); err != nil {
		return nil, fmt.Errorf("image path %s: %s is corrupt: %w", imagePath, checkpointRecordFile, err)
	}
	return &record, nil
}

// RestoreOptions are restore's inputs: create's (ID, bundle, console
// socket, pid file, stdio) and CRIU's.
type RestoreOptions struct {
	CreateOptions
	CriuFlags
	ImagePath, WorkPath string
	// LsmProfile (TYPE:NAME) and LsmMountContext replace those the
	// images hold.
	LsmProfile, LsmMountContext string
}

// Restore makes a container from o.Bundle whose processes CRIU restores
// from o.ImagePath; it runs once Restore returns. As with Create, a
// failure leaves nothing behind: no state, cgroup or process.
func Restore(store *Store, o *RestoreOptions) (*Container, error) {
	criuPath, _, err := FindCriu(o.CriuPath)
	if err != nil {
		return nil, err
	}
	record, err := readCheckpointRecord(o.ImagePath)
	if err != nil {
		return nil, err
	}
	cr, err := validateCreate(store, &o.CreateOptions)
	if err != nil {
		return nil, err
	}
	if err := record.matches(cr.spec); err != nil {
		cr.close()
		return nil, fmt.Errorf("%w: %v", errCheckpointMismatch, err)
	}
	phases := []func() error{
		cr.record,
		cr.makeCgroup,
		func() error { return cr.restoreTasks(criuPath, o, record) },
		cr.finalizeRestore,
	}
	for _, run := range phases {
		if err := run(); err != nil {
			cr.fail()
			return nil, err
		}
	}
	cr.close()
	debugf("restore %s: init %d runs", o.ID, cr.st.InitPid)
	return cr.c, nil
}

// restoreTasks has CRIU restore the processes into the container's
// cgroup, with the rootfs as their root, and records the init.
func (cr *creation) restoreTasks(criuPath string, o *RestoreOptions, record *CheckpointRecord) error {
	if err := rootfs.CreateMountpoints(cr.rootfsPath, cr.bundle, cr.spec); err != nil {
		return err
	}
	root, err := bindCriuRoot(cr.rootfsPath)
	if err != nil {
		return err
	}
	defer releaseCriuRoot(root)
	images, work, err := openCriuDirs(o.ImagePath, o.WorkPath)
	if err != nil {
		return err
	}
	defer images.Close()
	defer work.Close()
	opts := &criurpc.Opts{
		Root:     root,
		LogLevel: 4,
		LogFile:  "restore.log",
		// The init comes back as our child, like a created one.
		RstSibling: true,
		ExtMnt:     externalMounts(cr.spec, cr.bundle, cr.cgroupMountSource(), v1Hierarchies(cr.cg)),
		CgRoot:     criuCgroupRoots(cr.st),
	}
	if err := o.apply(opts); err != nil {
		return err
	}
	if o.LsmProfile != "" {
		opts.LsmProfile = o.LsmProfile
	}
	if o.LsmMountContext != "" {
		opts.LsmMountContext = o.LsmMountContext
	}
	run := &criuRun{workDir: work.Name(), logName: opts.LogFile}
	opts.InheritFd = stdioInheritance(record, func(fd int) int32 { return run.addFile(o.Stdio[fd]) })
	opts.ImagesDirFd, opts.WorkDirFd = int32(images.Fd()), int32(work.Fd())
	if path := joinedNetNS(cr.spec); path != "" {
		netns, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("network namespace %s: %w", path, err)
		}
		defer netns.Close()
		opts.InheritFd = append(opts.InheritFd, criurpc.InheritFd{Key: externalNetNSKey, Fd: run.addFile(netns)})
	}
	var notify criuNotify
	if cr.spec.Process.Terminal {
		// CRIU hands the new master over as a notification, and sends
		// notifications only when asked to.
		opts.OrphanPtsMaster = true
		opts.NotifyScripts = true
		notify = cr.sendRestoredConsole
	}
	if err := run.start(criuPath, o.Stdio); err != nil {
		return err
	}
	// CRIU restores the tasks into cgroups below its own, given as
	// the cgroup roots: it runs in the container's.
	if err := cr.cg.Enter(run.cmd.Process.Pid); err != nil {
		_ = run.cmd.Process.Kill()
		_ = run.close()
		return fmt.Errorf("move criu into the container's cgroup: %w", err)
	}
	reqType := criurpc.Restore
	resp, err := run.do(&criurpc.Req{Type: reqType, Opts: opts}, notify)
	if closeErr := run.close(); err == nil && closeErr != nil {
		err = fmt.Errorf("criu: %w%s", closeErr, run.logHint())
	}
	if err != nil {
		return err
	}
	pid := int(resp.RestorePid)
	if pid <= 0 {
		return errors.New("criu restored no process")
	}
	if err := recordInit(cr.st, pid); err != nil {
		return err
	}
	return cr.lock.Save(cr.st)
}

// stdioInheritance hands CRIU our stdio for the process's pipes, external
// files and terminals (see stdioKeys): their other end was outside the
// container, so the restored process writes to (or reads from) ours. Each
// name is handed in once, as CRIU's fd pass(fd) gives for our fd: not as
// CRIU's own stdio, which it moves away from an inherited fd while a
// shell job needs its stdin to stay the terminal.
func stdioInheritance(record *CheckpointRecord, pass func(fd int) int32) []criurpc.InheritFd {
	var inherit []criurpc.InheritFd
	seen := map[string]bool{}
	for fd, key := range record.Stdio {
		if key != "" && !seen[key] {
			seen[key] = true
			inherit = append(inherit, criurpc.InheritFd{Key: key, Fd: pass(fd)})
		}
	}
	return inherit
}

// externalStdio are the stdio keys CRIU must be told are external files
// or terminals, each once.
func externalStdio(keys [3]string) []string {
	var ext []string
	for _, key := range keys {
		if (strings.HasPrefix(key, "file[") || strings.HasPrefix(key, "tty[")) && !slices.Contains(ext, key) {
			ext = append(ext, key)
		}
	}
	return ext
}

// criuCgroupRoots are the container's cgroups, where CRIU puts the tasks.
func criuCgroupRoots(st *State) []criurpc.CgroupRoot {
	if len(st.CgroupPaths) == 0 {
		return []criurpc.CgroupRoot{{Path: st.CgroupPath}}
	}
	var roots []criurpc.CgroupRoot
	for ctrl, path := range st.CgroupPaths {
		roots = append(roots, criurpc.CgroupRoot{Ctrl: ctrl, Path: path})
	}
	return roots
}

// cgroupMountSource is the host directory a cgroup mount of the container
// shows: its own cgroup in a new cgroup namespace, else the hierarchy.
// Without a unified hierarchy there is no such directory: "".
func (cr *creation) cgroupMountSource() string {
	mountpoint, err := cgroups.Mountpoint()
	if err != nil {
		return ""
	}
	if newCgroupNS(cr.spec) {
		return filepath.Join(mountpoint, cr.cgLoc.Path)
	}
	return mountpoint
}

// v1Hierarchies are the container's cgroup v1 hierarchies; none on cgroup
// v2 or without a cgroup.
func v1Hierarchies(cg cgroups.Manager) []cgroups.MountedHierarchy {
	if cg == nil {
		return nil
	}
	if v1, ok := cgroups.Files(cg).(*fs.Manager); ok {
		return v1.Hierarchies()
	}
	return nil
}

// bindCriuRoot binds the rootfs on a private directory: CRIU needs the
// restored root to be a mountpoint. It is not under the state directory,
// whose removal must never reach into a rootfs.
func bindCriuRoot(rootfsPath string) (string, error) {
	dir, err := os.MkdirTemp("", "oci-rt-criu-root-")
	if err != nil {
		return "", fmt.Errorf("criu root: %w", err)
	}
	if err := unix.Mount(rootfsPath, dir, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		os.Remove(dir)
		return "", fmt.Errorf("bind rootfs for criu: %w", err)
	}
	if err := unix.Mount("", dir, "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		releaseCriuRoot(dir)
		return "", fmt.Errorf("make criu root private: %w", err)
	}
	return dir, nil
}

func releaseCriuRoot(dir string) {
	_ = unix.Unmount(dir, unix.MNT_DETACH)
	_ = os.Remove(dir)
}

// sendRestoredConsole passes the restored process's pty master, which
// CRIU hands over as an orphan-pts-master notification, to the console
// socket, as create passes a new one.
func (cr *creation) sendRestoredConsole(script string, _ int32, master *os.File) error {
	if script != "orphan-pts-master" {
		return nil
	}
	if master == nil {
		return errors.New("criu sent no pty master")
	}
	sock, err := dialConsoleSocket(cr.o.ConsoleSocket)
	if err != nil {
		return err
	}
	defer sock.Close()
	return unix.Sendmsg(int(sock.Fd()), []byte("/dev/ptmx"), unix.UnixRights(int(master.Fd())), nil, 0)
}

// finalizeRestore writes the pid file and marks the state complete: the
// container is running from here on.
func (cr *creation) finalizeRestore() error {
	if cr.o.PidFile != "" {
		if err := WriteFileAtomic(cr.o.PidFile, []byte(fmt.Sprint(cr.st.InitPid)), 0o644); err != nil {
			return fmt.Errorf("pid file: %w", err)
		}
	}
	cr.st.Complete = true
	return cr.lock.Save(cr.st)
}
