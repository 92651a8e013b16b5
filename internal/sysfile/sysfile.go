// Package sysfile reads small files (kernel files under /proc and
// /sys/fs/cgroup, the runtime's state) and opens handles with plain
// system calls.
//
// os.ReadFile and os.Open cost every file more than its open, read and
// close: the *os.File they make tries to register the fd with the Go
// runtime's poller (kernfs files accept, so it is also unregistered at
// close), switches it to non-blocking mode and back, looks up its size
// (os.ReadFile), and sets a finalizer; the first such file also creates
// the poller's epoll instance. A runtime command reads a dozen or more
// such files, each of them once, where none of that serves.
package sysfile

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// ReadFile reads the whole file at path. Its errors are those of
// os.ReadFile: an *os.PathError, so errors.Is(err, os.ErrNotExist) holds
// for a missing file.
func ReadFile(path string) ([]byte, error) { return ReadFileAt(unix.AT_FDCWD, path) }

// ReadFileAt is ReadFile for name relative to the directory open at
// dirFD (or to the working directory for AT_FDCWD).
func ReadFileAt(dirFD int, name string) ([]byte, error) {
	fd, err := openAt(dirFD, name, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer unix.Close(fd)
	data, err := ReadFd(fd)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}

// ReadFd reads fd from its offset to the end.
func ReadFd(fd int) ([]byte, error) {
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// Open opens path with flags (O_CLOEXEC added) as an *os.File outside
// the poller, for handles the runtime keeps or passes on (namespaces,
// O_PATH directories) rather than reads. Its errors are those of
// os.OpenFile.
func Open(path string, flags int) (*os.File, error) {
	fd, err := openAt(unix.AT_FDCWD, path, flags|unix.O_CLOEXEC)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

func openAt(dirFD int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirFD, name, flags, 0)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}
