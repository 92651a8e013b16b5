package proc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/libcontainer/internal/openat2"
)

// Identity is who the container process runs as.
type Identity struct {
	UID, GID       uint32
	AdditionalGids []uint32
	// Home is the user's home from the container's /etc/passwd, "/" without
	// an entry.
	Home  string
	Umask *uint32
}

// maxAccountFileSize bounds how much of a container-controlled /etc/passwd or
// /etc/group is read: real ones are kilobytes, a hostile one may be endless.
const maxAccountFileSize = 4 << 20

const (
	passwdPath = "/etc/passwd"
	groupPath  = "/etc/group"
)

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// ResolveUser resolves process.user inside the container. It runs after the
// root switch, so "/" is the container's root.
func ResolveUser(u specs.User) (*Identity, error) {
	return resolveUserIn("/", u)
}

// ResolveUserInRoot resolves process.user against the account files of
// the tree at root, a path outside the container that leads to its root
// (such as /proc/PID/root of a process in it); nothing is followed out of
// that tree.
func ResolveUserInRoot(root string, u specs.User) (*Identity, error) {
	return resolveUserIn(root, u)
}

// resolveUserIn resolves u against the account files of the tree at root.
//
// With no username, uid and gid are taken as given (runc passes them as
// "uid:gid"): the passwd entry of that uid only supplies the home directory.
// A username has the form user[:group]; a numeric part is always that id and
// never looked up as a name (CVE-2016-3697), a name part must exist. Only the
// bare "user" form adds the groups listing the user as a member, as runc does.
func resolveUserIn(root string, u specs.User) (*Identity, error) {
	id := &Identity{UID: u.UID, GID: u.GID, Home: "/", Umask: u.Umask}
	userPart, groupPart, hasGroup := strings.Cut(u.Username, ":")
	if u.Username == "" {
		userPart = strconv.FormatUint(uint64(u.UID), 10)
		groupPart, hasGroup = strconv.FormatUint(uint64(u.GID), 10), true
	}
	if userPart == "" || (hasGroup && groupPart == "") {
		return nil, fmt.Errorf("invalid user %q: expected user[:group]", u.Username)
	}

	users, err := readAccountFile(root, passwdPath, parsePasswdLine)
	if err != nil {
		return nil, err
	}
	var userName string
	if uid, numeric := parseID(userPart); numeric {
		id.UID = uid
		if e, found := findPasswd(users, func(e passwdEntry) bool { return e.uid == uid }); found {
			id.GID, id.Home, userName = e.gid, e.home, e.name
		}
	} else {
		e, found := findPasswd(users, func(e passwdEntry) bool { return e.name == userPart })
		if !found {
			return nil, fmt.Errorf("unable to find user %s: no matching entries in %s", userPart, passwdPath)
		}
		id.UID, id.GID, id.Home, userName = e.uid, e.gid, e.home, e.name
	}

	groupIsName := hasGroup && !isNumeric(groupPart)
	implicitGroups := !hasGroup && userName != ""
	var groups []groupEntry
	if groupIsName || implicitGroups {
		if groups, err = readAccountFile(root, groupPath, parseGroupLine); err != nil {
			return nil, err
		}
	}
	switch {
	case hasGroup:
		if gid, numeric := parseID(groupPart); numeric {
			id.GID = gid
			break
		}
		g, found := findGroup(groups, func(g groupEntry) bool { return g.name == groupPart })
		if !found {
			return nil, fmt.Errorf("unable to find group %s: no matching entries in %s", groupPart, groupPath)
		}
		id.GID = g.gid
	case userName != "":
		for _, g := range groups {
			for _, member := range g.members {
				if member == userName {
					id.AdditionalGids = append(id.AdditionalGids, g.gid)
					break
				}
			}
		}
	}
	id.AdditionalGids = append(id.AdditionalGids, u.AdditionalGids...)
	return id, nil
}

