package criurpc

import (
	"testing"

	gocriu "github.com/checkpoint-restore/go-criu/v7/rpc"
	"google.golang.org/protobuf/proto"
)

// TestReqMatchesGoCriu: every field set by hand decodes with go-criu's
// generated types to the same value, unset ones stay unset.
func TestReqMatchesGoCriu(t *testing.T) {
	mode := CgStrict
	req := &Req{Type: Restore, NotifySuccess: true, Opts: &Opts{
		ImagesDirFd: 4, Pid: 1234, LeaveRunning: true, ExtUnixSk: true, TCPEstablished: true,
		ShellJob: true, FileLocks: true, LogLevel: 4, LogFile: "restore.log",
		PageServer:    &PageServer{Address: "127.0.0.1", Port: 27},
		NotifyScripts: true, Root: "/tmp/root", ParentImg: "../pre", TrackMem: true, AutoDedup: true,
		WorkDirFd: 5, ExtMnt: []ExtMount{{Key: "/data", Val: "/srv/data"}, {Key: "/sys/fs/cgroup", Val: "/sys/fs/cgroup/c1"}},
		ManageCgroups: true, CgRoot: []CgroupRoot{{Path: "/c1"}, {Ctrl: "memory", Path: "/m/c1"}}, RstSibling: true,
		InheritFd: []InheritFd{{Key: "pipe:[42]", Fd: 1}, {Key: "extRootNetNS", Fd: 6}}, ManageCgroupsMode: &mode,
		External: []string{"net[4026531992]:extRootNetNS"}, EmptyNs: 0x40000000, FreezeCgroup: "/sys/fs/cgroup/c1",
		LazyPages: true, StatusFd: -1, OrphanPtsMaster: true, LsmProfile: "apparmor:p", LsmMountContext: "ctx",
	}}
	var got gocriu.CriuReq
	if err := proto.Unmarshal(req.Marshal(), &got); err != nil {
		t.Fatal(err)
	}
	want := &gocriu.CriuReq{
		Type: gocriu.CriuReqType_RESTORE.Enum(), NotifySuccess: proto.Bool(true),
		Opts: &gocriu.CriuOpts{
			ImagesDirFd: proto.Int32(4), Pid: proto.Int32(1234), LeaveRunning: proto.Bool(true),
			ExtUnixSk: proto.Bool(true), TcpEstablished: proto.Bool(true), ShellJob: proto.Bool(true),
			FileLocks: proto.Bool(true), LogLevel: proto.Int32(4), LogFile: proto.String("restore.log"),
			Ps:            &gocriu.CriuPageServerInfo{Address: proto.String("127.0.0.1"), Port: proto.Int32(27)},
			NotifyScripts: proto.Bool(true), Root: proto.String("/tmp/root"), ParentImg: proto.String("../pre"),
			TrackMem: proto.Bool(true), AutoDedup: proto.Bool(true), WorkDirFd: proto.Int32(5),
			ExtMnt: []*gocriu.ExtMountMap{
				{Key: proto.String("/data"), Val: proto.String("/srv/data")},
				{Key: proto.String("/sys/fs/cgroup"), Val: proto.String("/sys/fs/cgroup/c1")},
			},
			ManageCgroups: proto.Bool(true),
			CgRoot: []*gocriu.CgroupRoot{
				{Path: proto.String("/c1")},
				{Ctrl: proto.String("memory"), Path: proto.String("/m/c1")},
			},
			RstSibling: proto.Bool(true),
			InheritFd: []*gocriu.InheritFd{
				{Key: proto.String("pipe:[42]"), Fd: proto.Int32(1)},
				{Key: proto.String("extRootNetNS"), Fd: proto.Int32(6)},
			},
			ManageCgroupsMode: gocriu.CriuCgMode_STRICT.Enum(),
			External:          []string{"net[4026531992]:extRootNetNS"},
			EmptyNs:           proto.Uint32(0x40000000), FreezeCgroup: proto.String("/sys/fs/cgroup/c1"),
			LazyPages: proto.Bool(true), StatusFd: proto.Int32(-1), OrphanPtsMaster: proto.Bool(true),
			LsmProfile: proto.String("apparmor:p"), LsmMountContext: proto.String("ctx"),
		},
	}
	if !proto.Equal(&got, want) {
		t.Errorf("decoded by go-criu:\n%v\nwant\n%v", &got, want)
	}
}

