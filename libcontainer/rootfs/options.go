// Package rootfs builds a container's filesystem view from inside its init:
// every spec mount, the device nodes, the root switch, and the masking that
// must follow it. Every path inside the rootfs is resolved through a file
// descriptor of the rootfs (openat2 RESOLVE_IN_ROOT) and every mount is made
// with the new mount API from fd to fd, so a container that races symlinks
// into its own tree can only ever redirect a mount to somewhere inside itself.
package rootfs

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOptions is a spec mount's option list translated into what the new
// mount API wants: mount attributes for the top mount and for the whole
// tree, superblock flags for fsconfig, and the remaining filesystem data.
type mountOptions struct {
	attrSet, attrClr       uint64 // MOUNT_ATTR_* on the mount itself
	recAttrSet, recAttrClr uint64 // MOUNT_ATTR_* on the mount and every submount
	propagation            uint64 // MS_SHARED, MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE; 0 leaves it alone
	recursivePropagation   bool
	bind, recursiveBind    bool
	remount                bool
	idmap, recursiveIdmap  bool
	copyUp                 bool     // tmpcopyup: fill a new tmpfs with what the image has at its destination
	superblockFlags        []string // fsconfig flags such as "sync" that only a new superblock honours
	data                   []string // filesystem-specific "key" or "key=value" items, passed through

	// remountFlags are the mount(2) flags (MS_*) the options leave set, as
	// runc computes them: runc remounts a bind only when there are any, and
	// that remount sets the bind's flags to exactly these.
	remountFlags uint64
}

// attrChange is what an option does: to the mount attribute flag, and to
// the mount(2) flag ms that runc's flag word has for it.
type attrChange struct {
	flag  uint64
	ms    uint64
	clear bool
}

var mountAttrOptions = map[string]attrChange{
	"ro":          {unix.MOUNT_ATTR_RDONLY, unix.MS_RDONLY, false},
	"rw":          {unix.MOUNT_ATTR_RDONLY, unix.MS_RDONLY, true},
	"nosuid":      {unix.MOUNT_ATTR_NOSUID, unix.MS_NOSUID, false},
	"suid":        {unix.MOUNT_ATTR_NOSUID, unix.MS_NOSUID, true},
	"nodev":       {unix.MOUNT_ATTR_NODEV, unix.MS_NODEV, false},
	"dev":         {unix.MOUNT_ATTR_NODEV, unix.MS_NODEV, true},
	"noexec":      {unix.MOUNT_ATTR_NOEXEC, unix.MS_NOEXEC, false},
	"exec":        {unix.MOUNT_ATTR_NOEXEC, unix.MS_NOEXEC, true},
	"nodiratime":  {unix.MOUNT_ATTR_NODIRATIME, unix.MS_NODIRATIME, false},
	"diratime":    {unix.MOUNT_ATTR_NODIRATIME, unix.MS_NODIRATIME, true},
	"nosymfollow": {unix.MOUNT_ATTR_NOSYMFOLLOW, unix.MS_NOSYMFOLLOW, false},
	"symfollow":   {unix.MOUNT_ATTR_NOSYMFOLLOW, unix.MS_NOSYMFOLLOW, true},
}

// The atime family is one three-way field in the kernel: options that say
// "not X" fall back to the kernel default, relatime. In runc's flag word
// they are separate flags, which the "not X" options clear.
var atimeOptions = map[string]attrChange{
	"relatime":      {unix.MOUNT_ATTR_RELATIME, unix.MS_RELATIME, false},
	"norelatime":    {unix.MOUNT_ATTR_RELATIME, unix.MS_RELATIME, true},
	"noatime":       {unix.MOUNT_ATTR_NOATIME, unix.MS_NOATIME, false},
	"atime":         {unix.MOUNT_ATTR_RELATIME, unix.MS_NOATIME, true},
	"strictatime":   {unix.MOUNT_ATTR_STRICTATIME, unix.MS_STRICTATIME, false},
	"nostrictatime": {unix.MOUNT_ATTR_RELATIME, unix.MS_STRICTATIME, true},
}

// Superblock flags: the set ones are passed to a new filesystem, the
// cleared ones are its default already and need nothing.
var superblockOptions = map[string]attrChange{
	"sync":       {ms: unix.MS_SYNCHRONOUS},
	"async":      {ms: unix.MS_SYNCHRONOUS, clear: true},
	"dirsync":    {ms: unix.MS_DIRSYNC},
	"mand":       {ms: unix.MS_MANDLOCK},
	"nomand":     {ms: unix.MS_MANDLOCK, clear: true},
	"lazytime":   {ms: unix.MS_LAZYTIME},
	"nolazytime": {ms: unix.MS_LAZYTIME, clear: true},
}

