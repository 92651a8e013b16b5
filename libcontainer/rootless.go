package libcontainer

import (
	"errors"
	"fmt"
	"io/fs"
)

// rootlessCgroupError explains a cgroup that could not be created for lack
// of permission when the caller asked for rootless cgroup handling: runc
// would then run the container without a cgroup, which oci-rt, whose
// device filter, kill and delete all work through the cgroup, cannot do.
func rootlessCgroupError(err error, rootless bool) error {
	if rootless && errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w (--rootless: running a container without a cgroup is not supported yet)", err)
	}
	return err
}
