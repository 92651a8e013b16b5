// Package criurpc speaks CRIU's swrk protocol: the protobuf messages of
// CRIU's rpc.proto that checkpoint and restore use, encoded by hand.
//
// go-criu's generated types are the reference (the tests check every
// message against them) but are not linked into the runtime: their
// package inits, with the protobuf runtime's, cost about a millisecond at
// the start of every process of this binary, each container's init
// included, for two commands that rarely run.
package criurpc

import (
	"errors"
	"fmt"
)

// ReqType is CRIU's request type.
type ReqType int32

// The request types used here, with rpc.proto's numbers.
const (
	Dump    ReqType = 1
	Restore ReqType = 2
	PreDump ReqType = 4
	Notify  ReqType = 6
)

func (t ReqType) String() string {
	switch t {
	case Dump:
		return "dump"
	case Restore:
		return "restore"
	case PreDump:
		return "pre-dump"
	case Notify:
		return "notify"
	}
	return fmt.Sprintf("request %d", int32(t))
}

// CgMode is CRIU's cgroup management mode.
type CgMode int32

// The modes runc's --manage-cgroups-mode names.
const (
	CgIgnore CgMode = 0
	CgSoft   CgMode = 3
	CgFull   CgMode = 4
	CgStrict CgMode = 5
)

// ExtMount maps an external mount's key to its value (criu_opts.ext_mnt).
type ExtMount struct{ Key, Val string }

// InheritFd gives CRIU one of its fds for a resource named Key.
type InheritFd struct {
	Key string
	Fd  int32
}

// CgroupRoot places the restored tasks' cgroups below Path (Ctrl "" is
// every controller, cgroup v2's one).
type CgroupRoot struct{ Ctrl, Path string }

// PageServer is where a dump sends the pages.
type PageServer struct {
	Address string
	Port    int32
}

// Opts are the criu_opts fields checkpoint and restore set. A zero field
// is left out of the message, so CRIU applies its default; the fds CRIU
// is handed are never 0, which is its stdin.
type Opts struct {
	ImagesDirFd       int32
	Pid               int32
	LeaveRunning      bool
	ExtUnixSk         bool
	TCPEstablished    bool
	ShellJob          bool
	FileLocks         bool
	LogLevel          int32
	LogFile           string
	PageServer        *PageServer
	NotifyScripts     bool
	Root              string
	ParentImg         string
	TrackMem          bool
	AutoDedup         bool
	WorkDirFd         int32
	ExtMnt            []ExtMount
	ManageCgroups     bool
	CgRoot            []CgroupRoot
	RstSibling        bool
	InheritFd         []InheritFd
	ManageCgroupsMode *CgMode
	External          []string
	EmptyNs           uint32
	FreezeCgroup      string
	LazyPages         bool
	StatusFd          int32
	OrphanPtsMaster   bool
	LsmProfile        string
	LsmMountContext   string
}

// Req is a criu_req.
type Req struct {
	Type          ReqType
	Opts          *Opts
	NotifySuccess bool
}

// NotifyMsg is a criu_notify: CRIU reached the point Script names.
type NotifyMsg struct {
	Script string
	Pid    int32
}

// Resp is what is used of a criu_resp.
type Resp struct {
	Type       ReqType
	Success    bool
	RestorePid int32
	Notify     *NotifyMsg
	CrErrno    int32
	CrErrmsg   string
}

// Marshal encodes r.
func (r *Req) Marshal() []byte {
	var e encoder
	e.int32(1, int32(r.Type))
	if r.Opts != nil {
		e.message(2, r.Opts.marshal())
	}
	e.bool(3, r.NotifySuccess)
	return e
}

