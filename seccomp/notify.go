package seccomp

import (
	"encoding/json"
	"fmt"
	"net"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SendListener hands a notify listener to the seccomp agent at
// listenerPath, as runtime-spec's "seccomp notify" describes: one message
// whose payload is the JSON container process state and whose SCM_RIGHTS
// carry the fds named in state.Fds (here the listener, "seccompFd").
func SendListener(listenerPath string, listenerFd int, state specs.ContainerProcessState) error {
	if state.Version == "" {
		state.Version = specs.Version
	}
	state.Fds = []string{specs.SeccompFdName}
	payload, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("seccomp: encoding state for %s: %w", listenerPath, err)
	}
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: listenerPath, Net: "unix"})
	if err != nil {
		return fmt.Errorf("failed to connect with seccomp agent specified in the seccomp profile: %w", err)
	}
	defer conn.Close()
	oob := unix.UnixRights(listenerFd)
	n, oobn, err := conn.WriteMsgUnix(payload, oob, nil)
	if err != nil {
		return fmt.Errorf("seccomp: sending listener fd to %s: %w", listenerPath, err)
	}
	if n != len(payload) || oobn != len(oob) {
		return fmt.Errorf("seccomp: short write to %s (%d of %d bytes)", listenerPath, n, len(payload))
	}
	return nil
}
