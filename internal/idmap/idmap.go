// Package idmap reads a user namespace's id map as the kernel shows it in
// /proc/PID/uid_map and gid_map: lines of "inside outside count".
package idmap

import (
	"fmt"
	"strconv"
	"strings"
)

// Outside is the id that id of the namespace maps to outside it, by the
// text m of its uid_map or gid_map, and whether a line maps it. A line
// that is not three ids fails: the kernel writes none.
func Outside(m string, id uint32) (outside uint32, mapped bool, err error) {
	for _, line := range strings.Split(m, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 3 {
			return 0, false, fmt.Errorf("bad id map line %q", line)
		}
		var n [3]uint64
		for i, f := range fields {
			if n[i], err = strconv.ParseUint(f, 10, 32); err != nil {
				return 0, false, fmt.Errorf("bad id map line %q", line)
			}
		}
		if uint64(id) >= n[0] && uint64(id)-n[0] < n[2] {
			return uint32(n[1] + uint64(id) - n[0]), true, nil
		}
	}
	return 0, false, nil
}
