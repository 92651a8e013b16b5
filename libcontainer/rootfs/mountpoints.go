package rootfs

import (
	"fmt"
	"os"
	"path"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// CreateMountpoints makes, in the rootfs at rootfsPath, the destinations
// of the config's mounts that lie in the rootfs itself, as Setup does for
// a new container: CRIU mounts a restored container's mounts again and
// needs every mountpoint to exist, and a fresh copy of the image (an
// engine restoring into a new container) lacks those the runtime made,
// such as an engine's /etc/hosts. A bind of anything but a directory gets
// a file. A destination below another mount comes with that mount (sysfs,
// a tmpfs CRIU fills again, a bind's source): creating it would write
// under the mount instead, or into the host's source.
func CreateMountpoints(rootfsPath, bundle string, spec *specs.Spec) error {
	root, err := OpenRoot(rootfsPath)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, m := range spec.Mounts {
		dest := path.Clean("/" + m.Destination)
		if belowOtherMount(dest, spec.Mounts) {
			continue
		}
		kind := targetDir
		if IsBindMount(m) {
			if st, err := os.Stat(bindSourcePath(bundle, m.Source)); err == nil && !st.IsDir() {
				kind = targetFile
			}
		}
		target, err := ensureTarget(root, dest, kind)
		if err != nil {
			return fmt.Errorf("mountpoint %s: %w", m.Destination, err)
		}
		target.Close()
	}
	return nil
}

// belowOtherMount tells whether dest lies strictly below the destination
// of one of mounts.
func belowOtherMount(dest string, mounts []specs.Mount) bool {
	for _, m := range mounts {
		other := path.Clean("/" + m.Destination)
		if other != dest && (other == "/" || len(dest) > len(other) && dest[:len(other)] == other && dest[len(other)] == '/') {
			return true
		}
	}
	return false
}
