package libcontainer

import (
	"slices"
	"testing"
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
