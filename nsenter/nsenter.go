// Package nsenter joins and creates the namespaces of oci-rt's init and exec
// processes before the Go runtime starts (see nsenter.c), and holds the
// parent↔init protocol (protocol.go). Importing it for side effects is enough to
// install the constructor; it does nothing unless the process was started
// with SyncFDEnv set, or asked to make a user namespace of its own
// (OwnUserNamespaceEnv). Its C also carries out exec and create plans
// (plan.go) and catches the signals a foreground run or exec forwards
// (signals.go).
package nsenter

/*
#cgo CFLAGS: -Wall -Wextra -Werror -O2
*/
import "C"

import (
	"encoding/binary"
	"strconv"
)

// SyncFDEnv names the environment variable that carries the sync socket's
// fd number to the constructor.
const SyncFDEnv = "_OCIRT_SYNC_FD"

const (
	recCloneFlags    = 1
	recNSPath        = 2
	recTimeOffsets   = 3
	recFork          = 4
	recCgroupProcs   = 5
	recProcfs        = 6
	recJoinInOrder   = 7
	recCloseRange    = 8
	recProcfsMake    = 9
	recPlan          = 10
	recVersion       = 11
	recSetUpByParent = 12
	recCgroupTasks   = 13
	recOOMScoreAdj   = 14
)

// NSPath is an existing namespace to join.
type NSPath struct {
	Type uint32 // a CLONE_NEW* constant
	Path string
}

// Bootstrap tells the constructor which namespaces to join and create.
type Bootstrap struct {
	CloneFlags uint32   // namespaces to create (CLONE_NEW*)
	Join       []NSPath // namespaces to join, in any order
	// TimeOffsets is written to /proc/self/timens_offsets after a new time
	// namespace is created ("monotonic SECS NANOSECS\n" lines).
	TimeOffsets string
	// Fork makes the stage fork once more, so that the process that goes on
	// is inside the new or joined pid (and time) namespace.
	Fork bool
	// CgroupProcsFD, when not 0, is the fd (in the stage) of the
	// container's cgroup.procs, opened for writing: the stage, started
	// outside the container's cgroup, enters it right before it creates
	// the cgroup namespace, so that the namespace is rooted there. The
	// process that goes on then waits, after its pid message, for Ack: the
	// parent moves it out again before it runs any Go.
	CgroupProcsFD int
	// JoinCgroups are cgroup v1 "tasks" files (fds in the stage, opened
	// for writing) into which the stage writes 0 before anything else,
	// closing each: it joins the cgroup by itself, which a thread's write
	// does for that thread alone and, the stage having one thread, for the
	// whole process. The runtime writing the stage's pid into
	// cgroup.procs instead would take a lock of the whole machine (see
	// fs.Manager.OpenForSelfJoin).
	JoinCgroups []CgroupTasks
	// OOMScoreAdj, when set, is the process's oom_score_adj, which the
	// stage writes first thing, while it is still in the runtime's mount
	// and user namespaces: the processes it goes on as or forks inherit
	// it, and one in a user namespace of the container's could not write
	// its own (its /proc files stay the host root's while it is not
	// dumpable).
	OOMScoreAdj *int
	// Procfs, when its Count is not 0, asks for procfs contexts of a pid
	// namespace the process does not enter (see nsenter.c).
	Procfs ProcfsRequest
	// JoinInOrder joins Join in the order given rather than the user
	// namespace first and the mount namespace last.
	JoinInOrder bool
	// CloseFirst … CloseLast (when CloseLast is not 0) are closed once
	// the namespaces are joined: the fds of Join's paths.
	CloseFirst, CloseLast int
	// Plan, when set, is an exec plan (see Plan) that the stage carries
	// out once it has joined the namespaces and sent its pid, instead of
	// going on into Go. It needs a process that does not fork.
	Plan *Plan
	// SetUpByParent: the process that goes on (after its pid message and
	// the cgroup ack) runs no Go either. The runtime sets the container
	// up from outside, in its namespaces; the process sends it
	// ProcContexts fsopen("proc") contexts of its pid namespace
	// (KindProcfs), for the /proc mounts, then waits for the plan
	// (Conn.SendPlan) and carries it out.
	SetUpByParent bool
	ProcContexts  int
}

// CgroupTasks is the "tasks" file of a cgroup the stage joins, named by
// its hierarchy for the error should it fail.
type CgroupTasks struct {
	FD        int
	Hierarchy string
}

// ProcfsRequest asks the stage for Count fsopen("proc") contexts of the
// pid namespace at fd PidNSFD, made by a helper that holds nothing of the
// runtime's when it enters that namespace, and placed at fds First,
// First+1, … (which the stage overwrites). The stage closes PidNSFD.
type ProcfsRequest struct {
	PidNSFD, First, Count int
	// Source, when not empty, has the helper create the filesystems too,
	// with this source: creating one takes a right over the pid
	// namespace that a caller inside a new user namespace lacks. It can
	// then only mount them.
	Source string
}

// Encode lays the bootstrap out as the records nsenter.c parses, the
// protocol version first.
func (b *Bootstrap) Encode() []byte {
	var out []byte
	record := func(typ uint16, data []byte) {
		var h [8]byte
		binary.LittleEndian.PutUint16(h[0:], typ)
		binary.LittleEndian.PutUint32(h[4:], uint32(len(data)))
		out = append(out, h[:]...)
		out = append(out, data...)
	}
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	record(recVersion, u32(ProtocolVersion))
	record(recCloneFlags, u32(b.CloneFlags))
	for _, ns := range b.Join {
		record(recNSPath, append(u32(ns.Type), ns.Path...))
	}
	if b.TimeOffsets != "" {
		record(recTimeOffsets, []byte(b.TimeOffsets))
	}
	if b.Fork {
		record(recFork, u32(1))
	}
	if b.CgroupProcsFD != 0 {
		record(recCgroupProcs, u32(uint32(b.CgroupProcsFD)))
	}
	if b.OOMScoreAdj != nil {
		record(recOOMScoreAdj, strconv.AppendInt(nil, int64(*b.OOMScoreAdj), 10))
	}
	for _, d := range b.JoinCgroups {
		record(recCgroupTasks, append(u32(uint32(d.FD)), d.Hierarchy...))
	}
	if b.JoinInOrder {
		record(recJoinInOrder, u32(1))
	}
	if b.CloseLast != 0 {
		record(recCloseRange, append(u32(uint32(b.CloseFirst)), u32(uint32(b.CloseLast))...))
	}
	if p := b.Procfs; p.Count > 0 {
		data := append(u32(uint32(p.PidNSFD)), u32(uint32(p.First))...)
		record(recProcfs, append(data, u32(uint32(p.Count))...))
		if p.Source != "" {
			record(recProcfsMake, []byte(p.Source))
		}
	}
	if b.Plan != nil {
		record(recPlan, b.Plan.Encode())
	}
	if b.SetUpByParent {
		record(recSetUpByParent, u32(uint32(b.ProcContexts)))
	}
	return out
}
