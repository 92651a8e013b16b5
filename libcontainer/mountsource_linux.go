package libcontainer

import (
	"fmt"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/libcontainer/rootfs"
)

// The init asks the parent for what only the host's user namespace may do
// while it builds the container's mounts in config order: look a bind's
// source up with the runtime's rights (mountsource), and idmap a
// detached bind it made (idmap). Each request names the mount's index in
// the config.

// sendBindSource answers a mountsource request: the source's O_PATH
// handle follows the reply frame, or an error frame says why there is none.
func (c *Container) sendBindSource(init *child, spec *specs.Spec, request string) error {
	index, err := strconv.Atoi(request)
	if err != nil {
		return fmt.Errorf("sync: bad mount index %q from container init", request)
	}
	src, err := rootfs.OpenBindSource(spec, c.State.Bundle, c.State.Rootfs, init.pid, index)
	if err != nil {
		return init.conn.send(msgError, err.Error())
	}
	defer src.Close()
	if err := init.conn.send(msgMountSource, ""); err != nil {
		return err
	}
	return unix.Sendmsg(int(init.conn.f.Fd()), []byte{0}, unix.UnixRights(int(src.Fd())), nil, 0)
}

// idmapForInit answers an idmap request, whose detached mount follows the
// frame: an ack once it is idmapped, or an error frame.
func idmapForInit(init *child, idmapper *rootfs.Idmapper, request string) error {
	index, err := strconv.Atoi(request)
	if err != nil {
		return fmt.Errorf("sync: bad mount index %q from container init", request)
	}
	// Exactly the one byte the init sent with the fd.
	mnt, err := receiveFD(init.conn.f, make([]byte, 1), "mount to idmap")
	if err != nil {
		return err
	}
	defer mnt.Close()
	if err := idmapper.Idmap(index, mnt); err != nil {
		return init.conn.send(msgError, err.Error())
	}
	return init.conn.send(msgAck, "")
}

// askBindSource is the init's side of mountsource.
func askBindSource(conn *syncConn, index int) (*os.File, error) {
	if err := conn.send(msgMountSource, strconv.Itoa(index)); err != nil {
		return nil, err
	}
	if _, err := conn.expect(msgMountSource); err != nil {
		return nil, err
	}
	return receiveFD(conn.f, make([]byte, 1), "bind source")
}

// askIdmap is the init's side of idmap.
func askIdmap(conn *syncConn, index int, mnt *os.File) error {
	if err := conn.send(msgIdmap, strconv.Itoa(index)); err != nil {
		return err
	}
	if err := unix.Sendmsg(int(conn.f.Fd()), []byte{0}, unix.UnixRights(int(mnt.Fd())), nil, 0); err != nil {
		return err
	}
	_, err := conn.expect(msgAck)
	return err
}

// inUserNamespace: the init is not host root while it sets up.
func inUserNamespace(spec *specs.Spec) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			return true
		}
	}
	return false
}
