package rootfs

import "github.com/opencontainers/selinux/go-selinux"

// unlabeledFilesystems take their SELinux context from the kernel's policy
// and refuse a context= option, so runc does not label them either.
var unlabeledFilesystems = map[string]bool{"proc": true, "sysfs": true, "mqueue": true, "cgroup2": true}

// withMountLabel adds linux.mountLabel to a new filesystem's data, so that
// every file the container sees on it carries the container's file label.
// Validation refuses the label up front where SELinux is disabled.
func withMountLabel(data []string, fsType, mountLabel string) []string {
	if mountLabel == "" || unlabeledFilesystems[fsType] || !selinux.GetEnabled() {
		return data
	}
	return append(append([]string(nil), data...), "context="+mountLabel)
}
