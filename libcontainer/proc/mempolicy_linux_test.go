package proc

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseMemoryPolicy(t *testing.T) {
	p, err := ParseMemoryPolicy(&specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0-2,65", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != 2|1<<15 {
		t.Errorf("mode %#x, want MPOL_BIND|MPOL_F_STATIC_NODES", p.Mode)
	}
	if len(p.Nodes) != 2 || p.Nodes[0] != 0b111 || p.Nodes[1] != 1<<1 {
		t.Errorf("nodes %b, want bits 0-2 and 65", p.Nodes)
	}
	for nodes, want := range map[string]string{
		"": "needs at least one node", "a": "not a node number", "1-": "not a node number",
		"+1": "not a node number", "2-1": "runs backwards", "1024": "beyond",
	} {
		_, err := ParseMemoryPolicy(&specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: nodes})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("nodes %q: %v, want %q", nodes, err, want)
		}
	}
}

func TestCheckNodesOnline(t *testing.T) {
	p, _ := ParseMemoryPolicy(&specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0,70"})
	if err := CheckNodesOnline(p, "0-1,64-71\n"); err != nil {
		t.Errorf("nodes online: %v", err)
	}
	if err := CheckNodesOnline(p, "0-1\n"); err == nil || !strings.Contains(err.Error(), "node 70 does not exist") {
		t.Errorf("node 70 offline: %v", err)
	}
	relative, _ := ParseMemoryPolicy(&specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "5", Flags: []specs.MemoryPolicyFlagType{specs.MpolFRelativeNodes}})
	if err := CheckNodesOnline(relative, "0\n"); err != nil {
		t.Errorf("relative nodes are positions, not node ids: %v", err)
	}
}
