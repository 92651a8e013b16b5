package systemd

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	sd "github.com/coreos/go-systemd/v22/dbus"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/cgroups/devices"
)

func ptr[T any](v T) *T { return &v }

// propMap renders properties as name → value, a repeated name keeping
// every value in order.
func propMap(props []sd.Property) map[string][]any {
	out := map[string][]any{}
	for _, p := range props {
		out[p.Name] = append(out[p.Name], p.Value.Value())
	}
	return out
}

func convert(t *testing.T, r *specs.LinuxResources, unified bool) (map[string][]any, []string) {
	t.Helper()
	var warnings []string
	props, err := Properties(r, unified, func(w string) { warnings = append(warnings, w) })
	if err != nil {
		t.Fatalf("Properties: %v", err)
	}
	return propMap(props), warnings
}

// The values are the ones runc's systemd driver sends for the same
// resources (its genV2ResourcesProperties / genV1ResourcesProperties).
func TestPropertiesV2(t *testing.T) {
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: ptr(int64(1 << 30)), Reservation: ptr(int64(1 << 29)), Swap: ptr(int64(3 << 30))},
		CPU:     &specs.LinuxCPU{Shares: ptr(uint64(1024)), Quota: ptr(int64(50000)), Period: ptr(uint64(100000)), Cpus: "0-2,7,9", Mems: "0"},
		Pids:    &specs.LinuxPids{Limit: ptr(int64(100))},
		BlockIO: &specs.LinuxBlockIO{Weight: ptr(uint16(500))},
	}
	got, _ := convert(t, r, true)
	want := map[string][]any{
		"MemoryMax":          {uint64(1 << 30)},
		"MemoryLow":          {uint64(1 << 29)},
		"MemorySwapMax":      {uint64(2 << 30)},
		"CPUWeight":          {uint64(100)},
		"CPUQuotaPeriodUSec": {uint64(100000)},
		"CPUQuotaPerSecUSec": {uint64(500000)},
		"AllowedCPUs":        {[]byte{0x87, 0x02}},
		"AllowedMemoryNodes": {[]byte{0x01}},
		"TasksMax":           {uint64(100)},
		"IOWeight":           {uint64(4950)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestPropertiesV1(t *testing.T) {
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: ptr(int64(1 << 30)), Reservation: ptr(int64(1 << 29)), Swap: ptr(int64(3 << 30))},
		CPU:     &specs.LinuxCPU{Shares: ptr(uint64(512)), Quota: ptr(int64(12345)), Cpus: "1"},
		Pids:    &specs.LinuxPids{Limit: ptr(int64(-1))},
		BlockIO: &specs.LinuxBlockIO{Weight: ptr(uint16(500))},
	}
	got, _ := convert(t, r, false)
	want := map[string][]any{
		"MemoryLimit": {uint64(1 << 30)},
		"CPUShares":   {uint64(512)},
		// 12345µs per 100ms is 12.345% of a CPU: rounded up to 13%.
		"CPUQuotaPerSecUSec": {uint64(130000)},
		"AllowedCPUs":        {[]byte{0x02}},
		"TasksMax":           {uint64(math.MaxUint64)},
		"BlockIOWeight":      {uint64(500)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

// Unlimited is systemd's infinity; 0 (unset, as Podman sends for "no
// limit") sets nothing; a negative quota is no quota.
func TestPropertiesUnlimitedAndUnset(t *testing.T) {
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(int64(-1))},
		CPU:    &specs.LinuxCPU{Quota: ptr(int64(-1)), Period: ptr(uint64(50000)), Shares: ptr(uint64(0))},
		Pids:   &specs.LinuxPids{Limit: ptr(int64(0))},
	}
	got, _ := convert(t, r, true)
	inf := uint64(math.MaxUint64)
	want := map[string][]any{
		"MemoryMax":          {inf},
		"MemorySwapMax":      {inf},
		"CPUQuotaPeriodUSec": {uint64(50000)},
		"CPUQuotaPerSecUSec": {inf},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if got, _ := convert(t, &specs.LinuxResources{}, true); len(got) != 0 {
		t.Errorf("empty resources: %v", got)
	}
}

// The unified entries systemd manages become properties, after the
// fields (they win in the files, so they must win in systemd too).
func TestPropertiesUnified(t *testing.T) {
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(int64(1 << 30))},
		Unified: map[string]string{
			"memory.max": "max", "memory.high": "1073741824", "memory.min": "4096",
			"cpu.max": "max 50000", "cpu.weight": "42", "pids.max": "7",
			"cpuset.cpus": "2-3", "memory.oom.group": "1",
		},
	}
	got, _ := convert(t, r, true)
	inf := uint64(math.MaxUint64)
	want := map[string][]any{
		"MemoryMax":          {uint64(1 << 30), inf},
		"MemoryHigh":         {uint64(1 << 30)},
		"MemoryMin":          {uint64(4096)},
		"CPUQuotaPeriodUSec": {uint64(50000)},
		"CPUQuotaPerSecUSec": {inf},
		"CPUWeight":          {uint64(42)},
		"TasksMax":           {uint64(7)},
		"AllowedCPUs":        {[]byte{0x0c}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	for _, bad := range []map[string]string{{"memory.max": "lots"}, {"cpu.max": "1 2 3"}, {"cpu.max": "0"}, {"cpuset.cpus": "3-1"}} {
		if _, err := Properties(&specs.LinuxResources{Unified: bad}, true, func(string) {}); err == nil {
			t.Errorf("unified %v: want an error", bad)
		}
	}
}

// A bad cpuset list fails naming the field and what is wrong with it.
func TestPropertiesBadCpusetList(t *testing.T) {
	for _, c := range []struct {
		cpu  specs.LinuxCPU
		want string
	}{
		{specs.LinuxCPU{Cpus: "0,8192"}, `cpu.cpus "0,8192": CPU 8192 is beyond the last supported, 8191`},
		{specs.LinuxCPU{Mems: "0-x"}, `cpu.mems "0-x": "0-x" is not a node number or range`},
		{specs.LinuxCPU{Mems: "1024"}, `cpu.mems "1024": node 1024 is beyond the last supported, 1023`},
	} {
		_, err := Properties(&specs.LinuxResources{CPU: &c.cpu}, true, func(string) {})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cpu, err, c.want)
		}
	}
}