func isNumeric(s string) bool {
	_, numeric := parseID(s)
	return numeric
}

// parseID reports whether s is a decimal id in the valid range. (uint32)-1 is
// excluded: the kernel treats it as "unchanged" in setres[ug]id.
func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == math.MaxUint32 {
		return 0, false
	}
	return uint32(n), true
}

func findPasswd(entries []passwdEntry, match func(passwdEntry) bool) (passwdEntry, bool) {
	for _, e := range entries {
		if match(e) {
			return e, true
		}
	}
	return passwdEntry{}, false
}

func findGroup(entries []groupEntry, match func(groupEntry) bool) (groupEntry, bool) {
	for _, e := range entries {
		if match(e) {
			return e, true
		}
	}
	return groupEntry{}, false
}

// readAccountFile parses the colon-separated file at path inside root. The
// container controls it, so it is resolved in the root, must be a regular
// file (not a FIFO that blocks or a device that never ends) and is size
// bounded. A missing file has no entries.
//
// The parsing is our own, not github.com/moby/sys/user's (which reads from
// an io.Reader and would take this content): that library reads an id
// field that is not a number as 0, so a passwd line whose uid is garbage
// makes the named user root, and a group line whose gid is garbage gives
// its members group 0. libc skips such lines, and so do we: a malformed
// account file must not fail open to root.
func readAccountFile[T any](root, path string, parseLine func([]string) (T, bool)) ([]T, error) {
	content, err := readContainerFile(root, path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var entries []T
	for line := range bytes.SplitSeq(content, []byte("\n")) {
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if e, ok := parseLine(strings.Split(string(line), ":")); ok {
			entries = append(entries, e)
		}
	}
	return entries, nil
}

func readContainerFile(root, path string) ([]byte, error) {
	fd, err := openInRoot(root, path, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	handle := os.NewFile(uintptr(fd), path)
	defer handle.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(handle.Fd()), &st); err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size > maxAccountFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxAccountFileSize)
	}
	f, err := Reopen(handle, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	// The file may grow between the size check and the read.
	content, err := io.ReadAll(io.LimitReader(f, maxAccountFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(content) > maxAccountFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxAccountFileSize)
	}
	return content, nil
}

// openInRoot opens path in the tree at root as an O_PATH handle (with
// flags added), resolved as if root were "/" and following no magic link.
// (pathrs-lite's OpenInRoot does the same lookup, then mounts a private
// procfs only to name the handle after the path it found, which costs a
// procfs superblock and, when it goes, a grace period.)
func openInRoot(root, path string, flags int) (int, error) {
	rootFd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(rootFd)
	return openat2.Open(rootFd, path, &unix.OpenHow{
		Flags:   uint64(unix.O_PATH | unix.O_CLOEXEC | flags),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
}

// parsePasswdLine parses name:password:uid:gid:gecos:home:shell. Lines with
// bad ids are skipped, as libc does.
func parsePasswdLine(fields []string) (passwdEntry, bool) {
	if len(fields) < 6 || fields[0] == "" {
		return passwdEntry{}, false
	}
	uid, uidOK := parseID(fields[2])
	gid, gidOK := parseID(fields[3])
	if !uidOK || !gidOK {
		return passwdEntry{}, false
	}
	home := fields[5]
	if home == "" {
		home = "/"
	}
	return passwdEntry{name: fields[0], uid: uid, gid: gid, home: home}, true
}

// parseGroupLine parses name:password:gid:member,member.
func parseGroupLine(fields []string) (groupEntry, bool) {
	if len(fields) < 3 || fields[0] == "" {
		return groupEntry{}, false
	}
	gid, ok := parseID(fields[2])
	if !ok {
		return groupEntry{}, false
	}
	e := groupEntry{name: fields[0], gid: gid}
	if len(fields) > 3 && fields[3] != "" {
		e.members = strings.Split(fields[3], ",")
	}
	return e, true
}
