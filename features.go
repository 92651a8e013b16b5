package main

import (
	"os"
	"path/filepath"

	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/opencontainers/selinux/go-selinux"
	"github.com/urfave/cli/v2"

	"github.com/oci-rt/oci-rt/cgroups/fs2"
	"github.com/oci-rt/oci-rt/libcontainer"
	"github.com/oci-rt/oci-rt/libcontainer/intelrdt"
	"github.com/oci-rt/oci-rt/libcontainer/proc"
	"github.com/oci-rt/oci-rt/libcontainer/rootfs"
	"github.com/oci-rt/oci-rt/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var featuresCommand = &cli.Command{
	Name:  "features",
	Usage: "print what this runtime supports on this host, as JSON",
	Action: func(ctx *cli.Context) error {
		f := hostFeatures()
		f.Annotations = criuAnnotations(libcontainer.FindCriu(ctx.String("criu")))
		return printJSON(f)
	},
}

// hostFeatures reports only what works here: each list comes from the
// code that implements it, and host-dependent parts are probed.
func hostFeatures() *features.Features {
	yes, no := true, false
	flag := func(b bool) *bool {
		if b {
			return &yes
		}
		return &no
	}
	sc := seccomp.Supported()
	f := &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
		MountOptions:  rootfs.KnownMountOptions(),
		Linux: &features.Linux{
			Namespaces:   []string{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"},
			Capabilities: proc.KnownCapabilities(),
			Seccomp: &features.Seccomp{
				Enabled:        &yes,
				Actions:        sc.Actions,
				Operators:      sc.Operators,
				Archs:          sc.Archs,
				KnownFlags:     sc.Flags,
				SupportedFlags: seccomp.KernelFlags(),
			},
			Apparmor:        &features.Apparmor{Enabled: flag(proc.AppArmorEnabled())},
			Selinux:         &features.Selinux{Enabled: flag(selinux.GetEnabled())},
			IntelRdt:        intelRdtFeatures(),
			NetDevices:      &features.NetDevices{Enabled: &yes},
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &yes}},
		},
	}
	modes, mpolFlags := proc.SupportedMemoryPolicy()
	f.Linux.MemoryPolicy = &features.MemoryPolicy{Modes: modes, Flags: mpolFlags}
	cg := &features.Cgroup{V1: &no, V2: &yes, Systemd: &yes, SystemdUser: &no}
	if fs, err := fs2.Features(); err == nil {
		cg.Rdma = flag(fs.RDMA)
	} else {
		cg.V2 = &no
	}
	f.Linux.Cgroup = cg
	return f
}

// criuAnnotations say, under runc's key, whether checkpoint and restore
// work here, and which CRIU they would use. runc always claims they do;
// we ask the installed CRIU (a missing or too old one cannot).
func criuAnnotations(_ string, version int, err error) map[string]string {
	if err != nil {
		return map[string]string{checkpointAnnotation: "false"}
	}
	return map[string]string{
		checkpointAnnotation:  "true",
		criuVersionAnnotation: libcontainer.FormatCriuVersion(version),
	}
}

const (
	checkpointAnnotation  = "org.opencontainers.runc.checkpoint.enabled"
	criuVersionAnnotation = "org.criu.version"
)

// intelRdtFeatures reports resctrl as this host mounts it: schemata are
// written when it is there, monitoring groups made when it offers them.
func intelRdtFeatures() *features.IntelRdt {
	root, err := intelrdt.FindRoot("/proc/self/mountinfo")
	enabled := err == nil
	_, monErr := os.Stat(filepath.Join(root, "info", "L3_MON"))
	monitoring := enabled && monErr == nil
	return &features.IntelRdt{Enabled: &enabled, Schemata: &enabled, Monitoring: &monitoring}
}
