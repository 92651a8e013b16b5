package manager

import (
	"os"
	"os/exec"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/cgroups/devices"
	"github.com/oci-rt/oci-rt/cgroups/fs2"
	"github.com/oci-rt/oci-rt/cgroups/internal/cgtest"
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// BenchmarkContainerCgroup measures the cgroup work of one `run` on this
// host with each driver: create, apply a memory/cpu/pids limit and the
// default device rules, move a process in, kill, destroy. On a hybrid host
// the v1 driver does it in every v1 hierarchy plus the unified one, the v2
// driver in the unified hierarchy alone (where only the device filter applies).
func BenchmarkContainerCgroup(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	i, u64 := cgtest.Ptr[int64], cgtest.Ptr[uint64]
	devs := append([]specs.LinuxDeviceCgroup{cgtest.Rule(false, "a", -1, -1, "rwm")}, devices.DefaultAllowedDevices()...)
	parent := "/oci-rt-bench-" + strconv.Itoa(os.Getpid())
	b.Run("v1", func(b *testing.B) {
		if mode, _ := cgroups.HostMode(); mode == cgroups.ModeUnified {
			b.Skip("no v1 hierarchies")
		}
		hier := must(cgroups.V1Hierarchies())
		r := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i(64 << 20)}, CPU: &specs.LinuxCPU{Shares: u64(1024)}, Pids: &specs.LinuxPids{Limit: i(100)}, Devices: devs}
		for n := 0; b.Loop(); n++ {
			id := "c" + strconv.Itoa(n)
			loc := must(cgroups.Resolve("", id, parent+"/"+id))
			benchLifecycle(b, must(Load(loc)), r)
		}
		for _, h := range hier {
			os.Remove(h.Mountpoint + parent)
		}
	})
	b.Run("unified", func(b *testing.B) {
		root, err := cgroups.Mountpoint()
		if err != nil {
			b.Skip(err)
		}
		r := &specs.LinuxResources{Devices: devs}
		for n := 0; b.Loop(); n++ {
			benchLifecycle(b, must(fs2.NewAt(root, parent+"/c"+strconv.Itoa(n))), r)
		}
		os.Remove(root + parent)
	})
}

func benchLifecycle(b *testing.B, m cgroups.Manager, r *specs.LinuxResources) {
	if err := m.Create(); err != nil {
		b.Fatal(err)
	}
	if err := m.Apply(r); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("/bin/true")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	_ = m.Enter(cmd.Process.Pid) // it may have exited already
	_ = cmd.Wait()
	if err := m.Kill(); err != nil {
		b.Fatal(err)
	}
	if err := m.Destroy(); err != nil {
		b.Fatal(err)
	}
}
