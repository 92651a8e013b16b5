package quickjson

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fullSpec sets a field of every kind a runtime spec has: strings, named
// strings, integers of several sizes, pointers to them, booleans, slices
// of strings, numbers and structs, maps, nested optional sections.
func fullSpec() *specs.Spec {
	i64 := func(n int64) *int64 { return &n }
	u64 := func(n uint64) *uint64 { return &n }
	u16 := func(n uint16) *uint16 { return &n }
	yes := true
	mode := os.FileMode(0o666)
	return &specs.Spec{
		Version:  "1.3.0",
		Hostname: "box",
		Process: &specs.Process{
			Terminal: true,
			User:     specs.User{UID: 1000, GID: 1000, Umask: new(uint32), AdditionalGids: []uint32{5, 6}},
			Args:     []string{"sh", "-c", "echo \"quoted\" \\ back\tslash\n", "ünïcødé ☃"},
			Env:      []string{"PATH=/usr/bin:/bin", "TERM=xterm"},
			Cwd:      "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  []string{"CAP_CHOWN", "CAP_KILL"},
				Effective: []string{"CAP_CHOWN"},
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1 << 40, Soft: 1024}},
			NoNewPrivileges: true,
			OOMScoreAdj:     new(int),
			Scheduler:       &specs.Scheduler{Policy: specs.SchedBatch, Nice: -5, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}},
			IOPriority:      &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 4},
		},
		Root:   &specs.Root{Path: "rootfs", Readonly: true},
		Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}, {Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "size=65536k"}, UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}}},
		Hooks: &specs.Hooks{
			Prestart:        []specs.Hook{{Path: "/bin/hook", Args: []string{"hook", "x"}, Env: []string{"A=1"}, Timeout: new(int)}},
			CreateContainer: []specs.Hook{{Path: "/bin/true"}},
		},
		Annotations: map[string]string{"org.example/key": "value", "": "empty key"},
		Linux: &specs.Linux{
			UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
			Sysctl:      map[string]string{"net.ipv4.ip_forward": "1"},
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rw"}},
				Memory:  &specs.LinuxMemory{Limit: i64(1 << 30), Swap: i64(-1), Swappiness: u64(0), DisableOOMKiller: &yes},
				CPU:     &specs.LinuxCPU{Shares: u64(1024), Quota: i64(-1), Period: u64(100000), Cpus: "0-1"},
				Pids:    &specs.LinuxPids{Limit: i64(0)},
				BlockIO: &specs.LinuxBlockIO{Weight: u16(0), WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: u16(10)}}},
				Unified: map[string]string{"memory.high": "max"},
			},
			CgroupsPath: "/machine/box",
			Namespaces:  []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace, Path: "/proc/1/ns/net"}, {Type: specs.MountNamespace}},
			Devices:     []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode, UID: new(uint32)}},
			Seccomp: &specs.LinuxSeccomp{
				DefaultAction: specs.ActErrno, DefaultErrnoRet: new(uint),
				Architectures: []specs.Arch{specs.ArchX86_64},
				Flags:         []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog},
				Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "write"}, Action: specs.ActAllow},
					{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xffffffff, Op: specs.OpEqualTo}}}},
			},
			RootfsPropagation: "rslave",
			MaskedPaths:       []string{"/proc/kcore"},
			ReadonlyPaths:     []string{"/proc/sys"},
			MountLabel:        "system_u:object_r:container_file_t:s0",
			Personality:       &specs.LinuxPersonality{Domain: specs.PerLinux32},
			TimeOffsets:       map[string]specs.LinuxTimeOffset{"monotonic": {Secs: -10, Nanosecs: 5}},
			NetDevices:        map[string]specs.LinuxNetDevice{"eth1": {Name: "eth0"}},
		},
	}
}

// hideable mirrors how libcontainer decodes a spec: embedded, with fields
// of the same JSON name at a shallower depth that hide the embedded ones.
type hideable struct {
	specs.Spec
	Linux   *hiddenLinux `json:"linux,omitempty"`
	Windows *struct{}    `json:"windows,omitempty"`
}

type hiddenLinux struct {
	specs.Linux
	Resources *struct{}       `json:"resources,omitempty"`
	Seccomp   *hiddenSyscalls `json:"seccomp,omitempty"`
}

type hiddenSyscalls struct {
	specs.LinuxSeccomp
	Syscalls []struct{} `json:"syscalls,omitempty"`
}

