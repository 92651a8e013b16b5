package proc

import (
	"errors"
	"fmt"
	"math/bits"
	"sort"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// capabilityNumbers maps every capability name this runtime knows to its
// number. A name here may still be newer than the running kernel; see
// lastKernelCap.
var capabilityNumbers = map[string]uint{
	"CAP_CHOWN":              unix.CAP_CHOWN,
	"CAP_DAC_OVERRIDE":       unix.CAP_DAC_OVERRIDE,
	"CAP_DAC_READ_SEARCH":    unix.CAP_DAC_READ_SEARCH,
	"CAP_FOWNER":             unix.CAP_FOWNER,
	"CAP_FSETID":             unix.CAP_FSETID,
	"CAP_KILL":               unix.CAP_KILL,
	"CAP_SETGID":             unix.CAP_SETGID,
	"CAP_SETUID":             unix.CAP_SETUID,
	"CAP_SETPCAP":            unix.CAP_SETPCAP,
	"CAP_LINUX_IMMUTABLE":    unix.CAP_LINUX_IMMUTABLE,
	"CAP_NET_BIND_SERVICE":   unix.CAP_NET_BIND_SERVICE,
	"CAP_NET_BROADCAST":      unix.CAP_NET_BROADCAST,
	"CAP_NET_ADMIN":          unix.CAP_NET_ADMIN,
	"CAP_NET_RAW":            unix.CAP_NET_RAW,
	"CAP_IPC_LOCK":           unix.CAP_IPC_LOCK,
	"CAP_IPC_OWNER":          unix.CAP_IPC_OWNER,
	"CAP_SYS_MODULE":         unix.CAP_SYS_MODULE,
	"CAP_SYS_RAWIO":          unix.CAP_SYS_RAWIO,
	"CAP_SYS_CHROOT":         unix.CAP_SYS_CHROOT,
	"CAP_SYS_PTRACE":         unix.CAP_SYS_PTRACE,
	"CAP_SYS_PACCT":          unix.CAP_SYS_PACCT,
	"CAP_SYS_ADMIN":          unix.CAP_SYS_ADMIN,
	"CAP_SYS_BOOT":           unix.CAP_SYS_BOOT,
	"CAP_SYS_NICE":           unix.CAP_SYS_NICE,
	"CAP_SYS_RESOURCE":       unix.CAP_SYS_RESOURCE,
	"CAP_SYS_TIME":           unix.CAP_SYS_TIME,
	"CAP_SYS_TTY_CONFIG":     unix.CAP_SYS_TTY_CONFIG,
	"CAP_MKNOD":              unix.CAP_MKNOD,
	"CAP_LEASE":              unix.CAP_LEASE,
	"CAP_AUDIT_WRITE":        unix.CAP_AUDIT_WRITE,
	"CAP_AUDIT_CONTROL":      unix.CAP_AUDIT_CONTROL,
	"CAP_SETFCAP":            unix.CAP_SETFCAP,
	"CAP_MAC_OVERRIDE":       unix.CAP_MAC_OVERRIDE,
	"CAP_MAC_ADMIN":          unix.CAP_MAC_ADMIN,
	"CAP_SYSLOG":             unix.CAP_SYSLOG,
	"CAP_WAKE_ALARM":         unix.CAP_WAKE_ALARM,
	"CAP_BLOCK_SUSPEND":      unix.CAP_BLOCK_SUSPEND,
	"CAP_AUDIT_READ":         unix.CAP_AUDIT_READ,
	"CAP_PERFMON":            unix.CAP_PERFMON,
	"CAP_BPF":                unix.CAP_BPF,
	"CAP_CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
}

// CapSets holds the five capability sets of a process as bitmasks
// (bit n set = capability number n in the set). Only capabilities the running
// kernel supports are ever set.
type CapSets struct {
	Bounding    uint64
	Effective   uint64
	Inheritable uint64
	Permitted   uint64
	Ambient     uint64
}

// lastKernelCap is the highest capability number the running kernel knows.
// PR_CAPBSET_READ answers EINVAL past it, which needs neither /proc (possibly
// the container's by now) nor any privilege. The kernel's numbers have no
// gaps, so a binary search finds the last in six questions, not forty.
var lastKernelCap = sync.OnceValue(func() uint {
	return lastKnown(func(c uint) bool { return rawPrctl(unix.PR_CAPBSET_READ, uintptr(c), 0) == nil })
})

// lastKnown is the highest number below 64 that known accepts, given that
// it accepts 0 and every number below one it accepts.
func lastKnown(known func(uint) bool) uint {
	last, unknown := uint(0), uint(64)
	for unknown-last > 1 {
		mid := (last + unknown) / 2
		if known(mid) {
			last = mid
		} else {
			unknown = mid
		}
	}
	return last
}

// ParseCapabilities turns the spec's capability names into bitmasks. Names are
// matched case-insensitively. A name this runtime does not know is an error;
// a known name the running kernel does not support yet is left out, as runc
// does, so that one config works across kernel versions. A nil c gives empty
// sets: a process without a capabilities object keeps none.
func ParseCapabilities(c *specs.LinuxCapabilities) (*CapSets, error) {
	sets := &CapSets{}
	if c == nil {
		return sets, nil
	}
	for _, set := range []struct {
		name  string
		names []string
		mask  *uint64
	}{
		{"bounding", c.Bounding, &sets.Bounding},
		{"effective", c.Effective, &sets.Effective},
		{"inheritable", c.Inheritable, &sets.Inheritable},
		{"permitted", c.Permitted, &sets.Permitted},
		{"ambient", c.Ambient, &sets.Ambient},
	} {
		mask, err := capabilityMask(set.names)
		if err != nil {
			return nil, fmt.Errorf("%s capabilities: %w", set.name, err)
		}
		*set.mask = mask
	}
	// The kernel cannot raise an ambient capability missing from either
	// set. runc drops such capabilities without a word, and configs from
	// `runc spec` rely on it (ambient without inheritable), so do the same.
	sets.Ambient &= sets.Permitted & sets.Inheritable
	return sets, nil
}

func capabilityMask(names []string) (uint64, error) {
	var mask uint64
	for _, name := range names {
		n, known := capabilityNumbers[strings.ToUpper(name)]
		if !known {
			// runc drops an unknown name with a warning; a misspelt
			// capability would then silently run the process without it,
			// so we refuse it, and say that this is deliberate.
			return 0, fmt.Errorf("unknown capability %q (refused deliberately, where runc ignores it with a warning)", name)
		}
		if n <= lastKernelCap() {
			mask |= 1 << n
		}
	}
	return mask, nil
}

// capabilityNames lists the names of the capabilities in mask, sorted.
func capabilityNames(mask uint64) []string {
	var names []string
	for name, n := range capabilityNumbers {
		if mask&(1<<n) != 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// capabilityName names capability number n, also one newer than this runtime.
func capabilityName(n uint) string {
	if names := capabilityNames(1 << n); len(names) == 1 {
		return names[0]
	}
	return fmt.Sprintf("capability %d", n)
}

// KnownCapabilities lists the capability names the running kernel supports,
// sorted by capability number.
func KnownCapabilities() []string {
	names := capabilityNames(1<<(lastKernelCap()+1) - 1)
	sort.Slice(names, func(i, j int) bool { return capabilityNumbers[names[i]] < capabilityNumbers[names[j]] })
	return names
}

// WithExecCaps returns a copy of c with the `exec --cap` names added to the
// bounding, effective, permitted and ambient sets, as runc adds them. The
// inheritable set is left as it is: granting inheritable capabilities to an
// exec'd process let unprivileged programs gain them via file capabilities
// (CVE-2022-29162); so an added ambient capability only takes effect when
// the config already makes it inheritable.
func WithExecCaps(c *specs.LinuxCapabilities, names []string) *specs.LinuxCapabilities {
	out := &specs.LinuxCapabilities{}
	if c != nil {
		out.Bounding = append(out.Bounding, c.Bounding...)
		out.Effective = append(out.Effective, c.Effective...)
		out.Inheritable = append(out.Inheritable, c.Inheritable...)
		out.Permitted = append(out.Permitted, c.Permitted...)
		out.Ambient = append(out.Ambient, c.Ambient...)
	}
	out.Bounding = append(out.Bounding, names...)
	out.Effective = append(out.Effective, names...)
	out.Permitted = append(out.Permitted, names...)
	out.Ambient = append(out.Ambient, names...)
	return out
}

// dropBoundingSet removes from this thread's bounding set every capability not
// in keep. It needs CAP_SETPCAP, so it runs before the uid switch.
func dropBoundingSet(keep uint64) error {
	for c := uint(0); c <= lastKernelCap(); c++ {
		// Capabilities newer than this runtime are dropped too: nothing asked
		// for them.
		if keep&(1<<c) != 0 {
			continue
		}
		if err := rawPrctl(unix.PR_CAPBSET_DROP, uintptr(c), 0); err != nil {
			return fmt.Errorf("drop %s from the bounding set: %w", capabilityName(c), err)
		}
	}
	return nil
}

// CheckHeld fails when the process asks for capabilities this thread does
// not hold: capset cannot grant them. Checked at create, it names them
// instead of a bare EPERM at start (program process_capabilities on a host
// whose bounding set lacks one).
func CheckHeld(sets *CapSets) error {
	data, err := capget()
	if err != nil {
		return err
	}
	held := uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32
	if missing := (sets.Permitted | sets.Effective) &^ held; missing != 0 {
		return fmt.Errorf("capabilities %s requested, but the runtime does not hold them (missing from its permitted set, e.g. dropped from the host's bounding set)", strings.Join(capabilityNames(missing), ", "))
	}
	return nil
}

func capget() ([2]unix.CapUserData, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return data, fmt.Errorf("capget: %w", err)
	}
	return data, nil
}

// setCapabilities sets this thread's effective, permitted and inheritable sets.
func setCapabilities(sets *CapSets) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := range data {
		shift := 32 * i
		data[i].Effective = uint32(sets.Effective >> shift)
		data[i].Permitted = uint32(sets.Permitted >> shift)
		data[i].Inheritable = uint32(sets.Inheritable >> shift)
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		if errors.Is(err, unix.EPERM) && sets.Inheritable&^sets.Bounding != 0 {
			return fmt.Errorf("set capabilities: %w (inheritable %s not in the bounding set)", err, strings.Join(capabilityNames(sets.Inheritable&^sets.Bounding), ", "))
		}
		return fmt.Errorf("set capabilities: %w", err)
	}
	return nil
}

// raiseAmbient raises each ambient capability on this thread.
func raiseAmbient(ambient uint64) error {
	for ambient != 0 {
		c := uint(bits.TrailingZeros64(ambient))
		ambient &^= 1 << c
		if err := rawPrctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c)); err != nil {
			return fmt.Errorf("raise ambient capability %s: %w", capabilityName(c), err)
		}
	}
	return nil
}
