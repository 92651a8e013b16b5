package nsenter

import "encoding/binary"

// A hooks request asks an init the runtime sets up from outside
// (Bootstrap.SetUpByParent), while it waits for its plan, to run the
// createContainer hooks as itself: in a container with a user namespace
// of its own they run as that namespace's root, in it, where the
// runtime's setup thread cannot go (no thread of a process with others
// may join a user namespace). Go prepares each hook to the last byte, as
// for the startContainer hooks (SpawnHook); C runs them in order in Dir,
// each with State on stdin, /dev/null as stdout and no fd but its stdio,
// and stops at the first that fails.
//
// Wire format (little-endian), one frame, mirrored by plan.h and carried
// out by ocirt_run_hooks_request (plan.c):
//
//	uint32 magic "OCHK", uint16 PlanVersion, uint16 reserved, dir\0,
//	uint32 state length, state, then the hooks as a plan's last steps
//	list them (hookList)
//
// The answer is an ack when every hook succeeded, or a hookerror for the
// first that failed (its index in the request).

const hooksMagic = 0x4b48434f // "OCHK"

// HooksRequest is a hooks request (see above).
type HooksRequest struct {
	// Dir is the hooks' working directory, "" for the init's own.
	Dir   string
	State []byte
	Hooks []SpawnHook
}

// encode is the request as its frame's payload.
func (r *HooksRequest) encode() []byte {
	out := binary.LittleEndian.AppendUint32(cString(frameHead(hooksMagic), r.Dir), uint32(len(r.State)))
	out = append(out, r.State...)
	return hookList(out, r.Hooks)
}

// RunHooks has the init run the hooks of r (see the hooks request above).
// It returns nil when all of them succeeded, and the init's hookerror
// report (see ParseReport's fields) as failed when one did not.
func (c *Conn) RunHooks(r *HooksRequest) (failed *Message, err error) {
	if err := c.writeFrame(r.encode()); err != nil {
		return nil, err
	}
	m, err := c.Recv()
	if err != nil {
		return nil, err
	}
	switch m.Kind {
	case KindAck:
		return nil, nil
	case KindHookError:
		return m, nil
	}
	return nil, unexpected(m, KindAck, KindHookError)
}