// custom decodes through a method of its own, which encoding/json calls.
type custom struct{ got string }

func (c *custom) UnmarshalJSON(data []byte) error {
	c.got = "custom:" + string(data)
	return nil
}

type named string

// shout is written and read through text methods, which encoding/json
// calls.
type shout string

func (s shout) MarshalText() ([]byte, error) { return []byte(strings.ToUpper(string(s))), nil }

func (s *shout) UnmarshalText(text []byte) error {
	*s = shout("read:" + string(text))
	return nil
}

type texty struct {
	S shout
}

// kinds holds what the decoder takes and what it leaves to encoding/json.
type kinds struct {
	Int8    int8
	Int16   int16
	Int32   int32
	Int     int
	Uint8   uint8
	Uint16  uint16
	Uint64  uint64
	Bool    bool
	Named   named
	Ptr     **string
	Map     map[named]int
	Nested  []map[string][]int
	Float   float64 `json:",omitempty"`
	Any     any     `json:",omitempty"`
	Bytes   []byte  `json:",omitempty"`
	Custom  custom
	PCustom *custom
	Renamed int `json:"other"`
	Skipped int `json:"-"`
}

// arrayed has an array, which the decoder leaves to encoding/json.
type arrayed struct {
	Array [2]int
}

// quoted has an option that changes how its field decodes.
type quoted struct {
	Quoted int `json:",string"`
}

// conflict has two fields of one name at one depth.
type conflict struct {
	embedA
	embedB
}

type embedA struct {
	Shared int
	OnlyA  string
}

type embedB struct {
	Shared int
	OnlyB  string
}

// targets are the types every input is decoded into.
func targets() []func() any {
	return []func() any{
		func() any { return new(specs.Spec) },
		func() any { return new(hideable) },
		func() any { return new(kinds) },
		func() any { return new(quoted) },
		func() any { return new(arrayed) },
		func() any { return new(texty) },
		func() any { return new(conflict) },
		func() any { return new(embedA) },
		func() any { return new(map[string]*specs.Process) },
	}
}

// sameAsEncodingJSON decodes data into each target both ways: where this
// package decodes it itself the value must be encoding/json's, and
// Unmarshal must give encoding/json's value or error in every case. It
// returns how many targets this package decoded itself.
func sameAsEncodingJSON(t *testing.T, data []byte) int {
	t.Helper()
	own := 0
	for _, target := range targets() {
		want := target()
		wantErr := json.Unmarshal(data, want)

		got := target()
		if decoded(data, reflect.ValueOf(got).Elem()) {
			own++
			if wantErr != nil {
				t.Fatalf("%T: decoded %q, which encoding/json refuses: %v", got, data, wantErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%T: %q decoded as\n%#v\nencoding/json:\n%#v", got, data, got, want)
			}
		}

		got = target()
		err := Unmarshal(data, got)
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("%T: Unmarshal(%q) = %v, encoding/json: %v", got, data, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%T: Unmarshal(%q) gave\n%#v\nencoding/json:\n%#v", got, data, got, want)
		}
	}
	return own
}

// encodesAsEncodingJSON encodes what encoding/json decodes from data
// into each target both ways: where this package encodes a value itself
// the bytes must be encoding/json's, and Marshal must give encoding/json's
// bytes or error in every case. It returns how many targets this
// package encoded itself.
func encodesAsEncodingJSON(t *testing.T, data []byte) int {
	t.Helper()
	own := 0
	for _, target := range targets() {
		v := target()
		if json.Unmarshal(data, v) != nil {
			continue
		}
		want, wantErr := json.Marshal(v)
		e := encoder{}
		if e.value(reflect.ValueOf(v), 0) {
			own++
			if wantErr != nil || !bytes.Equal(e.buf, want) {
				t.Fatalf("%T from %q: encoded\n%s\nencoding/json:\n%s (%v)", v, data, e.buf, want, wantErr)
			}
		}
		got, err := Marshal(v)
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() || !bytes.Equal(got, want) {
			t.Fatalf("%T from %q: Marshal gave %s, %v; encoding/json %s, %v", v, data, got, err, want, wantErr)
		}
	}
	return own
}

func TestEncodesAFullSpecItself(t *testing.T) {
	for _, v := range []any{fullSpec(), &hideable{Spec: *fullSpec(), Linux: &hiddenLinux{Linux: *fullSpec().Linux}}} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		e := encoder{}
		if !e.value(reflect.ValueOf(v), 0) {
			t.Fatalf("%T: the encoder gave up on a plain spec", v)
		}
		if !bytes.Equal(e.buf, want) {
			t.Fatalf("%T: encoded\n%s\nencoding/json:\n%s", v, e.buf, want)
		}
	}
}

