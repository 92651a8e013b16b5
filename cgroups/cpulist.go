package cgroups

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// The kernel writes and reads sets of CPUs and of memory nodes as lists:
// numbers and ranges separated by commas, "0-3,7" (cpuset.cpus,
// cpuset.mems, /sys/devices/system/node/online, and the spec's
// execCPUAffinity and memoryPolicy.nodes). Like the kernel, and like runc,
// the parser allows blanks around an item and empty items ("0, 2,"). It
// knows neither the kernel's strides ("0-7:2/4") nor "N" for the last
// number, which runc does not know either.

// MaxCPUs is the kernel's largest NR_CPUS: CPUs are numbered below it.
const MaxCPUs = 8192

// MaxNodes is the kernel's largest MAX_NUMNODES (NODES_SHIFT 10): memory
// nodes are numbered below it.
const MaxNodes = 1024

// Bitmap is a set of CPU or memory node numbers: number n is bit n%64 of
// word n/64, the layout of the kernel's cpumask and nodemask.
type Bitmap []uint64

// IsSet tells whether n is in the set.
func (b Bitmap) IsSet(n int) bool {
	return n >= 0 && n/64 < len(b) && b[n/64]&(1<<(n%64)) != 0
}

// Bytes is the set as systemd's AllowedCPUs and AllowedMemoryNodes take
// it: number n is bit n%8 of byte n/8, up to the byte of the highest.
func (b Bitmap) Bytes() []byte {
	out := make([]byte, 0, 8*len(b))
	for _, word := range b {
		out = binary.LittleEndian.AppendUint64(out, word)
	}
	return bytes.TrimRight(out, "\x00")
}

// ParseCPUList parses a list of CPUs, each numbered below limit.
func ParseCPUList(list string, limit int) (Bitmap, error) {
	return parseList(list, "CPU", limit)
}

// ParseNodeList parses a list of memory nodes, each numbered below limit.
func ParseNodeList(list string, limit int) (Bitmap, error) {
	return parseList(list, "node", limit)
}

// parseList parses a list of what (a CPU or a node). A list that names
// nothing is an error: every caller treats "" as "not set" before, and
// a list of only commas is a mistake, which the kernel would take as the
// empty set.
func parseList(list, what string, limit int) (Bitmap, error) {
	var set Bitmap
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		first, last, isRange := strings.Cut(item, "-")
		low, err := parseListNumber(first, item, what, limit)
		if err != nil {
			return nil, err
		}
		high := low
		if isRange {
			if high, err = parseListNumber(last, item, what, limit); err != nil {
				return nil, err
			}
			if high < low {
				return nil, fmt.Errorf("range %q runs backwards", item)
			}
		}
		for len(set) <= high/64 {
			set = append(set, 0)
		}
		for n := low; n <= high; n++ {
			set[n/64] |= 1 << (n % 64)
		}
	}
	if set == nil {
		return nil, fmt.Errorf("names no %s", what)
	}
	return set, nil
}

// parseListNumber parses s, one end of item, a decimal number below limit.
func parseListNumber(s, item, what string, limit int) (int, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a %s number or range", item, what)
	}
	// Digits only, so the one possible error is a number too large.
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n >= uint64(limit) {
		return 0, fmt.Errorf("%s %s is beyond the last supported, %d", what, s, limit-1)
	}
	return int(n), nil
}
