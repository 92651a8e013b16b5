// Package idmap reads a user namespace's id map as the kernel shows it in
// /proc/PID/uid_map and gid_map: lines of "inside outside count".
package idmap

import (
	"fmt"
	"strconv"
	"strings"
)

// line is one range of a map: count ids from inside map to those from
// outside.
type line struct{ inside, outside, count uint64 }

// parse reads the lines of map text m. A line that is not three ids
// fails: the kernel writes none.
func parse(m string) ([]line, error) {
	var lines []line
	for _, text := range strings.Split(m, "\n") {
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 3 {
			return nil, fmt.Errorf("bad id map line %q", text)
		}
		var n [3]uint64
		for i, f := range fields {
			var err error
			if n[i], err = strconv.ParseUint(f, 10, 32); err != nil {
				return nil, fmt.Errorf("bad id map line %q", text)
			}
		}
		lines = append(lines, line{n[0], n[1], n[2]})
	}
	return lines, nil
}

// Outside is the id that id of the namespace maps to outside it, by the
// text m of its uid_map or gid_map, and whether a line maps it.
func Outside(m string, id uint32) (outside uint32, mapped bool, err error) {
	lines, err := parse(m)
	if err != nil {
		return 0, false, err
	}
	for _, l := range lines {
		if uint64(id) >= l.inside && uint64(id)-l.inside < l.count {
			return uint32(l.outside + uint64(id) - l.inside), true, nil
		}
	}
	return 0, false, nil
}

// FirstUnmapped is the first of the count ids from start that no line of
// the map text m has inside its namespace, and whether there is one: a
// process in that namespace can name only the ids it has, in a map it
// writes for a namespace of its own too.
func FirstUnmapped(m string, start, count uint32) (id uint32, unmapped bool, err error) {
	lines, err := parse(m)
	if err != nil {
		return 0, false, err
	}
	next, end := uint64(start), uint64(start)+uint64(count)
	for next < end {
		covered := false
		for _, l := range lines {
			if next >= l.inside && next-l.inside < l.count {
				next, covered = l.inside+l.count, true
				break
			}
		}
		if !covered {
			return uint32(next), true, nil
		}
	}
	return 0, false, nil
}