func rule(allow bool, typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	d := specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Access: access}
	if major >= 0 {
		d.Major = &major
	}
	if minor >= 0 {
		d.Minor = &minor
	}
	return d
}

// A container's usual device rules (deny all, the runtime's defaults)
// become a strict policy with the defaults as an allow list, after an
// empty DeviceAllow that clears the unit's old list.
func TestPropertiesDevices(t *testing.T) {
	rules := append([]specs.LinuxDeviceCgroup{rule(false, "a", -1, -1, "rwm"), rule(true, "c", 10, -1, "rw"), rule(true, "b", 8, 0, "r")}, devices.DefaultAllowedDevices()...)
	got, warnings := convert(t, &specs.LinuxResources{Devices: rules}, true)
	if len(warnings) != 0 {
		t.Errorf("warnings: %v", warnings)
	}
	if p := got["DevicePolicy"]; !reflect.DeepEqual(p, []any{"strict"}) {
		t.Errorf("DevicePolicy = %v", p)
	}
	lists := got["DeviceAllow"]
	if len(lists) != 2 || fmt.Sprint(lists[0]) != "[]" {
		t.Fatalf("DeviceAllow = %v: want a clearing empty list, then the list", lists)
	}
	var entries []string
	for _, e := range lists[1].([]deviceAllow) {
		entries = append(entries, e.Path+" "+e.Perms)
	}
	want := []string{"char-10 rw", "/dev/block/8:0 r", "char-* m", "block-* m", "/dev/char/1:3 rwm", "/dev/char/1:5 rwm", "/dev/char/1:7 rwm",
		"/dev/char/1:8 rwm", "/dev/char/1:9 rwm", "/dev/char/5:0 rwm", "/dev/char/5:1 rwm", "/dev/char/5:2 rwm", "char-136 rwm"}
	if !reflect.DeepEqual(entries, want) {
		t.Errorf("DeviceAllow = %v\nwant          %v", entries, want)
	}
}

func TestPropertiesDevicesSystemdCannotExpress(t *testing.T) {
	// Everything allowed: systemd's "auto" policy, no list.
	got, _ := convert(t, &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{rule(true, "a", -1, -1, "rwm")}}, false)
	if !reflect.DeepEqual(got["DevicePolicy"], []any{"auto"}) || len(got["DeviceAllow"]) != 1 {
		t.Errorf("allow all: %v", got)
	}
	// All but one device: systemd only has allow lists, so its filter
	// denies all (runc does the same) and says so.
	got, warnings := convert(t, &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{rule(true, "a", -1, -1, "rwm"), rule(false, "c", 1, 3, "rwm")}}, false)
	if !reflect.DeepEqual(got["DevicePolicy"], []any{"strict"}) || len(got["DeviceAllow"]) != 1 || len(warnings) != 1 {
		t.Errorf("deny list: %v, warnings %v", got, warnings)
	}
	// One minor of every major has no systemd form.
	_, warnings = convert(t, &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{rule(true, "c", -1, 5, "r")}}, true)
	if len(warnings) != 1 || !strings.Contains(warnings[0], "c *:5 r") {
		t.Errorf("*:5 rule: warnings %v", warnings)
	}
	if _, err := Properties(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{rule(true, "x", -1, -1, "r")}}, true, func(string) {}); err == nil {
		t.Error("device type x: want an error")
	}
}

// An update without device rules leaves the unit's alone.
func TestPropertiesNoDevicesNoDeviceProps(t *testing.T) {
	got, _ := convert(t, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(5))}}, true)
	if _, ok := got["DevicePolicy"]; ok {
		t.Errorf("props %v: device policy without device rules", got)
	}
}
