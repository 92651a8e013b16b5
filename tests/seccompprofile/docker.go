// Package seccompprofile gives tests Docker's default seccomp profile in
// runtime-spec form, as the Docker engine hands it to the runtime.
package seccompprofile

import (
	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultCaps is Docker's default capability set; the profile's
// capability-gated rules (mount, unshare, ...) are those of a container
// holding exactly these.
var DefaultCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}

// DockerDefault is Docker's default profile for a container with
// DefaultCaps.
func DockerDefault() (*specs.LinuxSeccomp, error) {
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: DefaultCaps}}}
	return mobyseccomp.GetDefaultProfile(rs)
}
