// Command unixsk holds the unix sockets a checkpoint must carry over: a
// socket pair, and a listening stream socket with a client connected to
// it. Five times a second it sends the count through both connections,
// has the listener accept one more client, and prints the count; at the
// first failure it prints what failed and exits 1. A restored copy that
// goes on counting kept all three sockets working. Given a second path, a
// datagram socket bound there by someone outside, it connects to it once
// and sends it each count too.
//
// The runtime must not keep the cgroup's cpu.max open to follow the
// limit: CRIU would look for the file in the old container's cgroup.

//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	path := "/tmp/unixsk.sock"
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	external := ""
	if len(os.Args) > 2 {
		external = os.Args[2]
	}
	if err := run(path, external); err != nil {
		fmt.Println("unixsk:", err)
		os.Exit(1)
	}
}

func run(path, external string) error {
	ext := -1
	if external != "" {
		var err error
		if ext, err = unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0); err != nil {
			return fmt.Errorf("socket: %w", err)
		}
		if err := unix.Connect(ext, &unix.SockaddrUnix{Name: external}); err != nil {
			return fmt.Errorf("connect %s: %w", external, err)
		}
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return fmt.Errorf("socketpair: %w", err)
	}
	listener, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	addr := &unix.SockaddrUnix{Name: path}
	if err := unix.Bind(listener, addr); err != nil {
		return fmt.Errorf("bind %s: %w", path, err)
	}
	if err := unix.Listen(listener, 4); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	client, server, err := connect(listener, addr)
	if err != nil {
		return err
	}
	for n := uint64(1); ; n++ {
		if err := roundTrip(pair[0], pair[1], n); err != nil {
			return fmt.Errorf("socket pair: %w", err)
		}
		if err := roundTrip(client, server, n); err != nil {
			return fmt.Errorf("connected client: %w", err)
		}
		c, s, err := connect(listener, addr)
		if err != nil {
			return err
		}
		if err := roundTrip(c, s, n); err != nil {
			return fmt.Errorf("new client: %w", err)
		}
		unix.Close(c)
		unix.Close(s)
		if ext >= 0 {
			if _, err := unix.Write(ext, []byte(strconv.FormatUint(n, 10))); err != nil {
				return fmt.Errorf("send to %s: %w", external, err)
			}
		}
		fmt.Println(n)
		time.Sleep(200 * time.Millisecond)
	}
}

// connect makes a client connection to the listener and accepts it.
func connect(listener int, addr *unix.SockaddrUnix) (client, server int, err error) {
	client, err = unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("socket: %w", err)
	}
	if err := unix.Connect(client, addr); err != nil {
		return -1, -1, fmt.Errorf("connect %s: %w", addr.Name, err)
	}
	server, _, err = unix.Accept(listener)
	if err != nil {
		return -1, -1, fmt.Errorf("accept: %w", err)
	}
	return client, server, nil
}

// roundTrip writes n on one end and reads it back on the other.
func roundTrip(from, to int, n uint64) error {
	var out, in [8]byte
	binary.LittleEndian.PutUint64(out[:], n)
	if _, err := unix.Write(from, out[:]); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if got, err := unix.Read(to, in[:]); err != nil || got != len(in) {
		return fmt.Errorf("read %d bytes: %v", got, err)
	}
	if got := binary.LittleEndian.Uint64(in[:]); got != n {
		return fmt.Errorf("read %d, sent %d", got, n)
	}
	return nil
}