// TestZeroOptsLeaveCriuDefaults: an empty Opts sends only the required
// images directory fd, and a zero cgroup mode (ignore) is still sent.
func TestZeroOptsLeaveCriuDefaults(t *testing.T) {
	ignore := CgIgnore
	var got gocriu.CriuReq
	if err := proto.Unmarshal((&Req{Type: Dump, Opts: &Opts{ImagesDirFd: 4, ManageCgroupsMode: &ignore}}).Marshal(), &got); err != nil {
		t.Fatal(err)
	}
	want := &gocriu.CriuReq{Type: gocriu.CriuReqType_DUMP.Enum(), Opts: &gocriu.CriuOpts{
		ImagesDirFd: proto.Int32(4), ManageCgroupsMode: gocriu.CriuCgMode_IGNORE.Enum(),
	}}
	if !proto.Equal(&got, want) {
		t.Errorf("decoded by go-criu: %v, want %v", &got, want)
	}
}

// TestRespMatchesGoCriu: responses encoded by go-criu, with fields this
// package skips among them, decode to the same values.
func TestRespMatchesGoCriu(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   *gocriu.CriuResp
		want Resp
	}{
		{"restore", &gocriu.CriuResp{
			Type: gocriu.CriuReqType_RESTORE.Enum(), Success: proto.Bool(true),
			Restore: &gocriu.CriuRestoreResp{Pid: proto.Int32(4321)},
			Version: &gocriu.CriuVersion{MajorNumber: proto.Int32(3), MinorNumber: proto.Int32(17)},
		}, Resp{Type: Restore, Success: true, RestorePid: 4321}},
		{"notify", &gocriu.CriuResp{
			Type: gocriu.CriuReqType_NOTIFY.Enum(), Success: proto.Bool(true),
			Notify: &gocriu.CriuNotify{Script: proto.String("post-restore"), Pid: proto.Int32(99)},
		}, Resp{Type: Notify, Success: true, Notify: &NotifyMsg{Script: "post-restore", Pid: 99}}},
		{"failure", &gocriu.CriuResp{
			Type: gocriu.CriuReqType_DUMP.Enum(), Success: proto.Bool(false),
			CrErrno: proto.Int32(2), CrErrmsg: proto.String("Can't dump"),
			Dump: &gocriu.CriuDumpResp{Restored: proto.Bool(false)},
		}, Resp{Type: Dump, CrErrno: 2, CrErrmsg: "Can't dump"}},
	} {
		data, err := proto.Marshal(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := UnmarshalResp(data)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.Type != tc.want.Type || got.Success != tc.want.Success || got.RestorePid != tc.want.RestorePid ||
			got.CrErrno != tc.want.CrErrno || got.CrErrmsg != tc.want.CrErrmsg ||
			(got.Notify == nil) != (tc.want.Notify == nil) || (got.Notify != nil && *got.Notify != *tc.want.Notify) {
			t.Errorf("%s: decoded %+v (notify %+v), want %+v", tc.name, got, got.Notify, tc.want)
		}
	}
}

// TestRespRejectsTruncation: a message cut anywhere inside a field is an
// error, not a half-read response.
func TestRespRejectsTruncation(t *testing.T) {
	data, err := proto.Marshal(&gocriu.CriuResp{
		Type: gocriu.CriuReqType_NOTIFY.Enum(), Success: proto.Bool(true),
		Notify: &gocriu.CriuNotify{Script: proto.String("orphan-pts-master")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{1, 3, len(data) - 1} {
		if _, err := UnmarshalResp(data[:cut]); err == nil {
			t.Errorf("cut at %d of %d bytes: no error", cut, len(data))
		}
	}
}
