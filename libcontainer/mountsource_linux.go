package libcontainer

import (
	"fmt"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/libcontainer/rootfs"
	"github.com/oci-rt/oci-rt/nsenter"
)

// The init asks the parent for what only the host's user namespace may do
// while it builds the container's mounts in config order: look a bind's
// source up with the runtime's rights (mountsource), and idmap a
// detached bind it made (idmap). Each request names the mount's index in
// the config.

// sendBindSource answers a mountsource request: a bindsource message with
// the source's O_PATH handle, or an error message saying why there is none.
func (c *Container) sendBindSource(init *child, spec *specs.Spec, request string) error {
	index, err := strconv.Atoi(request)
	if err != nil {
		return fmt.Errorf("sync: bad mount index %q from container init", request)
	}
	src, err := rootfs.OpenBindSource(spec, c.State.Bundle, c.State.Rootfs, init.pid, index)
	if err != nil {
		return init.conn.Send(nsenter.KindError, err.Error())
	}
	defer src.Close()
	return init.conn.SendFile(nsenter.KindBindSource, "", src)
}

// idmapForInit answers an idmap request, which came with the detached
// mount: an ack once it is idmapped, or an error message.
func idmapForInit(init *child, idmapper *rootfs.Idmapper, request string, mnt *os.File) error {
	defer mnt.Close()
	index, err := strconv.Atoi(request)
	if err != nil {
		return fmt.Errorf("sync: bad mount index %q from container init", request)
	}
	if err := idmapper.Idmap(index, mnt); err != nil {
		return init.conn.Send(nsenter.KindError, err.Error())
	}
	return init.conn.Send(nsenter.KindAck, "")
}

// askBindSource is the init's side of mountsource.
func askBindSource(conn *nsenter.Conn, index int) (*os.File, error) {
	if err := conn.Send(nsenter.KindMountSource, strconv.Itoa(index)); err != nil {
		return nil, err
	}
	rep, err := conn.Expect(nsenter.KindBindSource)
	if err != nil {
		return nil, err
	}
	return rep.File, nil
}

// askIdmap is the init's side of idmap.
func askIdmap(conn *nsenter.Conn, index int, mnt *os.File) error {
	if err := conn.SendFile(nsenter.KindIdmap, strconv.Itoa(index), mnt); err != nil {
		return err
	}
	_, err := conn.Expect(nsenter.KindAck)
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
