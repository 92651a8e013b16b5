package libcontainer

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"runtime"
	"sort"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// NetDevice is a host network device lent to a container: its name on the
// host and in the container.
type NetDevice struct {
	HostName      string `json:"hostName"`
	ContainerName string `json:"containerName"`
}

// lendNetDevices moves linux.netDevices into the network namespace of the
// init at pid, renamed as configured, recording them first so that delete
// gives back whatever was moved.
func lendNetDevices(lock *Lock, st *State, spec *specs.Spec, pid int) error {
	if len(spec.Linux.NetDevices) == 0 {
		return nil
	}
	hostNames := make([]string, 0, len(spec.Linux.NetDevices))
	for name := range spec.Linux.NetDevices {
		hostNames = append(hostNames, name)
	}
	sort.Strings(hostNames)
	for _, hostName := range hostNames {
		dev := NetDevice{HostName: hostName, ContainerName: spec.Linux.NetDevices[hostName].Name}
		if dev.ContainerName == "" {
			dev.ContainerName = hostName
		}
		link, err := net.InterfaceByName(hostName)
		if err != nil {
			return fmt.Errorf("linux.netDevices: host device %s: %w", hostName, err)
		}
		st.NetDevices = append(st.NetDevices, dev)
		if err := lock.Save(st); err != nil {
			return err
		}
		if err := moveLink(link.Index, unix.IFLA_NET_NS_PID, uint32(pid), dev.ContainerName); err != nil {
			return fmt.Errorf("linux.netDevices: move %s into the container as %s: %w", hostName, dev.ContainerName, err)
		}
	}
	return nil
}

// returnNetDevices moves the lent devices from the container's network
// namespace (that of the live init, by its pidfd, so a reused pid cannot
// redirect it) back to ours under their host names. Once the namespace is
// gone there is nothing to give back: the kernel returns physical devices
// itself and destroys virtual ones.
func returnNetDevices(st *State, initPidfd int) error {
	if len(st.NetDevices) == 0 {
		return nil
	}
	host, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return err
	}
	defer host.Close()

	// Only this thread enters the container's namespace, and it leaves
	// again before it is unlocked; one that cannot leave dies with the
	// goroutine instead of running other code in the wrong namespace.
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(initPidfd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter the container's network namespace: %w", err)
			return
		}
		err := giveBack(st.NetDevices, int(host.Fd()))
		if backErr := unix.Setns(int(host.Fd()), unix.CLONE_NEWNET); backErr != nil {
			errc <- fmt.Errorf("leave the container's network namespace: %w", backErr)
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// giveBack runs in the container's network namespace.
func giveBack(devices []NetDevice, hostNS int) error {
	for _, dev := range devices {
		link, err := net.InterfaceByName(dev.ContainerName)
		if err != nil {
			// Not moved yet when create failed, or the container renamed or
			// removed it: nothing of ours to return.
			continue
		}
		if err := moveLink(link.Index, unix.IFLA_NET_NS_FD, uint32(hostNS), dev.HostName); err != nil {
			return fmt.Errorf("return network device %s to the host as %s: %w", dev.ContainerName, dev.HostName, err)
		}
	}
	return nil
}

// moveLink asks the kernel (rtnetlink, in the calling thread's network
// namespace) to move the link with index into the namespace named by
// nsAttr (IFLA_NET_NS_PID or IFLA_NET_NS_FD) and value, under name there.
func moveLink(index int, nsAttr uint16, value uint32, name string) error {
	sock, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	defer unix.Close(sock)
	if err := unix.Bind(sock, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink bind: %w", err)
	}
	msg := setLinkMessage(index, nsAttr, value, name)
	if err := unix.Sendto(sock, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	return readAck(sock)
}

// setLinkMessage is an RTM_NEWLINK request for an existing link: an
// ifinfomsg naming it by index, then the namespace and name attributes.
func setLinkMessage(index int, nsAttr uint16, value uint32, name string) []byte {
	ns := make([]byte, 4)
	binary.NativeEndian.PutUint32(ns, value)
	body := make([]byte, unix.SizeofIfInfomsg)
	info := (*unix.IfInfomsg)(unsafe.Pointer(&body[0]))
	info.Family = unix.AF_UNSPEC
	info.Index = int32(index)
	body = appendAttr(body, nsAttr, ns)
	body = appendAttr(body, unix.IFLA_IFNAME, append([]byte(name), 0))
	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	hdr := (*unix.NlMsghdr)(unsafe.Pointer(&msg[0]))
	hdr.Len = uint32(unix.SizeofNlMsghdr + len(body))
	hdr.Type = unix.RTM_NEWLINK
	hdr.Flags = unix.NLM_F_REQUEST | unix.NLM_F_ACK
	hdr.Seq = 1
	return append(msg, body...)
}

func appendAttr(b []byte, typ uint16, data []byte) []byte {
	attr := make([]byte, unix.SizeofRtAttr)
	binary.NativeEndian.PutUint16(attr[0:2], uint16(unix.SizeofRtAttr+len(data)))
	binary.NativeEndian.PutUint16(attr[2:4], typ)
	b = append(append(b, attr...), data...)
	for len(b)%unix.NLMSG_ALIGNTO != 0 {
		b = append(b, 0)
	}
	return b
}

// readAck reads the kernel's answer to a request sent with NLM_F_ACK: an
// NLMSG_ERROR whose error is 0 on success or a negative errno.
func readAck(sock int) error {
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(sock, buf, 0)
	if err != nil {
		return fmt.Errorf("netlink receive: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return fmt.Errorf("netlink reply: %w", err)
	}
	for _, m := range msgs {
		if m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4 {
			continue
		}
		if errno := int32(binary.NativeEndian.Uint32(m.Data[:4])); errno != 0 {
			return unix.Errno(-errno)
		}
		return nil
	}
	return fmt.Errorf("netlink: no acknowledgement in reply")
}
