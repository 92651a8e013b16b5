package cgroups

import (
	"bytes"

	"github.com/oci-rt/oci-rt/internal/sysfile"
)

// InUserNamespace tells whether this process runs in a user namespace
// other than the host's, whose uid map covers every id from 0.
func InUserNamespace() bool {
	data, err := sysfile.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	fields := bytes.Fields(data)
	hostMap := len(fields) == 3 && string(fields[0]) == "0" && string(fields[1]) == "0" && string(fields[2]) == "4294967295"
	return !hostMap
}
