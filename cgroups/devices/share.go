package devices

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Verifying a device program is most of what the filter costs a create,
// and most containers carry the same rules, so a verified program is
// shared: pinned in a bpffs directory under a name derived from its
// instructions, it is found there by the next create with the same rules
// and attached without loading anything.
//
// A pin is only a cache entry. A cgroup holds its own reference to every
// program attached to it, so removing a pin never changes a container's
// filter; the kernel frees the program once no pin and no cgroup refers to
// it. That is why `delete` leaves pins alone (whether another cgroup still
// uses a program cannot be asked of the kernel cheaply), and why the
// directory is bounded instead: a create that would add a pin past
// maxSharedFilters empties it first. Distinct rule sets are few on a
// host (the defaults plus the devices each workload is given), so the
// bound is reached only by unusual churn, which then costs one load per
// rule set again, as without sharing.
//
// Nothing found in the directory is trusted by its name: a pinned object
// is used only if it is a cgroup device program without maps whose kernel
// tag (a hash of its instructions) is that of the program the rules
// compile to, so whoever could put an object there can at worst make a
// create load its own program. The directory is created root-only, and
// pins are added only to a directory the runtime's user owns alone.

// sharedFilterDir is where the runtime shares its device programs; the
// usual bpffs mount point, left alone when nothing is mounted there.
const sharedFilterDir = "/sys/fs/bpf/oci-rt"

// maxSharedFilters bounds the programs kept pinned, for the kernel memory
// they hold (a few KiB each).
const maxSharedFilters = 64

// filterLoader loads device programs, sharing them through pins in
// pinDir; with pinDir empty every load verifies a program of its own.
type filterLoader struct {
	pinDir string
}

var sharedFilters = filterLoader{pinDir: sharedFilterDir}

func (l filterLoader) load(bytecode []byte) (*Program, error) {
	if l.pinDir == "" {
		return loadProgram(bytecode)
	}
	name := pinName(bytecode)
	path := filepath.Join(l.pinDir, name)
	prog, found, err := loadPinned(path, bytecode)
	if err == nil {
		return prog, nil
	}
	if prog, err = loadProgram(bytecode); err != nil {
		return nil, err
	}
	// Sharing is an optimisation: a directory that cannot be used costs
	// this create nothing but the load it has just done.
	_ = l.pin(prog, name, found)
	return prog, nil
}

// pinName names the program made of bytecode in the pin directory.
func pinName(bytecode []byte) string {
	sum := sha256.Sum256(bytecode)
	return "devices_" + hex.EncodeToString(sum[:])
}

// loadPinned returns the program pinned at path if it is the program
// bytecode would load; found tells that something was pinned there at all.
func loadPinned(path string, bytecode []byte) (prog *Program, found bool, err error) {
	fd, err := objGet(path)
	if err != nil {
		return nil, !errors.Is(err, unix.ENOENT), err
	}
	info, err := programInfo(fd)
	if err == nil {
		err = info.matches(bytecode)
	}
	if err != nil {
		unix.Close(fd)
		return nil, true, fmt.Errorf("%s: %w", path, err)
	}
	return &Program{fd: fd}, true, nil
}

// pin shares prog under name in the pin directory, in place of what is
// there if replace is set (a pinned object that failed verification).
func (l filterLoader) pin(prog *Program, name string, replace bool) error {
	dir, err := openPinDir(l.pinDir)
	if err != nil {
		return err
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return err
	}
	fd := int(dir.Fd())
	if len(names) >= maxSharedFilters {
		for _, n := range names {
			_ = unix.Unlinkat(fd, n, 0)
		}
	} else if replace {
		_ = unix.Unlinkat(fd, name, 0)
	}
	// Through the directory's fd, so that the pin lands in the directory
	// just checked even if the path is renamed meanwhile.
	return objPin(prog.fd, fmt.Sprintf("/proc/self/fd/%d/%s", fd, name))
}

// openPinDir opens the pin directory, creating it root-only on a bpffs if
// it is missing, and refuses one that others could write to.
func openPinDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if errors.Is(err, os.ErrNotExist) {
		// Never create the directory where no bpffs is mounted: it
		// would be a stray directory on whatever is there instead.
		var st unix.Statfs_t
		if err := unix.Statfs(filepath.Dir(dir), &st); err != nil {
			return nil, err
		}
		if st.Type != unix.BPF_FS_MAGIC {
			return nil, fmt.Errorf("%s: not on a bpffs", dir)
		}
		if err := unix.Mkdir(dir, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, err
		}
		f, err = os.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	}
	if err != nil {
		return nil, err
	}
	var fs unix.Statfs_t
	var st unix.Stat_t
	err = unix.Fstatfs(int(f.Fd()), &fs)
	if err == nil {
		err = unix.Fstat(int(f.Fd()), &st)
	}
	if err == nil {
		err = pinDirTrusted(fs.Type, &st, os.Geteuid())
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return f, nil
}

// pinDirTrusted tells whether a directory on a filesystem of type fsType
// with attributes st may hold the runtime's pins: on a bpffs, owned by
// euid and writable by nobody else. Pins are verified before use anyway;
// this keeps other users from filling the directory.
func pinDirTrusted(fsType int64, st *unix.Stat_t, euid int) error {
	switch {
	case fsType != unix.BPF_FS_MAGIC:
		return errors.New("not on a bpffs")
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return errors.New("not a directory")
	case st.Uid != uint32(euid):
		return fmt.Errorf("owned by uid %d, not %d", st.Uid, euid)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("mode %#o lets others write", st.Mode&0o777)
	}
	return nil
}