func TestDecodesAFullSpecItself(t *testing.T) {
	data, err := json.Marshal(fullSpec())
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range [][]byte{data, indent(t, data)} {
		for _, target := range []any{new(specs.Spec), new(hideable)} {
			want := reflect.New(reflect.TypeOf(target).Elem()).Interface()
			if err := json.Unmarshal(doc, want); err != nil {
				t.Fatal(err)
			}
			if !decoded(doc, reflect.ValueOf(target).Elem()) {
				t.Fatalf("%T: the decoder gave up on a plain spec", target)
			}
			if !reflect.DeepEqual(target, want) {
				t.Fatalf("%T: decoded\n%#v\nencoding/json:\n%#v", target, target, want)
			}
		}
	}
	var spec specs.Spec
	if !decoded(data, reflect.ValueOf(&spec).Elem()) || !reflect.DeepEqual(&spec, fullSpec()) {
		t.Fatalf("the spec did not come back as it was encoded:\n%#v", spec)
	}
}

func indent(t *testing.T, data []byte) []byte {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The cases the decoder must leave to encoding/json, each next to one it
// decodes itself: both must come out as encoding/json's.
var cases = []struct {
	doc string
	// own is how many of the targets the decoder decodes itself;
	// encoded, how many of those encoding/json decodes the encoder
	// writes itself.
	own, encoded int
}{
	{`{}`, 7, 5},
	{` {"hostname":"a"} `, 6, 4},
	{`{"hostname":"a"} x`, 0, 0},
	{`{"hostname":"a","hostname":"b"}`, 4, 4},
	{`{"Hostname":"a"}`, 4, 4},
	{`{"HOST_NAME":"a"}`, 4, 4},
	{`{"hoſtname":"a"}`, 0, 4},
	{`{"hostname":null,"process":null,"mounts":null,"annotations":null}`, 7, 5},
	{`{"process":{"args":["a",null]}}`, 7, 5},
	{`{"process":{"user":{"uid":-1}}}`, 4, 2},
	{`{"process":{"user":{"uid":4294967296}}}`, 4, 2},
	{`{"process":{"user":{"uid":1.0}}}`, 4, 2},
	{`{"process":{"user":{"uid":1e3}}}`, 4, 2},
	{`{"process":{"user":{"uid":01}}}`, 0, 0},
	{`{"process":{"user":{"uid":"1"}}}`, 4, 2},
	{`{"process":{"oomScoreAdj":-1000}}`, 7, 5},
	{`{"hostname":"\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t"}`, 6, 2},
	{`{"hostname":"\ud83d"}`, 0, 4},
	{`{"hostname":"\udc00\ud83d"}`, 0, 4},
	{"{\"hostname\":\"\xff\"}", 0, 4},
	{"{\"hostname\":\"a\tb\"}", 0, 0},
	{`{"hostname":"\x"}`, 0, 0},
	{`{"unknown":{"a":[1,-2.5e+3,true,false,null,"s",{}],"b":[]}}`, 7, 5},
	{`{"unknown":[1,]}`, 0, 0},
	{`{"unknown":01}`, 0, 0},
	{`{"unknown":-}`, 0, 0},
	{`{"unknown":1.}`, 0, 0},
	{`{"unknown":nul}`, 0, 0},
	{`{"linux":{"resources":{"memory":{"limit":1}},"seccomp":{"syscalls":[{}]},"cgroupsPath":"p"}}`, 7, 5},
	{`{"linux":{"resources":5}}`, 5, 3},
	{`{"Int8":127,"Int16":-32768,"Uint8":255,"Bool":true,"Named":"n","other":3,"Skipped":1,"-":4}`, 6, 4},
	{`{"Int8":128}`, 5, 3},
	{`{"Uint8":-0}`, 5, 3},
	{`{"Ptr":"s"}`, 6, 4},
	{`{"Ptr":null}`, 7, 5},
	{`{"Map":{"a":1,"a":2,"b":null}}`, 7, 5},
	{`{"Nested":[{"a":[1,2]},{},null]}`, 6, 4},
	{`{"Float":1.5}`, 5, 3},
	{`{"Any":{}}`, 6, 5},
	{`{"Any":null}`, 7, 5},
	{`{"Bytes":"YQ=="}`, 5, 3},
	{`{"Bytes":[]}`, 5, 4},
	{`{"Array":[1,2]}`, 5, 4},
	{`{"Custom":1}`, 5, 4},
	{`{"PCustom":null}`, 7, 5},
	{`{"PCustom":{}}`, 6, 5},
	{`{"Quoted":"1"}`, 6, 4},
	{`{"Shared":1,"OnlyA":"a","OnlyB":"b"}`, 6, 4},
	{`{"S":"x"}`, 5, 4},
	{`{"process":{"env":[]}}`, 7, 5},
	{`[]`, 0, 0},
	{`null`, 9, 5},
	{``, 0, 0},
	{`{"hostname":"a"`, 0, 0},
	{`{"hostname" "a"}`, 0, 0},
	{`{"hostname":"a",}`, 0, 0},
	{`{,}`, 0, 0},
	{`{"unknown":` + strings.Repeat("[", 1200) + strings.Repeat("]", 1200) + `}`, 0, 4},
}

func TestLeavesWhatItCannotMatchToEncodingJSON(t *testing.T) {
	for _, c := range cases {
		own, encoded := sameAsEncodingJSON(t, []byte(c.doc)), encodesAsEncodingJSON(t, []byte(c.doc))
		if own != c.own || encoded != c.encoded {
			t.Errorf("%.60q: decoded %d of the targets itself, encoded %d; want %d and %d", c.doc, own, encoded, c.own, c.encoded)
		}
	}
}

func TestUnmarshalMergesIntoAFilledValueAsEncodingJSONDoes(t *testing.T) {
	spec := specs.Spec{Hostname: "kept", Process: &specs.Process{Cwd: "/kept"}}
	if err := Unmarshal([]byte(`{"process":{"args":["a"]}}`), &spec); err != nil {
		t.Fatal(err)
	}
	if spec.Hostname != "kept" || spec.Process.Cwd != "/kept" || len(spec.Process.Args) != 1 {
		t.Fatalf("the value it held was lost: %+v %+v", spec, spec.Process)
	}
}

func FuzzMatchesEncodingJSON(f *testing.F) {
	// A small spec: the fuzzer minimizes every input that finds new
	// paths, and a full spec's minimization takes the whole time given.
	f.Add([]byte(`{"ociVersion":"1.3.0","process":{"user":{"uid":0,"additionalGids":[1]},"args":["sh"],"env":["A=b"],` +
		`"capabilities":{"bounding":["CAP_KILL"]},"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],"oomScoreAdj":-1},` +
		`"mounts":[{"destination":"/proc","type":"proc"}],"annotations":{"a":"b"},"linux":{"namespaces":[{"type":"pid"}],` +
		`"resources":{"memory":{"limit":1,"swap":-1}},"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"]}]}}}`))
	for _, c := range cases {
		f.Add([]byte(c.doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsEncodingJSON(t, data)
		encodesAsEncodingJSON(t, data)
	})
}

type (
	withMarshalJSONTo     struct{}
	withUnmarshalJSONFrom struct{}
)

// Methods of encoding/json's v2, which encoding/json calls when it is
// built on it; only their names matter here.
func (withMarshalJSONTo) MarshalJSONTo()          {}
func (*withUnmarshalJSONFrom) UnmarshalJSONFrom() {}

func TestTypesWithCodecMethodsAreLeftToEncodingJSON(t *testing.T) {
	for _, c := range []struct {
		v              any
		plain, plainIn bool
	}{
		{withMarshalJSONTo{}, false, true},
		{withUnmarshalJSONFrom{}, true, false},
		{custom{}, true, false},
		{shout(""), false, false},
		{named(""), true, true},
		{specs.Spec{}, true, true},
	} {
		ti := info(reflect.TypeOf(c.v))
		if ti.plainOut != c.plain || ti.plain != c.plainIn {
			t.Errorf("%T: encodes itself %v, decodes itself %v; want %v and %v", c.v, ti.plainOut, ti.plain, c.plain, c.plainIn)
		}
	}
}
