package libcontainer

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// The request carries, after the netlink and ifinfo headers, the namespace
// attribute and the NUL-terminated name, each padded to 4 bytes.
func TestSetLinkMessage(t *testing.T) {
	msg := setLinkMessage(7, unix.IFLA_NET_NS_PID, 4242, "eth1")
	ne := binary.NativeEndian
	if got := int(ne.Uint32(msg[0:4])); got != len(msg) {
		t.Fatalf("nlmsg_len %d, message is %d bytes", got, len(msg))
	}
	if typ, flags := ne.Uint16(msg[4:6]), ne.Uint16(msg[6:8]); typ != unix.RTM_NEWLINK || flags != unix.NLM_F_REQUEST|unix.NLM_F_ACK {
		t.Errorf("type %d flags %#x, want RTM_NEWLINK with REQUEST|ACK", typ, flags)
	}
	info := msg[unix.SizeofNlMsghdr:]
	if index := int32(ne.Uint32(info[4:8])); index != 7 {
		t.Errorf("ifi_index %d, want 7", index)
	}
	attrs := info[unix.SizeofIfInfomsg:]
	want := []struct {
		typ  uint16
		data []byte
	}{
		{unix.IFLA_NET_NS_PID, ne.AppendUint32(nil, 4242)},
		{unix.IFLA_IFNAME, []byte("eth1\x00")},
	}
	for _, w := range want {
		if len(attrs) < unix.SizeofRtAttr {
			t.Fatalf("attribute %d missing", w.typ)
		}
		length, typ := int(ne.Uint16(attrs[0:2])), ne.Uint16(attrs[2:4])
		if typ != w.typ || string(attrs[unix.SizeofRtAttr:length]) != string(w.data) {
			t.Errorf("attribute type %d data %q, want type %d data %q", typ, attrs[unix.SizeofRtAttr:length], w.typ, w.data)
		}
		attrs = attrs[(length+3)&^3:]
	}
	if len(attrs) != 0 {
		t.Errorf("%d bytes after the attributes", len(attrs))
	}
}
