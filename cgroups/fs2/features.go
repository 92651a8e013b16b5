package fs2

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/cgroups/devices"
)

// FeatureSet describes what this host's cgroup setup supports, for
// `oci-rt features`.
type FeatureSet struct {
	Mountpoint string `json:"mountpoint"`
	// Controllers available to cgroups created below the root.
	Controllers []string `json:"controllers"`
	// DeviceFilter: the kernel runs BPF_PROG_TYPE_CGROUP_DEVICE programs.
	DeviceFilter bool `json:"deviceFilter"`
	RDMA         bool `json:"rdma"`
}

// Features probes the host.
func Features() (*FeatureSet, error) {
	mp, err := cgroups.Mountpoint()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(mp, "cgroup.controllers"))
	if err != nil {
		return nil, fmt.Errorf("cgroup features: %w", err)
	}
	f := &FeatureSet{Mountpoint: mp, Controllers: strings.Fields(string(b))}
	f.DeviceFilter = devices.FilterSupported()
	for _, c := range f.Controllers {
		f.RDMA = f.RDMA || c == "rdma"
	}
	return f, nil
}