// legacyFlagOptions are mount(2) flags runc accepts (MS_POSIXACL,
// MS_I_VERSION, MS_SILENT and their negations) that the new mount API has
// no key for. Each filesystem decides them itself: ext4 and tmpfs set or
// clear POSIX ACLs from their own options and build, i_version is kept by
// the filesystems that support it whatever the flag says, and MS_SILENT
// only quiets the kernel log. mount(2) gives the container nothing more,
// so they are accepted and need no action.
var legacyFlagOptions = []string{"acl", "noacl", "iversion", "noiversion", "silent", "loud"}

var propagationOptions = map[string]struct {
	flag      uint64
	recursive bool
}{
	"private":     {unix.MS_PRIVATE, false},
	"rprivate":    {unix.MS_PRIVATE, true},
	"shared":      {unix.MS_SHARED, false},
	"rshared":     {unix.MS_SHARED, true},
	"slave":       {unix.MS_SLAVE, false},
	"rslave":      {unix.MS_SLAVE, true},
	"unbindable":  {unix.MS_UNBINDABLE, false},
	"runbindable": {unix.MS_UNBINDABLE, true},
}

// applyRemountFlag follows runc's flag word, which only the options for
// the mount itself change.
func (o *mountOptions) applyRemountFlag(change attrChange) {
	if change.clear {
		o.remountFlags &^= change.ms
	} else {
		o.remountFlags |= change.ms
	}
}

func (o *mountOptions) applyAttr(change attrChange, recursive bool) {
	set, clr := &o.attrSet, &o.attrClr
	if recursive {
		set, clr = &o.recAttrSet, &o.recAttrClr
	} else {
		o.applyRemountFlag(change)
	}
	if change.clear {
		*set &^= change.flag
		*clr |= change.flag
	} else {
		*set |= change.flag
		*clr &^= change.flag
	}
}

func (o *mountOptions) applyAtime(change attrChange, recursive bool) {
	set, clr := &o.attrSet, &o.attrClr
	if recursive {
		set, clr = &o.recAttrSet, &o.recAttrClr
	} else {
		o.applyRemountFlag(change)
	}
	*clr |= unix.MOUNT_ATTR__ATIME
	*set = (*set &^ unix.MOUNT_ATTR__ATIME) | change.flag
}

// parseMountOptions never fails on an unknown word: like runc it hands it to
// the filesystem, which is the one that knows whether it is valid.
func parseMountOptions(options []string) (mountOptions, error) {
	var o mountOptions
	for _, opt := range options {
		if opt == "" {
			return o, fmt.Errorf("empty mount option")
		}
		recursiveAttr := strings.HasPrefix(opt, "r")
		if change, ok := mountAttrOptions[opt]; ok {
			o.applyAttr(change, false)
			continue
		}
		if change, ok := mountAttrOptions[strings.TrimPrefix(opt, "r")]; ok && recursiveAttr {
			o.applyAttr(change, true)
			continue
		}
		if change, ok := atimeOptions[opt]; ok {
			o.applyAtime(change, false)
			continue
		}
		if change, ok := atimeOptions[strings.TrimPrefix(opt, "r")]; ok && recursiveAttr {
			o.applyAtime(change, true)
			continue
		}
		if change, ok := superblockOptions[opt]; ok {
			o.applyRemountFlag(change)
			if !change.clear {
				o.superblockFlags = append(o.superblockFlags, opt)
			}
			continue
		}
		if p, ok := propagationOptions[opt]; ok {
			o.propagation, o.recursivePropagation = p.flag, p.recursive
			continue
		}
		if slices.Contains(legacyFlagOptions, opt) {
			continue
		}
		switch opt {
		case "defaults":
		case "bind":
			o.bind = true
		case "rbind":
			o.bind, o.recursiveBind = true, true
		case "remount":
			o.remount = true
		case "idmap":
			o.idmap = true
		case "ridmap":
			o.idmap, o.recursiveIdmap = true, true
		case "tmpcopyup":
			o.copyUp = true
		default:
			o.data = append(o.data, opt)
		}
	}
	return o, nil
}
