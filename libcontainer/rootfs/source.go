package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// bindSourcePath makes a relative bind source relative to the bundle, as
// runc does.
func bindSourcePath(bundle, source string) string {
	if filepath.IsAbs(source) {
		return filepath.Clean(source)
	}
	return filepath.Join(bundle, source)
}

// belowRootfs returns source's path below rootfs, or false when source
// lies outside it.
func belowRootfs(rootfs, source string) (string, bool) {
	rel, err := filepath.Rel(rootfs, source)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return rel, true
}

// OpenBindSource runs in the parent, in the host's user namespace, while
// the init (pid) sets the container's mounts up: it opens the source of
// spec mount index as an O_PATH handle the init can clone. The lookup uses
// the runtime's own rights, so that a source the container's root may not
// reach still mounts, as with runc; and it runs in the init's mount
// namespace through its root, so that it sees the mounts made before it.
// A source inside the rootfs resolves inside it: the image's symlinks
// cannot lead out. Magic links (/proc/self/...) are refused as sources.
func OpenBindSource(spec *specs.Spec, bundle, rootfs string, pid, index int) (*os.File, error) {
	if index < 0 || index >= len(spec.Mounts) {
		return nil, fmt.Errorf("bind source: no mount %d in the config", index)
	}
	nsRoot, err := os.OpenFile(fmt.Sprintf("/proc/%d/root", pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("bind source: open the container's mount namespace: %w", err)
	}
	defer nsRoot.Close()
	source := bindSourcePath(bundle, spec.Mounts[index].Source)
	rel, inside := belowRootfs(rootfs, source)
	if !inside {
		return openInRoot(nsRoot, source, unix.O_PATH, 0)
	}
	rootfsDir, err := openInRoot(nsRoot, rootfs, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	defer rootfsDir.Close()
	return openInRoot(rootfsDir, rel, unix.O_PATH, 0)
}

// cloneBindSource makes the detached copy of a bind's source. Without a
// user namespace the init looks the source up itself: one inside the
// rootfs through root, the container's view with the mounts made so far.
func cloneBindSource(cfg *Config, root *os.File, index int, m specs.Mount, recursive bool) (*os.File, error) {
	if cfg.OpenSource == nil {
		source := bindSourcePath(cfg.Bundle, m.Source)
		rel, inside := belowRootfs(cfg.Rootfs, source)
		if !inside {
			return cloneTree(unix.AT_FDCWD, source, recursive)
		}
		src, err := openInRoot(root, rel, unix.O_PATH, 0)
		if err != nil {
			return nil, err
		}
		defer src.Close()
		return cloneTree(int(src.Fd()), "", recursive)
	}
	src, err := cfg.OpenSource(index)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return cloneTree(int(src.Fd()), "", recursive)
}
