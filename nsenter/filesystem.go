package nsenter

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"
)

// A filesystem request asks an init the runtime sets up from outside
// (Bootstrap.SetUpByParent), while it waits for its plan, to make a
// filesystem as itself: fsopen, the settings in order, and
// FSCONFIG_CMD_CREATE. A filesystem belongs to the user namespace of the
// process that makes it, which also reads the ids its options name
// (uid=, gid=) and whose rights the kernel checks: in a container with a
// user namespace of its own, a filesystem the runtime made would be the
// host's, one its root could not remount, and options and refusals would
// differ from what the container's own root gets.
//
// Wire format (little-endian), one frame, mirrored by plan.h and carried
// out by ocirt_make_filesystem (plan.c):
//
//	uint32 magic "OCFS", uint16 PlanVersion, uint16 reserved,
//	type\0, uint32 n, n x {uint32 flag (1: a flag), key\0, value\0}
//
// The answer is a filesystem message with the context attached, whose
// Errno, when not 0, is why setting Step failed (Step n: the create); or
// a planerror with Step -1 when fsopen itself failed.

const filesystemMagic = 0x5346434f // "OCFS"

// FilesystemSetting is one fsconfig call on a new filesystem: the string
// Key=Value, or the flag Key.
type FilesystemSetting struct {
	Key, Value string
	Flag       bool
}

// String is the setting as a mount option reads.
func (s FilesystemSetting) String() string {
	if s.Flag {
		return s.Key
	}
	return s.Key + "=" + s.Value
}

// encodeFilesystemRequest is the request to make a filesystem of fsType
// with settings.
func encodeFilesystemRequest(fsType string, settings []FilesystemSetting) []byte {
	out := binary.LittleEndian.AppendUint32(cString(frameHead(filesystemMagic), fsType), uint32(len(settings)))
	for _, s := range settings {
		flag := uint32(0)
		if s.Flag {
			flag = 1
		}
		out = cString(cString(binary.LittleEndian.AppendUint32(out, flag), s.Key), s.Value)
	}
	return out
}

// MakeFilesystem has the init make a filesystem of fsType with settings
// (see the filesystem request above) and returns its context, created.
// When fsopen failed it returns the errno alone; when a setting failed,
// or the create (failed = len(settings)), the context too, whose queued
// messages say more, with failed and the errno.
func (c *Conn) MakeFilesystem(fsType string, settings []FilesystemSetting) (ctx *os.File, failed int, err error) {
	if err := c.writeFrame(encodeFilesystemRequest(fsType, settings)); err != nil {
		return nil, 0, err
	}
	m, err := c.Recv()
	if err != nil {
		return nil, 0, err
	}
	switch m.Kind {
	case KindFilesystem:
		if m.Errno != 0 {
			return m.File, m.Step, unix.Errno(m.Errno)
		}
		return m.File, 0, nil
	case KindPlanError:
		return nil, 0, unix.Errno(m.Errno)
	}
	return nil, 0, unexpected(m, KindFilesystem)
}
