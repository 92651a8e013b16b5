package libcontainer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The left-out parts are hidden, and only they: each field the init's
// types add beside their embedded spec type has the JSON name of a field
// of that type (so encoding/json drops that field, and its type), and the
// fields so hidden are exactly the left-out ones. Everything else of the
// spec reaches the init through the embedding, including fields that
// runtime-spec adds later.
func TestInitSpecHidesOnlyTheLeftOutParts(t *testing.T) {
	leftOut := map[string]bool{
		"Spec.Solaris": true, "Spec.Windows": true, "Spec.VM": true, "Spec.ZOS": true, "Spec.FreeBSD": true,
		"Linux.Resources": true, "Seccomp.Syscalls": true,
	}
	pairs := []struct {
		name           string
		spec, mirrored reflect.Type
	}{
		{"Spec", reflect.TypeFor[specs.Spec](), reflect.TypeFor[initSpec]()},
		{"Linux", reflect.TypeFor[specs.Linux](), reflect.TypeFor[initLinux]()},
		{"Seccomp", reflect.TypeFor[specs.LinuxSeccomp](), reflect.TypeFor[initSeccomp]()},
	}
	replaced := map[string]reflect.Type{"linux": reflect.TypeFor[*initLinux](), "seccomp": reflect.TypeFor[*initSeccomp]()}
	hiddenFields := map[string]bool{}
	for _, p := range pairs {
		jsonNames := map[string]string{}
		for i := 0; i < p.spec.NumField(); i++ {
			f := p.spec.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			jsonNames[name] = f.Name
		}
		for i := 0; i < p.mirrored.NumField(); i++ {
			f := p.mirrored.Field(i)
			if f.Anonymous {
				if f.Type != p.spec {
					t.Errorf("%s embeds %s, want %s", p.mirrored, f.Type, p.spec)
				}
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			specField, ok := jsonNames[name]
			if !ok || specField != f.Name {
				t.Errorf("%s.%s (json %q) hides no field of %s by that name", p.mirrored, f.Name, name, p.spec)
				continue
			}
			if f.Type == replaced[name] {
				continue // replaced, not hidden
			}
			if f.Type != reflect.TypeFor[hidden]() && f.Type != reflect.TypeFor[hiddenList]() {
				t.Errorf("%s.%s hides %s.%s with a %s, want an empty type", p.mirrored, f.Name, p.spec, specField, f.Type)
			}
			hiddenFields[p.name+"."+f.Name] = true
		}
	}
	if !reflect.DeepEqual(hiddenFields, leftOut) {
		t.Errorf("hidden from the init: %v, want %v", hiddenFields, leftOut)
	}
}

// Everything but the left-out parts reaches the init as the parent has it.
func TestInitConfigCarriesTheSpec(t *testing.T) {
	full := fullSpec()
	for _, v := range []reflect.Value{reflect.ValueOf(full).Elem(), reflect.ValueOf(full.Linux).Elem()} {
		for i := 0; i < v.NumField(); i++ {
			if name := v.Type().Field(i).Name; v.Field(i).IsZero() && name != "Solaris" && name != "ZOS" && name != "FreeBSD" {
				t.Fatalf("the test's spec leaves %s.%s unset: set it, so that the test shows it arrives", v.Type().Name(), name)
			}
		}
	}
	sent := initConfig{Spec: full, ID: "c1", Rootfs: "/r", FifoFD: 5}
	data, err := json.Marshal(&sent)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"resources"`) || strings.Contains(string(data), `"windows"`) || strings.Contains(string(data), `"syscalls"`) {
		t.Errorf("the config sent to the init holds parts no init reads: %s", data)
	}
	var got initConfig
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if want := withoutLeftOutParts(full); !reflect.DeepEqual(got.Spec, want) {
		g, _ := json.Marshal(got.Spec)
		w, _ := json.Marshal(want)
		t.Errorf("the init got\n%s\nwant\n%s", g, w)
	}
	if got.ID != "c1" || got.Rootfs != "/r" || got.FifoFD != 5 {
		t.Errorf("the config's other fields did not arrive: %+v", got)
	}
	var none initConfig
	if err := json.Unmarshal([]byte(`{"id":"x"}`), &none); err != nil || none.Spec != nil {
		t.Errorf("a config without a spec decoded to spec %v, error %v", none.Spec, err)
	}
}

// exec reads the recorded config as the init does: all of it but the
// left-out parts, none of which it reads.
func TestProcessSpecIsTheRecordedConfigWithoutTheLeftOutParts(t *testing.T) {
	full := fullSpec()
	store := &Store{Root: t.TempDir()}
	if err := os.MkdirAll(store.dir("c"), 0o700); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store.dir("c"), specFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	c := &Container{store: store, State: &State{ID: "c"}}
	got, err := c.ProcessSpec()
	if err != nil {
		t.Fatal(err)
	}
	if want := withoutLeftOutParts(full); !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("ProcessSpec gave\n%s\nwant\n%s", g, w)
	}
	// Decoded once: a second call reads no file.
	if err := os.Remove(filepath.Join(store.dir("c"), specFile)); err != nil {
		t.Fatal(err)
	}
	if again, err := c.ProcessSpec(); err != nil || again != got {
		t.Errorf("second ProcessSpec gave %p, %v; want the first decode, %p", again, err, got)
	}
	if err := os.WriteFile(filepath.Join(store.dir("c"), specFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if all, err := c.Spec(); err != nil || !reflect.DeepEqual(all, full) {
		t.Errorf("Spec gave %+v, %v: want the whole recorded config", all, err)
	}
	if profile, err := c.recordedSeccomp(); err != nil || !reflect.DeepEqual(profile, full.Linux.Seccomp) {
		t.Errorf("recordedSeccomp gave %+v, %v: want the recorded profile, rules included", profile, err)
	}
}

// withoutLeftOutParts is full as the init and exec read it.
func withoutLeftOutParts(full *specs.Spec) *specs.Spec {
	want := *full
	wantLinux := *full.Linux
	wantLinux.Resources = nil
	profile := *full.Linux.Seccomp
	profile.Syscalls = nil
	wantLinux.Seccomp = &profile
	want.Linux = &wantLinux
	want.Windows, want.Solaris, want.VM, want.ZOS, want.FreeBSD = nil, nil, nil, nil, nil
	return &want
}

// fullSpec sets every field of the spec and of its linux section.
func fullSpec() *specs.Spec {
	limit := int64(100)
	return &specs.Spec{
		Version:     specs.Version,
		Process:     &specs.Process{Args: []string{"sh"}, Cwd: "/", Env: []string{"A=1"}, Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 10, Soft: 10}}},
		Root:        &specs.Root{Path: "rootfs", Readonly: true},
		Hostname:    "h",
		Domainname:  "d",
		Mounts:      []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid"}}},
		Hooks:       &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/true"}}},
		Annotations: map[string]string{"a": "b"},
		Linux: &specs.Linux{
			UIDMappings:       []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}},
			GIDMappings:       []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}},
			Sysctl:            map[string]string{"net.ipv4.ip_forward": "1"},
			Resources:         &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}},
			CgroupsPath:       "/c",
			Namespaces:        []specs.LinuxNamespace{{Type: specs.MountNamespace}},
			Devices:           []specs.LinuxDevice{{Path: "/dev/x", Type: "c", Major: 1, Minor: 3}},
			NetDevices:        map[string]specs.LinuxNetDevice{"eth1": {Name: "eth0"}},
			Seccomp:           &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/agent.sock", Syscalls: []specs.LinuxSyscall{{Names: []string{"getppid"}, Action: specs.ActErrno}}},
			RootfsPropagation: "private",
			MaskedPaths:       []string{"/proc/kcore"},
			ReadonlyPaths:     []string{"/proc/sys"},
			MountLabel:        "label",
			IntelRdt:          &specs.LinuxIntelRdt{ClosID: "c"},
			MemoryPolicy:      &specs.LinuxMemoryPolicy{Mode: "MPOL_BIND", Nodes: "0"},
			Personality:       &specs.LinuxPersonality{Domain: specs.PerLinux},
			TimeOffsets:       map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 1}},
		},
		Windows: &specs.Windows{LayerFolders: []string{"C:\\x"}},
		VM:      &specs.VM{Kernel: specs.VMKernel{Path: "/k"}},
	}
}
