package libcontainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/libcontainer/rootfs"
)

// Container statuses as runtime-spec names them.
const (
	StatusCreating = "creating"
	StatusCreated  = "created"
	StatusRunning  = "running"
	StatusPaused   = "paused"
	StatusStopped  = "stopped"
)

const (
	stateFile = "state.json"
	specFile  = "config.json"
	fifoName  = "exec.fifo"
	// filterFile is the seccomp filter create compiled (see
	// seccomp.UnmarshalFilter), for the execs to install.
	filterFile = "seccomp.bpf"
)

// ErrNotExist is returned for an ID that has no container; its text holds
// the words clients match ("does not exist").
var ErrNotExist = errors.New("does not exist")

// State is what the runtime records about a container. It is written
// before anything is created for the container, and rewritten as each
// resource comes into being, so that a runtime killed at any point leaves
// enough behind for `delete --force` to undo its work.
type State struct {
	ID          string            `json:"id"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Complete is false until create has finished: such a container is
	// listed by nobody and only `delete --force` touches it.
	Complete bool `json:"complete"`
	// CgroupPath is the absolute directory of the container's cgroup,
	// recorded before the directory is made.
	CgroupPath string `json:"cgroupPath,omitempty"`
	// CgroupPaths, on a cgroup v1 host, are the cgroup's paths in each
	// hierarchy (a relative cgroupsPath resolves differently in each).
	CgroupPaths map[string]string `json:"cgroupPaths,omitempty"`
	// SystemdUnit, with the systemd cgroup driver, is the transient unit
	// holding the cgroup, and SystemdSlice the slice it was put in.
	SystemdUnit  string `json:"systemdUnit,omitempty"`
	SystemdSlice string `json:"systemdSlice,omitempty"`
	// NoCgroup: created under --rootless where the caller may not create a
	// cgroup; the container runs in the caller's, and its init is known by
	// its pid, start time and pid namespace alone.
	NoCgroup bool `json:"noCgroup,omitempty"`
	// CgroupMark is the token create marks the cgroup with, and
	// CgroupInode the cgroup directory's inode (see verifiedCgroup).
	CgroupMark  string `json:"cgroupMark,omitempty"`
	CgroupInode uint64 `json:"cgroupInode,omitempty"`
	// InitPid, InitStartTime and InitPidNS identify the init process; the
	// start time (from /proc/PID/stat) tells a live init from a reused
	// pid, the pid namespace's inode the init from a process that merely
	// started at the same time (see openInit).
	InitPid       int    `json:"initPid,omitempty"`
	InitStartTime uint64 `json:"initStartTime,omitempty"`
	InitPidNS     uint64 `json:"initPidNs,omitempty"`
	// BootID is the host's boot the state was written in: pids, cgroup
	// inodes and mount IDs mean nothing in another.
	BootID string `json:"bootId"`
	// HostRootfsMount is the bind of the rootfs onto itself made in the
	// runtime's mount namespace for a container without one of its own,
	// recorded before it is attached; delete unmounts it and all below it.
	HostRootfsMount *rootfs.HostRootMount `json:"hostRootfsMount,omitempty"`
	// IntelRdtDirs are the resctrl directories create makes for the
	// container, recorded before they are made; delete removes them.
	IntelRdtDirs []string `json:"intelRdtDirs,omitempty"`
	// NetDevices are the host network devices lent to the container,
	// recorded before each is moved; delete gives them back.
	NetDevices []NetDevice `json:"netDevices,omitempty"`
}

// Store is the runtime's state directory: one directory per container.
type Store struct {
	Root string
}

// OpenStore makes the root directory (mode 0700: it holds every
// container's config) when missing, and refuses one that anybody but the
// caller could write (see openTrusted).
func OpenStore(root string) (*Store, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", root, err)
	}
	f, err := openTrusted(unix.AT_FDCWD, root, "state directory "+root, true)
	if err != nil {
		return nil, err
	}
	f.Close()
	return &Store{Root: root}, nil
}

func (s *Store) dir(id string) string { return filepath.Join(s.Root, id) }

// openDir opens a container's directory once it passes checkTrusted.
func (s *Store) openDir(id string) (*os.File, error) {
	d, err := openTrusted(unix.AT_FDCWD, s.dir(id), "state directory of container "+id, true)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("container %w", ErrNotExist)
	}
	return d, err
}

// Lock is an exclusive hold on one container's directory; every command
// that changes a container takes it, so that concurrent commands on one ID
// run one after another.
type Lock struct {
	store *Store
	id    string
	dir   *os.File
}

// Create makes the container's directory and locks it. The mkdir is the
// test of uniqueness: of many concurrent creates of one ID exactly one
// succeeds.
func (s *Store) Create(id string) (*Lock, error) {
	if err := os.Mkdir(s.dir(id), 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container with id %s already exists", id)
		}
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	l, err := s.Lock(id)
	if err != nil {
		_ = os.Remove(s.dir(id))
	}
	return l, err
}

// Lock waits for and takes the container's lock.
func (s *Store) Lock(id string) (*Lock, error) {
	d, err := s.openDir(id)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(d.Fd()), unix.LOCK_EX); err != nil {
		d.Close()
		return nil, fmt.Errorf("lock container %s: %w", id, err)
	}
	// A delete may have removed the directory while we waited.
	var st unix.Stat_t
	if err := unix.Fstat(int(d.Fd()), &st); err != nil || st.Nlink == 0 {
		d.Close()
		return nil, fmt.Errorf("container %w", ErrNotExist)
	}
	return &Lock{store: s, id: id, dir: d}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() {
	if l.dir != nil {
		l.dir.Close()
		l.dir = nil
	}
}

// Dir is the container's state directory.
func (l *Lock) Dir() string { return l.store.dir(l.id) }

// Save writes the state atomically: readers see the old or the new file,
// never a part of one.
func (l *Lock) Save(st *State) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return l.writeAtomic(stateFile, data)
}

// SaveSpec records the container's config (the bundle may change or go
// away after create; exec, update and delete's hooks need the original).
func (l *Lock) SaveSpec(data []byte) error {
	return l.writeAtomic(specFile, data)
}

// SaveFilter records the compiled seccomp filter.
func (l *Lock) SaveFilter(data []byte) error {
	return l.writeAtomic(filterFile, data)
}

// writeAtomic replaces the container's file name with data, so that a
// reader sees the old or the new content, never a part. The lock makes
// this the only writer in the directory: the temporary file can have a
// fixed name, and plain system calls on the locked directory's fd spare
// each of a create's several saves os.CreateTemp's random names and
// poller registration and the path walks of a chmod and a rename.
func (l *Lock) writeAtomic(name string, data []byte) error {
	if l.dir == nil {
		return fmt.Errorf("write %s of container %s: the lock was released", name, l.id)
	}
	dir := int(l.dir.Fd())
	if rewriteInPlace(dir, name, data) {
		return nil
	}
	tmp := "." + name + ".tmp"
	if err := writeAndRename(dir, tmp, name, data); err != nil {
		_ = unix.Unlinkat(dir, tmp, 0)
		return fmt.Errorf("write %s of container %s: %w", name, l.id, err)
	}
	return nil
}

// rewriteInPlace rewrites the file name in dir with data where that is as
// safe for readers as replacing it, and reports whether it did. A new file
// per save costs its creation and the deletion of the old one (on ext4
// without a journal, as on this project's VM, each new inode is found past
// every inode freed in the last minutes, one by one: a cost that grows
// with the host's churn of containers: a run took 7% less CPU here than
// with two files that saves took turns in). The rewrite takes a write
// lease first, which the kernel grants only on a file nobody else has
// open: a reader that opened the file keeps what it read, as with a
// replacement, because the rewrite does not happen; one that opens it
// during the rewrite waits or, non-blocking as the store's readers open,
// gets EWOULDBLOCK (see openTrustedFd) until the file is whole again. The
// file is rewritten by one write into its first page, which a kill cannot
// cut in two (the kernel stops a write for a fatal signal between pages
// only), padded with blanks over whatever the old content had beyond the
// new, which JSON readers skip. A file or content larger than a page, a
// file in use and a filesystem without leases are replaced instead.
func rewriteInPlace(dir int, name string, data []byte) bool {
	if len(data) > os.Getpagesize() {
		return false
	}
	// A fifo in the file's place must not block the open.
	fd, err := unix.Openat(dir, name, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	// Closing the file gives up its lease.
	defer unix.Close(fd)
	var st unix.Stat_t
	if !takeWriteLease(fd) || unix.Fstat(fd, &st) != nil ||
		st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size > int64(os.Getpagesize()) {
		return false
	}
	page := data
	if pad := int(st.Size) - len(data); pad > 0 {
		page = append(slices.Clip(data), bytes.Repeat([]byte{' '}, pad)...)
	}
	n, err := unix.Pwrite(fd, page, 0)
	// A write that failed leaves the replacement to write the file whole.
	return err == nil && n == len(page)
}

// takeWriteLease takes a write lease of fd. The kernel signals a broken
// lease: SIGURG, which the Go runtime takes as a request to preempt and
// otherwise ignores, where SIGIO would be passed on to a foreground
// container (the runtime catches every other signal there).
func takeWriteLease(fd int) bool {
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETSIG, int(unix.SIGURG)); err != nil {
		return false
	}
	_, err := unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_WRLCK)
	return err == nil
}

// writeAndRename writes data into a new file tmp and renames it over
// name, both in dir. A file under tmp is one a crashed save left.
func writeAndRename(dir int, tmp, name string, data []byte) error {
	create := func() (int, error) {
		return unix.Openat(dir, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	}
	fd, err := create()
	if errors.Is(err, unix.EEXIST) {
		if err := unix.Unlinkat(dir, tmp, 0); err != nil {
			return err
		}
		fd, err = create()
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	// Mode 0600 whatever the umask.
	err = unix.Fchmod(fd, 0o600)
	for len(data) > 0 && err == nil {
		var n int
		n, err = unix.Write(fd, data)
		if err == nil {
			data = data[n:]
		} else if errors.Is(err, unix.EINTR) {
			err = nil
		}
	}
	if err != nil {
		return err
	}
	return unix.Renameat(dir, tmp, dir, name)
}

// Remove deletes the container's directory and releases the lock. The
// directory holds files only, which go through the locked directory's fd:
// os.RemoveAll would first try the directory as a file and as an empty
// directory, and open it and its parent again, some ten system calls
// more. Anything else in it is left to os.RemoveAll.
func (l *Lock) Remove() error {
	err := l.removeFiles()
	if err == nil {
		err = unix.Rmdir(l.Dir())
	}
	if err != nil {
		err = os.RemoveAll(l.Dir())
	}
	l.Unlock()
	if err != nil {
		return fmt.Errorf("remove state directory: %w", err)
	}
	return nil
}

// removeFiles deletes every file in the locked directory; a directory in
// it is an error.
func (l *Lock) removeFiles() error {
	if l.dir == nil {
		return errors.New("the lock was released")
	}
	entries, err := l.dir.ReadDir(-1)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			return fmt.Errorf("%s is a directory", e.Name())
		}
		if err := unix.Unlinkat(int(l.dir.Fd()), e.Name(), 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return err
		}
	}
	return nil
}

// Load reads a container's state without locking: a save replaces the
// file or rewrites it where no reader can look (see writeAtomic), so a
// reader always sees a whole state.
func (s *Store) Load(id string) (*State, error) {
	data, err := s.readFile(id, stateFile, "state")
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("state of %s is corrupt: %s", id, describeCorruption(err))
	}
	// A state copied into another container's directory would let one
	// name act on the other's processes and cgroup.
	if st.ID != id {
		return nil, fmt.Errorf("state of %s names container %q: refusing to trust it", id, st.ID)
	}
	return &st, nil
}

// describeCorruption says what is wrong with a state file in one short
// line. encoding/json's own text for a value of the wrong type quotes the
// value when it is a number, which may be thousands of digits long.
func describeCorruption(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		kind, _, _ := strings.Cut(typeErr.Value, " ")
		return fmt.Sprintf("field %s: JSON %s does not fit %s", typeErr.Field, kind, typeErr.Type)
	}
	return err.Error()
}

// LoadSpecBytes returns the config recorded at create.
func (s *Store) LoadSpecBytes(id string) ([]byte, error) {
	return s.readFile(id, specFile, "config")
}

// readFile reads one of a container's files, each step checked by
// checkTrusted. A missing file is ErrNotExist.
func (s *Store) readFile(id, name, what string) ([]byte, error) {
	data, err := s.readRecord(id, name, what)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("container %w", ErrNotExist)
	}
	return data, err
}

// readRecord is readFile for a file the container may lack: its absence
// stays os.ErrNotExist.
func (s *Store) readRecord(id, name, what string) ([]byte, error) {
	d, err := s.openDir(id)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return readTrusted(d, name, what+" file of container "+id)
}

// List returns the IDs of the containers whose creation completed, sorted.
func (s *Store) List() ([]string, error) {
	entries, err := os.ReadDir(s.Root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read state directory: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if st, err := s.Load(e.Name()); err == nil && st.Complete {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// WriteFileAtomic writes a temporary file beside path and renames it over
// path, so that a reader sees the old or the new content, never a part.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), mode)); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
