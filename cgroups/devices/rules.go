// Package devices turns linux.resources.devices rules into what each
// cgroup version enforces: an eBPF BPF_PROG_TYPE_CGROUP_DEVICE program
// attached to a v2 cgroup, or devices.allow/devices.deny writes that move
// a v1 devices cgroup to the same rules without a window in which the
// container gains or loses access it should not. Both follow runc's
// semantics: the last matching rule decides, unmatched access is denied.
package devices

import (
	"fmt"
	"math"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Access bits and device types as the kernel passes them to a
// BPF_PROG_TYPE_CGROUP_DEVICE program in struct bpf_cgroup_dev_ctx:
// access_type = access<<16 | type, then major, then minor (all u32).
const (
	accMknod = 1
	accRead  = 2
	accWrite = 4

	devBlock = 1
	devChar  = 2
)

// deviceRule is a validated linux.resources.devices entry; -1 is a wildcard
// major/minor, typ 0 matches every device type.
type deviceRule struct {
	allow        bool
	typ          uint32
	major, minor int64
	access       uint32
}

func (r deviceRule) String() string {
	t := map[uint32]string{0: "a", devBlock: "b", devChar: "c"}[r.typ]
	num := func(n int64) string {
		if n < 0 {
			return "*"
		}
		return fmt.Sprint(n)
	}
	acc := ""
	for _, a := range []struct {
		bit uint32
		c   string
	}{{accRead, "r"}, {accWrite, "w"}, {accMknod, "m"}} {
		if r.access&a.bit != 0 {
			acc += a.c
		}
	}
	verb := "deny"
	if r.allow {
		verb = "allow"
	}
	return fmt.Sprintf("%s %s %s:%s %s", verb, t, num(r.major), num(r.minor), acc)
}

func parseDeviceRules(in []specs.LinuxDeviceCgroup) ([]deviceRule, error) {
	out := make([]deviceRule, 0, len(in))
	for i, d := range in {
		r := deviceRule{allow: d.Allow, major: -1, minor: -1}
		switch d.Type {
		case "", "a":
		case "b":
			r.typ = devBlock
		case "c":
			r.typ = devChar
		default:
			return nil, fmt.Errorf("device rule %d: type %q is not a, b or c", i, d.Type)
		}
		for _, n := range []struct {
			p   *int64
			dst *int64
		}{{d.Major, &r.major}, {d.Minor, &r.minor}} {
			if n.p == nil || *n.p == -1 {
				continue
			}
			if *n.p < 0 || *n.p > math.MaxUint32 {
				return nil, fmt.Errorf("device rule %d: device number %d out of range", i, *n.p)
			}
			*n.dst = *n.p
		}
		access := d.Access
		// As in the v1 devices.allow syntax, no access letters means all of them.
		if access == "" {
			access = "rwm"
		}
		for _, c := range access {
			switch c {
			case 'r':
				r.access |= accRead
			case 'w':
				r.access |= accWrite
			case 'm':
				r.access |= accMknod
			default:
				return nil, fmt.Errorf("device rule %d: access %q is not a combination of r, w and m", i, d.Access)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// DefaultAllowedDevices returns the rules every container gets on top of its
// configuration, as runc does: mknod of any device node (access to it is
// still filtered), and the standard nodes /dev/null, zero, full, random,
// urandom, tty, console, ptmx and /dev/pts/*. Append them after the
// configuration's rules (the last matching rule wins, so they cannot be
// denied by accident). Each call returns a fresh slice.
func DefaultAllowedDevices() []specs.LinuxDeviceCgroup {
	dev := func(typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
		d := specs.LinuxDeviceCgroup{Allow: true, Type: typ, Access: access}
		if major >= 0 {
			d.Major = &major
		}
		if minor >= 0 {
			d.Minor = &minor
		}
		return d
	}
	return []specs.LinuxDeviceCgroup{
		dev("c", -1, -1, "m"),
		dev("b", -1, -1, "m"),
		dev("c", 1, 3, "rwm"),    // /dev/null
		dev("c", 1, 5, "rwm"),    // /dev/zero
		dev("c", 1, 7, "rwm"),    // /dev/full
		dev("c", 1, 8, "rwm"),    // /dev/random
		dev("c", 1, 9, "rwm"),    // /dev/urandom
		dev("c", 5, 0, "rwm"),    // /dev/tty
		dev("c", 5, 1, "rwm"),    // /dev/console
		dev("c", 5, 2, "rwm"),    // /dev/ptmx
		dev("c", 136, -1, "rwm"), // /dev/pts/*
	}
}
