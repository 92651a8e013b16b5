package seccomp

import (
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestFilterEncodingRoundTrip: a decoded filter is the compiled one, its
// program, flags and notify rules alike, for profiles with and without a
// listener.
func TestFilterEncodingRoundTrip(t *testing.T) {
	notify := dockerDefault(t)
	notify.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}
	notify.ListenerPath = "/run/agent.sock"
	notify.Syscalls = append(notify.Syscalls, specs.LinuxSyscall{Names: []string{"mkdirat"}, Action: specs.ActNotify})
	for name, cfg := range map[string]*specs.LinuxSeccomp{"docker": dockerDefault(t), "podman": podmanStyle(t), "notify": notify} {
		t.Run(name, func(t *testing.T) {
			f, err := Compile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			data, err := f.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			got, err := UnmarshalFilter(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, f) {
				t.Fatalf("decoded filter differs: flags %#x/%#x, notify %v/%v, %d/%d instructions", got.flags, f.flags, got.notify, f.notify, len(got.prog), len(f.prog))
			}
			if got.Notifies() != UsesNotify(cfg) {
				t.Errorf("Notifies() = %v, the profile's notify rules say %v", got.Notifies(), UsesNotify(cfg))
			}
		})
	}
}

// TestFilterEncodingRefusesDamage: anything but a whole encoding of this
// layout is refused rather than installed as some other program.
func TestFilterEncodingRefusesDamage(t *testing.T) {
	f, err := Compile(dockerDefault(t))
	if err != nil {
		t.Fatal(err)
	}
	good, _ := f.MarshalBinary()
	damaged := map[string][]byte{
		"empty":           nil,
		"other magic":     append([]byte("oci-rt seccomp 0"), good[len(filterMagic):]...),
		"header only":     good[:headerSize],
		"cut instruction": good[:len(good)-3],
		"padded":          append(append([]byte{}, good...), 0),
		"notify byte":     append(append(append([]byte{}, good[:headerSize-1]...), 2), good[headerSize:]...),
		"too long":        append(append([]byte{}, good[:headerSize]...), make([]byte, 8*(maxInstructions+1))...),
	}
	for name, data := range damaged {
		if _, err := UnmarshalFilter(data); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}