func (o *Opts) marshal() []byte {
	var e encoder
	e.int32(1, o.ImagesDirFd) // required
	e.optInt32(2, o.Pid)
	e.bool(3, o.LeaveRunning)
	e.bool(4, o.ExtUnixSk)
	e.bool(5, o.TCPEstablished)
	e.bool(7, o.ShellJob)
	e.bool(8, o.FileLocks)
	e.optInt32(9, o.LogLevel)
	e.optString(10, o.LogFile)
	if o.PageServer != nil {
		var ps encoder
		ps.string(1, o.PageServer.Address)
		ps.int32(2, o.PageServer.Port)
		e.message(11, ps)
	}
	e.bool(12, o.NotifyScripts)
	e.optString(13, o.Root)
	e.optString(14, o.ParentImg)
	e.bool(15, o.TrackMem)
	e.bool(16, o.AutoDedup)
	e.optInt32(17, o.WorkDirFd)
	for _, m := range o.ExtMnt {
		var sub encoder
		sub.string(1, m.Key)
		sub.string(2, m.Val)
		e.message(23, sub)
	}
	e.bool(24, o.ManageCgroups)
	for _, c := range o.CgRoot {
		var sub encoder
		sub.optString(1, c.Ctrl)
		sub.string(2, c.Path)
		e.message(25, sub)
	}
	e.bool(26, o.RstSibling)
	for _, f := range o.InheritFd {
		var sub encoder
		sub.string(1, f.Key)
		sub.int32(2, f.Fd)
		e.message(27, sub)
	}
	if o.ManageCgroupsMode != nil {
		e.int32(34, int32(*o.ManageCgroupsMode))
	}
	for _, s := range o.External {
		e.string(37, s)
	}
	if o.EmptyNs != 0 {
		e.tag(38, wireVarint)
		e.varint(uint64(o.EmptyNs))
	}
	e.optString(44, o.FreezeCgroup)
	e.bool(48, o.LazyPages)
	e.optInt32(49, o.StatusFd)
	e.bool(50, o.OrphanPtsMaster)
	e.optString(53, o.LsmProfile)
	e.optString(63, o.LsmMountContext)
	return e
}

// UnmarshalResp decodes a criu_resp, skipping the fields not used here.
func UnmarshalResp(b []byte) (*Resp, error) {
	r := &Resp{}
	err := fields(b, func(num int, v uint64, data []byte) error {
		switch num {
		case 1:
			r.Type = ReqType(int32(v))
		case 2:
			r.Success = v != 0
		case 4:
			return fields(data, func(num int, v uint64, _ []byte) error {
				if num == 1 {
					r.RestorePid = int32(v)
				}
				return nil
			})
		case 5:
			r.Notify = &NotifyMsg{}
			return fields(data, func(num int, v uint64, data []byte) error {
				switch num {
				case 1:
					r.Notify.Script = string(data)
				case 2:
					r.Notify.Pid = int32(v)
				}
				return nil
			})
		case 7:
			r.CrErrno = int32(v)
		case 9:
			r.CrErrmsg = string(data)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("criu response: %w", err)
	}
	return r, nil
}

const (
	wireVarint = 0
	wire64     = 1
	wireBytes  = 2
	wire32     = 5
)

type encoder []byte

func (e *encoder) varint(v uint64) {
	for v >= 0x80 {
		*e = append(*e, byte(v)|0x80)
		v >>= 7
	}
	*e = append(*e, byte(v))
}

func (e *encoder) tag(num, wireType int) { e.varint(uint64(num)<<3 | uint64(wireType)) }

// int32 encodes as protobuf does: a negative value sign-extended to ten
// bytes.
func (e *encoder) int32(num int, v int32) {
	e.tag(num, wireVarint)
	e.varint(uint64(int64(v)))
}

func (e *encoder) optInt32(num int, v int32) {
	if v != 0 {
		e.int32(num, v)
	}
}

func (e *encoder) bool(num int, v bool) {
	if v {
		e.tag(num, wireVarint)
		e.varint(1)
	}
}

func (e *encoder) string(num int, s string) { e.message(num, []byte(s)) }

func (e *encoder) optString(num int, s string) {
	if s != "" {
		e.string(num, s)
	}
}

func (e *encoder) message(num int, b []byte) {
	e.tag(num, wireBytes)
	e.varint(uint64(len(b)))
	*e = append(*e, b...)
}

var errTruncated = errors.New("truncated message")

func readVarint(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errTruncated
}

// fields calls f with each field of message b: its number and, by wire
// type, its varint value or its bytes.
func fields(b []byte, f func(num int, v uint64, data []byte) error) error {
	for len(b) > 0 {
		key, n, err := readVarint(b)
		if err != nil {
			return err
		}
		b = b[n:]
		num := int(key >> 3)
		var v uint64
		var data []byte
		switch key & 7 {
		case wireVarint:
			if v, n, err = readVarint(b); err != nil {
				return err
			}
		case wireBytes:
			l, m, err := readVarint(b)
			if err != nil || uint64(len(b)-m) < l {
				return errTruncated
			}
			data, n = b[m:m+int(l)], m+int(l)
		case wire64:
			n = 8
		case wire32:
			n = 4
		default:
			return fmt.Errorf("field %d: unknown wire type %d", num, key&7)
		}
		if n > len(b) {
			return errTruncated
		}
		b = b[n:]
		if err := f(num, v, data); err != nil {
			return err
		}
	}
	return nil
}
