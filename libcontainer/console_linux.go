package libcontainer

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/libcontainer/rootfs"
)

// ptmxRdev is the device number of every devpts instance's ptmx node.
var ptmxRdev = unix.Mkdev(5, 2)

// setupConsole opens a pty in the container's devpts, sends the master to
// the console socket, and makes the slave the process's stdio and
// controlling terminal. The slave is reached through the master
// (TIOCGPTPEER), never by a path the container could have planted
// (CVE-2025-52565). The container's init also gets it as /dev/console and
// its controlling terminal; an exec'd process is still to be started and
// takes the terminal itself, as the leader of its own session.
func setupConsole(cfg *initConfig, isInit bool) error {
	if cfg.ConsoleSocketFD == 0 {
		return fmt.Errorf("terminal requested but no console socket given")
	}
	socket := os.NewFile(uintptr(cfg.ConsoleSocketFD), "console-socket")
	defer socket.Close()
	slave, err := openTerminal(socket, cfg.Spec.Process.ConsoleSize)
	if err != nil {
		return err
	}
	defer slave.Close()
	if isInit {
		if err := rootfs.MountConsole(slave); err != nil {
			return err
		}
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(int(slave.Fd()), fd, 0); err != nil {
			return fmt.Errorf("make the pty stdio: %w", err)
		}
	}
	// An init that starts the container's process itself (in a pid
	// namespace it joins late) leaves the terminal to that process too: a
	// terminal can be the controlling one of one session only.
	if !isInit || cfg.ExecPidNSFD != 0 || cfg.SetupOnly {
		return nil
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("make the pty the controlling terminal: %w", err)
	}
	return nil
}

// openTerminal opens a pty in the devpts at /dev/pts of this thread's
// root, sized as size says, sends its master to the console socket and
// returns its slave, reached through the master, never by a path the
// container could have planted.
func openTerminal(socket *os.File, size *specs.Box) (*os.File, error) {
	master, err := os.OpenFile("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	defer master.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(master.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != ptmxRdev {
		return nil, fmt.Errorf("/dev/ptmx in the container is not a pty multiplexer")
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return nil, fmt.Errorf("unlock pty: %w", err)
	}
	// TIOCGPTPEER's argument is the open flags of the slave: without
	// O_RDWR it is read-only and the process cannot write to its terminal.
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, master.Fd(), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return nil, fmt.Errorf("open pty slave: %w", errno)
	}
	slave := os.NewFile(r, "pty-slave")
	if size != nil {
		ws := &unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)}
		if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, ws); err != nil {
			slave.Close()
			return nil, fmt.Errorf("set console size: %w", err)
		}
	}
	if err := unix.Sendmsg(int(socket.Fd()), []byte("/dev/ptmx"), unix.UnixRights(int(master.Fd())), nil, 0); err != nil {
		slave.Close()
		return nil, fmt.Errorf("send pty master to the console socket: %w", err)
	}
	return slave, nil
}

// devNullRdev is /dev/null's device number.
var devNullRdev = unix.Mkdev(1, 3)

// handStdioToUser makes the process's user the owner of its stdio (the pty
// included), as runc does: a process that is not root must be able to
// reopen /dev/stdout or change its terminal's modes. Only the owner
// changes; the group stays the one devpts or the caller gave. An fd whose
// owner is not mapped into the container, or on a read-only filesystem,
// is left alone rather than failing the process.
func handStdioToUser(uid uint32) error {
	for fd := 0; fd < 3; fd++ {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			if errors.Is(err, unix.EBADF) {
				continue
			}
			return fmt.Errorf("stat stdio fd %d: %w", fd, err)
		}
		if st.Uid == uid || (st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == devNullRdev) {
			continue
		}
		err := unix.Fchown(fd, int(uid), int(st.Gid))
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS) {
			continue
		}
		if err != nil {
			return fmt.Errorf("hand stdio fd %d to uid %d: %w", fd, uid, err)
		}
	}
	return nil
}

// ReceiveConsole reads the pty master that init sends over a console
// socket the runtime holds itself (foreground run and exec with -t).
func ReceiveConsole(sock *os.File) (*os.File, error) {
	// The payload is the pty's name, which nobody needs.
	return receiveFD(sock, make([]byte, 4096), "pty master")
}

// receiveFD reads one message into payload that must carry exactly one fd
// (SCM_RIGHTS); what names the fd in errors.
func receiveFD(sock *os.File, payload []byte, what string) (*os.File, error) {
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), payload, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("receive %s: %w", what, err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("receive %s: no fd in the message", what)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receive %s: want exactly one fd", what)
	}
	return os.NewFile(uintptr(fds[0]), what), nil
}
