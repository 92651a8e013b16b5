package rootfs

import (
	"os"
	"testing"

	"github.com/oci-rt/oci-rt/cgroups"
)

// BenchmarkCgroup2Mount compares the two ways of giving a container its
// /sys/fs/cgroup: a new cgroup2 filesystem context, and a bind of the
// host's cgroup2 mount. The mount stays detached and is released with the
// timer stopped: releasing any mount waits for an RCU grace period, the
// same for both ways. Back to back, as here, the new mounts hide most of
// the grace period they wait for (see newCgroup2): only the first of
// several lockers close together waits for a whole one. Run as root;
// figures for make bench, no assertions.
func BenchmarkCgroup2Mount(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("mounting needs root")
	}
	opts, err := parseMountOptions([]string{"nosuid", "noexec", "nodev", "relatime", "ro"})
	if err != nil {
		b.Fatal(err)
	}
	mountpoint, err := cgroups.Mountpoint()
	if err != nil {
		b.Skip(err)
	}
	ways := []struct {
		name  string
		mount func() (*os.File, error)
	}{
		{"new", func() (*os.File, error) { return newFilesystem(&Config{}, "cgroup2", "cgroup", opts) }},
		{"bind", func() (*os.File, error) { return bindCgroup2(mountpoint, "/", opts) }},
	}
	for _, way := range ways {
		b.Run(way.name, func(b *testing.B) {
			for range b.N {
				mnt, err := way.mount()
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				mnt.Close()
				b.StartTimer()
			}
		})
	}
}
