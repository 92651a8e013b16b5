package seccomp

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// FuzzCompile compiles whatever encoding/json makes of the input as a
// profile. Compile must not panic; it either returns a one-line error or a
// program the kernel would accept (checkProgram) whose every verdict is an
// action the profile language has, and compiling again gives the same
// program. A profile Validate accepts at create must compile in the
// container's init, unless the program is too long.
func FuzzCompile(f *testing.F) {
	f.Fuzz(func(t *testing.T, profile []byte) {
		var cfg specs.LinuxSeccomp
		if json.Unmarshal(profile, &cfg) != nil {
			return
		}
		validateErr := Validate(&cfg)
		filter, err := Compile(&cfg)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			if validateErr == nil && !strings.Contains(err.Error(), "the kernel allows") {
				t.Fatalf("Validate accepts the profile, Compile refuses it: %v", err)
			}
			return
		}
		if validateErr != nil {
			t.Fatalf("Compile accepts the profile, Validate refuses it: %v", validateErr)
		}
		prog := filter.Instructions()
		if again, err := Compile(&cfg); err != nil || !slices.Equal(again.Instructions(), prog) || again.Flags() != filter.Flags() {
			t.Fatalf("a second compile of the same profile differs (error %v)", err)
		}
		if err := checkProgram(prog); err != nil {
			t.Fatalf("the kernel would refuse the program: %v\n%s", err, disassemble(prog))
		}
		for pc, in := range prog {
			if in.Code == unix.BPF_RET|unix.BPF_K && !knownVerdict(in.K) {
				t.Fatalf("pc %d returns %#x, not a seccomp action", pc, in.K)
			}
		}
	})
}

// checkProgram is what FuzzCompile's verdict rests on: it must accept what
// the compiler makes of real profiles and refuse each kind of program the
// kernel refuses.
func TestCheckProgram(t *testing.T) {
	for name, cfg := range map[string]*specs.LinuxSeccomp{"docker": dockerDefault(t), "podman": podmanStyle(t)} {
		filter, err := Compile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkProgram(filter.Instructions()); err != nil {
			t.Errorf("%s profile: %v", name, err)
		}
	}
	ld := func(k uint32) unix.SockFilter { return unix.SockFilter{Code: opLdAbsW, K: k} }
	ret := unix.SockFilter{Code: opRetK, K: retAllow}
	jeq := func(jt, jf uint8) unix.SockFilter { return unix.SockFilter{Code: opJeq, Jt: jt, Jf: jf} }
	for _, tc := range []struct {
		name string
		prog []unix.SockFilter
		want string
	}{
		{"empty", nil, "0 instructions"},
		{"too long", slices.Repeat([]unix.SockFilter{ret}, maxInsns+1), "4097 instructions"},
		{"no return at the end", []unix.SockFilter{ret, ld(0)}, "not a return"},
		{"unaligned load", []unix.SockFilter{ld(2), ret}, "load at offset 2"},
		{"load past seccomp_data", []unix.SockFilter{ld(64), ret}, "load at offset 64"},
		{"byte load", []unix.SockFilter{{Code: unix.BPF_LD | unix.BPF_B | unix.BPF_ABS}, ret}, "not permitted"},
		{"scratch memory", []unix.SockFilter{{Code: unix.BPF_ST}, ret}, "not permitted"},
		{"division by 0", []unix.SockFilter{{Code: unix.BPF_ALU | unix.BPF_DIV | unix.BPF_K}, ret}, "division"},
		{"shift by 32", []unix.SockFilter{{Code: unix.BPF_ALU | unix.BPF_LSH | unix.BPF_K, K: 32}, ret}, "shift by 32"},
		{"ja past the end", []unix.SockFilter{{Code: opJa, K: 1}, ret}, "jump of 1"},
		{"jt past the end", []unix.SockFilter{jeq(1, 0), ret}, "branch of 1/0"},
		{"jf past the end", []unix.SockFilter{jeq(0, 1), ret}, "branch of 0/1"},
	} {
		err := checkProgram(tc.prog)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: checkProgram = %v, want an error mentioning %q", tc.name, err, tc.want)
		}
	}
	if err := checkProgram([]unix.SockFilter{ld(4), jeq(1, 0), {Code: opJa, K: 0}, ret}); err != nil {
		t.Errorf("a program whose jumps land on the last instruction: %v", err)
	}
}
