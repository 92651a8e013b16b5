package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Bounds on waiting for the kernel: freezing needs every task to reach a
// freezable point, and rmdir fails with EBUSY until exiting tasks are gone.
// Both normally take milliseconds; the bounds only stop a wedged task from
// hanging the runtime forever.
const (
	FreezeTimeout  = 10 * time.Second
	DestroyTimeout = 10 * time.Second
)

// WriteFile does a single write(2): cgroup files parse one value per write,
// and a missing file must be an error (never created), so os.WriteFile is
// not usable. label names the cgroup in the error.
func WriteFile(dir, name, value, label string) error {
	dirFD, target := At(filepath.Join(dir, name))
	return WriteFileAt(dirFD, target, value, label)
}

// WriteFileAt is WriteFile for name relative to the directory open at
// dirFD (or to the working directory for AT_FDCWD).
func WriteFileAt(dirFD int, name, value, label string) error {
	fd, err := unix.Openat(dirFD, name, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
	if err == nil {
		_, err = unix.Write(fd, []byte(value))
		unix.Close(fd)
	}
	if err != nil {
		return fmt.Errorf("cgroup %s: write %q to %s: %w", label, value, filepath.Base(name), err)
	}
	return nil
}

// KeyValues parses flat-keyed files such as cgroup.events and memory.events.
func KeyValues(s string) map[string]string {
	kv := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok {
			kv[k] = strings.TrimSpace(v)
		}
	}
	return kv
}

// FlatUints parses "key value" lines with numeric values.
func FlatUints(s string) map[string]uint64 {
	out := map[string]uint64{}
	for k, v := range KeyValues(s) {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
}

// PidsBelow lists the processes in the cgroup at dir and its descendants.
func PidsBelow(dir, label string) ([]int, error) {
	pids, err := pidsBelow(dir, nil, true)
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: list processes: %w", label, err)
	}
	return pids, nil
}

// pidsBelow appends to pids those of the cgroup at dir and of the
// cgroups below it. A sub-cgroup (not top) removed meanwhile is no error.
func pidsBelow(dir string, pids []int, top bool) ([]int, error) {
	gone := func(err error) bool { return !top && errors.Is(err, fs.ErrNotExist) }
	b, err := ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		if gone(err) {
			return pids, nil
		}
		return nil, err
	}
	for _, f := range bytes.Fields(b) {
		pid, err := strconv.Atoi(string(f))
		if err != nil {
			return nil, fmt.Errorf("%s/cgroup.procs: %w", dir, err)
		}
		pids = append(pids, pid)
	}
	entries, err := ReadDir(dir)
	if err != nil {
		if gone(err) {
			return pids, nil
		}
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() {
			if pids, err = pidsBelow(filepath.Join(dir, e.Name()), pids, false); err != nil {
				return nil, err
			}
		}
	}
	return pids, nil
}

// RemoveTree removes the cgroup at dir and all its descendants, deepest
// first. A missing cgroup is not an error. rmdir is retried while it fails
// with EBUSY, which it does for a short while after the last process was
// killed, until deadline.
func RemoveTree(dir string, deadline time.Time) error {
	// A container's cgroup rarely has children: one rmdir spares reading
	// the directory, a cgroup's dozens of files, for each hierarchy.
	if err := Rmdir(dir); err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	entries, err := ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := RemoveTree(filepath.Join(dir, e.Name()), deadline); err != nil {
				return err
			}
		}
	}
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := Rmdir(dir)
		switch {
		case err == nil, errors.Is(err, unix.ENOENT):
			return nil
		case !errors.Is(err, unix.EBUSY) || time.Now().After(deadline):
			return fmt.Errorf("rmdir %s: %w", dir, err)
		}
		time.Sleep(delay)
	}
}

// ParseSubCgroup splits runc's --cgroup value into the named controllers
// (none: every hierarchy) and a relative path without "." or "..".
func ParseSubCgroup(sub string) ([]string, string, error) {
	var ctrls []string
	rel := sub
	if c, r, ok := strings.Cut(sub, ":"); ok {
		rel = r
		if c != "" {
			ctrls = strings.Split(c, ",")
		}
	}
	clean := path.Clean("/" + rel)
	if clean != "/"+strings.Trim(rel, "/") || clean == "/" {
		return nil, "", fmt.Errorf("--cgroup %q: must be a relative path below the container's cgroup, without dot components", sub)
	}
	return ctrls, strings.TrimPrefix(clean, "/"), nil
}
