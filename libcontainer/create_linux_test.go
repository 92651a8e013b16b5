package libcontainer

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCreationRollbackOrder: a failed create first closes the fds it held
// for the init (an fd on the host rootfs bind would keep it busy), then
// undoes its phases newest first: network devices go back before the init
// dies, and the init dies before delete --force removes what the state
// records.
func TestCreationRollbackOrder(t *testing.T) {
	var ran []string
	step := func(name string) func() { return func() { ran = append(ran, name) } }
	cr := &creation{initPidfd: -1}
	cr.closers = append(cr.closers, step("close rootfs"), step("close sync socket"))
	cr.undo = append(cr.undo, step("delete --force"), step("kill init"), step("return net devices"))
	cr.fail()
	want := []string{"close sync socket", "close rootfs", "return net devices", "kill init", "delete --force"}
	if !slices.Equal(ran, want) {
		t.Errorf("rollback ran %q, want %q", ran, want)
	}
}

// TestCreationCloseKeepsWork: a successful create closes its fds and
// undoes nothing.
func TestCreationCloseKeepsWork(t *testing.T) {
	var ran []string
	cr := &creation{initPidfd: -1}
	cr.closers = append(cr.closers, func() { ran = append(ran, "close") })
	cr.undo = append(cr.undo, func() { ran = append(ran, "undo") })
	cr.close()
	if !slices.Equal(ran, []string{"close"}) {
		t.Errorf("success ran %q, want only the close", ran)
	}
}

// The init takes the container's /proc as its procfs handle only where the
// runtime mounts a writable procfs there last.
func TestWritableProcAtProc(t *testing.T) {
	proc := specs.Mount{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}}
	for _, tc := range []struct {
		name   string
		mounts []specs.Mount
		want   bool
	}{
		{"the default /proc", []specs.Mount{proc}, true},
		{"a trailing slash", []specs.Mount{{Destination: "/proc/", Type: "proc"}}, true},
		{"read-only", []specs.Mount{{Destination: "/proc", Type: "proc", Options: []string{"nosuid", "ro"}}}, false},
		{"recursively read-only", []specs.Mount{{Destination: "/proc", Type: "proc", Options: []string{"rro"}}}, false},
		{"read-only, then writable again", []specs.Mount{{Destination: "/proc", Type: "proc", Options: []string{"ro", "rw"}}}, true},
		{"no /proc", []specs.Mount{{Destination: "/dev", Type: "tmpfs"}}, false},
		{"a tmpfs over it", []specs.Mount{proc, {Destination: "/proc", Type: "tmpfs"}}, false},
		{"a procfs over a tmpfs", []specs.Mount{{Destination: "/proc", Type: "tmpfs"}, proc}, true},
		{"mounts below it", []specs.Mount{proc, {Destination: "/proc/meminfo", Type: "bind", Source: "/x"}}, true},
	} {
		if got := writableProcAtProc(&specs.Spec{Mounts: tc.mounts}); got != tc.want {
			t.Errorf("%s: writableProcAtProc = %v, want %v", tc.name, got, tc.want)
		}
	}
	for name, linux := range map[string]*specs.Linux{
		"/proc read-only later": {ReadonlyPaths: []string{"/proc/sys", "/proc"}},
		"/proc masked":          {MaskedPaths: []string{"/proc/"}},
	} {
		if writableProcAtProc(&specs.Spec{Mounts: []specs.Mount{proc}, Linux: linux}) {
			t.Errorf("%s: writableProcAtProc = true, want false", name)
		}
	}
	if !writableProcAtProc(&specs.Spec{Mounts: []specs.Mount{proc}, Linux: &specs.Linux{ReadonlyPaths: []string{"/proc/sys"}}}) {
		t.Error("a read-only path below /proc: writableProcAtProc = false, want true")
	}
}
