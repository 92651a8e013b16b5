package proc

import (
	"fmt"
	"math/bits"
	"os"
	"runtime"
	"sort"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups"
)

// set_mempolicy(2) modes and mode flags from <linux/mempolicy.h>.
var memoryPolicyModes = map[specs.MemoryPolicyModeType]uintptr{
	specs.MpolDefault:            0,
	specs.MpolPreferred:          1,
	specs.MpolBind:               2,
	specs.MpolInterleave:         3,
	specs.MpolLocal:              4,
	specs.MpolPreferredMany:      5,
	specs.MpolWeightedInterleave: 6,
}

var memoryPolicyFlags = map[specs.MemoryPolicyFlagType]uintptr{
	specs.MpolFNumaBalancing: 1 << 13,
	specs.MpolFRelativeNodes: 1 << 14,
	specs.MpolFStaticNodes:   1 << 15,
}

// MemoryPolicy is linux.memoryPolicy in set_mempolicy(2)'s terms.
type MemoryPolicy struct {
	Mode  uintptr  // mode | flags
	Nodes []uint64 // node bitmask, empty for MPOL_DEFAULT and MPOL_LOCAL
}

// ParseMemoryPolicy checks linux.memoryPolicy and converts it; create
// validates with it so that a bad policy fails before anything is built.
func ParseMemoryPolicy(p *specs.LinuxMemoryPolicy) (*MemoryPolicy, error) {
	mode, ok := memoryPolicyModes[p.Mode]
	if !ok {
		return nil, fmt.Errorf("mode %q: unknown mode", p.Mode)
	}
	policy := &MemoryPolicy{Mode: mode}
	for _, flag := range p.Flags {
		bit, ok := memoryPolicyFlags[flag]
		if !ok {
			return nil, fmt.Errorf("flags: unknown flag %q", flag)
		}
		policy.Mode |= bit
	}
	takesNodes := p.Mode != specs.MpolDefault && p.Mode != specs.MpolLocal
	switch {
	case takesNodes && p.Nodes == "":
		return nil, fmt.Errorf("nodes: %s needs at least one node", p.Mode)
	case !takesNodes && p.Nodes != "":
		return nil, fmt.Errorf("nodes %q: %s takes no nodes", p.Nodes, p.Mode)
	case !takesNodes && len(p.Flags) > 0:
		return nil, fmt.Errorf("flags: %s takes no flags", p.Mode)
	}
	if takesNodes {
		nodes, err := cgroups.ParseNodeList(p.Nodes, cgroups.MaxNodes)
		if err != nil {
			return nil, fmt.Errorf("nodes %q: %w", p.Nodes, err)
		}
		policy.Nodes = nodes
	}
	return policy, nil
}

// CheckNodesOnline refuses a policy naming a node this host does not
// have, which set_mempolicy would only refuse inside the container's init.
// Relative nodes (MPOL_F_RELATIVE_NODES) are positions, not node numbers.
func CheckNodesOnline(p *MemoryPolicy, onlineList string) error {
	if p.Mode&memoryPolicyFlags[specs.MpolFRelativeNodes] != 0 {
		return nil
	}
	online, err := cgroups.ParseNodeList(onlineList, cgroups.MaxNodes)
	if err != nil {
		return fmt.Errorf("online nodes %q: %w", onlineList, err)
	}
	for i, word := range p.Nodes {
		var have uint64
		if i < len(online) {
			have = online[i]
		}
		if missing := word &^ have; missing != 0 {
			node := i*64 + bits.TrailingZeros64(missing)
			return fmt.Errorf("node %d does not exist on this host (online: %s)", node, strings.TrimSpace(onlineList))
		}
	}
	return nil
}

// OnlineNodes is the host's list of online NUMA nodes.
func OnlineNodes() (string, error) {
	data, err := os.ReadFile("/sys/devices/system/node/online")
	if err != nil {
		return "", fmt.Errorf("NUMA nodes: %w", err)
	}
	return string(data), nil
}

// SetMemoryPolicy gives the calling thread, and so the process it execs,
// linux.memoryPolicy.
func SetMemoryPolicy(p *specs.LinuxMemoryPolicy) error {
	if p == nil {
		return nil
	}
	policy, err := ParseMemoryPolicy(p)
	if err != nil {
		return fmt.Errorf("linux.memoryPolicy: %w", err)
	}
	var mask unsafe.Pointer
	if len(policy.Nodes) > 0 {
		mask = unsafe.Pointer(&policy.Nodes[0])
	}
	// The kernel reads one bit fewer than maxnode says (a historical
	// off-by-one that numactl also pads for).
	maxNode := uintptr(len(policy.Nodes)*64 + 1)
	if _, _, errno := unix.Syscall(unix.SYS_SET_MEMPOLICY, policy.Mode, uintptr(mask), maxNode); errno != 0 {
		return fmt.Errorf("linux.memoryPolicy: set_mempolicy(%s, nodes %q): %w", p.Mode, p.Nodes, errno)
	}
	return nil
}

// SupportedMemoryPolicy lists the modes and flags this kernel accepts, for
// `oci-rt features`: each is tried on the calling thread with the first
// online node, and the thread's default policy is put back.
func SupportedMemoryPolicy() (modes, flags []string) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	try := func(p *specs.LinuxMemoryPolicy) bool {
		err := SetMemoryPolicy(p)
		_ = SetMemoryPolicy(&specs.LinuxMemoryPolicy{Mode: specs.MpolDefault})
		return err == nil
	}
	online, err := OnlineNodes()
	if err != nil {
		return nil, nil
	}
	first, _, _ := strings.Cut(strings.TrimSpace(online), ",")
	first, _, _ = strings.Cut(first, "-")
	for mode := range memoryPolicyModes {
		p := &specs.LinuxMemoryPolicy{Mode: mode, Nodes: first}
		if mode == specs.MpolDefault || mode == specs.MpolLocal {
			p.Nodes = ""
		}
		if try(p) {
			modes = append(modes, string(mode))
		}
	}
	for flag := range memoryPolicyFlags {
		// MPOL_BIND takes every flag on kernels that know it.
		if try(&specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: first, Flags: []specs.MemoryPolicyFlagType{flag}}) {
			flags = append(flags, string(flag))
		}
	}
	sort.Strings(modes)
	sort.Strings(flags)
	return modes, flags
}
