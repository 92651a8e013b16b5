package seccomp

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A syscall name with a line break in it once split Validate's error in
// two (the seed testdata/fuzz/FuzzCompile/newline-in-name): the names are
// quoted now.
func TestValidateQuotesNames(t *testing.T) {
	cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"read\nwrite", "close"}, Action: "SCMP_ACT_BAD"}}}
	err := Validate(cfg)
	want := `seccomp: syscalls[0] ["read\nwrite" "close"]: unknown action "SCMP_ACT_BAD"`
	if err == nil || err.Error() != want {
		t.Fatalf("Validate = %v, want %s", err, want)
	}
	if _, err := Compile(cfg); err == nil || strings.ContainsAny(err.Error(), "\r\n") {
		t.Fatalf("Compile = %q, want one line", err)
	}
}
