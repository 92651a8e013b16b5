package cgroups

import (
	"errors"
	"io/fs"
	"strconv"
)

// Stats is what `events --stats` reports. The JSON field names and
// omitempty choices follow runc's events types so that engines parsing
// runc's output (containerd's go-runc, Docker) read ours unchanged.
type Stats struct {
	CPU     CPU                `json:"cpu"`
	Memory  Memory             `json:"memory"`
	Pids    Pids               `json:"pids"`
	Blkio   Blkio              `json:"blkio"`
	Hugetlb map[string]Hugetlb `json:"hugetlb"`
}

// CPUUsage times are in nanoseconds.
type CPUUsage struct {
	Total        uint64   `json:"total,omitempty"`
	Percpu       []uint64 `json:"percpu,omitempty"`
	PercpuKernel []uint64 `json:"percpu_kernel,omitempty"`
	PercpuUser   []uint64 `json:"percpu_user,omitempty"`
	Kernel       uint64   `json:"kernel"`
	User         uint64   `json:"user"`
}

// Throttling is how often the CFS quota held the cgroup back.
type Throttling struct {
	Periods          uint64 `json:"periods,omitempty"`
	ThrottledPeriods uint64 `json:"throttledPeriods,omitempty"`
	ThrottledTime    uint64 `json:"throttledTime,omitempty"` // nanoseconds
}

// CPU is the cgroup's CPU use, in runc's stats shape.
type CPU struct {
	Usage      CPUUsage   `json:"usage,omitempty"`
	Throttling Throttling `json:"throttling,omitempty"`
	PSI        *PSI       `json:"psi,omitempty"`
}

// MemoryEntry is one memory counter and its limit; Limit is math.MaxUint64 when unlimited, as in runc.
type MemoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// Memory is the cgroup's memory use, in runc's stats shape.
type Memory struct {
	Cache uint64      `json:"cache,omitempty"`
	Usage MemoryEntry `json:"usage,omitempty"`
	// Swap is memory+swap, the v1 meaning engines expect (runc does the same).
	Swap      MemoryEntry       `json:"swap,omitempty"`
	Kernel    MemoryEntry       `json:"kernel,omitempty"`
	KernelTCP MemoryEntry       `json:"kernelTCP,omitempty"`
	Raw       map[string]uint64 `json:"raw,omitempty"`
	PSI       *PSI              `json:"psi,omitempty"`
}

// Pids counts the cgroup's tasks; Limit 0 means unlimited (runc's convention).
type Pids struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

// BlkioEntry is one block-I/O counter of one device and operation.
type BlkioEntry struct {
	Major uint64 `json:"major,omitempty"`
	Minor uint64 `json:"minor,omitempty"`
	Op    string `json:"op,omitempty"`
	Value uint64 `json:"value,omitempty"`
}

// Blkio is the cgroup's block I/O, in runc's stats shape.
type Blkio struct {
	IoServiceBytesRecursive []BlkioEntry `json:"ioServiceBytesRecursive,omitempty"`
	IoServicedRecursive     []BlkioEntry `json:"ioServicedRecursive,omitempty"`
	IoQueuedRecursive       []BlkioEntry `json:"ioQueueRecursive,omitempty"`
	IoServiceTimeRecursive  []BlkioEntry `json:"ioServiceTimeRecursive,omitempty"`
	IoWaitTimeRecursive     []BlkioEntry `json:"ioWaitTimeRecursive,omitempty"`
	IoMergedRecursive       []BlkioEntry `json:"ioMergedRecursive,omitempty"`
	IoTimeRecursive         []BlkioEntry `json:"ioTimeRecursive,omitempty"`
	SectorsRecursive        []BlkioEntry `json:"sectorsRecursive,omitempty"`
	PSI                     *PSI         `json:"psi,omitempty"`
}

// Hugetlb is the use of one huge page size.
type Hugetlb struct {
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// PSIData is one line of a pressure stall file.
type PSIData struct {
	Avg10  float64 `json:"avg10"`
	Avg60  float64 `json:"avg60"`
	Avg300 float64 `json:"avg300"`
	Total  uint64  `json:"total"`
}

// PSI is a resource's pressure stall information.
type PSI struct {
	Some PSIData `json:"some,omitempty"`
	Full PSIData `json:"full,omitempty"`
}

// PidsStats reads the pids controller's counters, the same files on v1
// and v2, through read (a missing file or controller is an error wrapping
// fs.ErrNotExist). Without the controller it counts the processes pids
// lists, so that a process count shows on every host.
func PidsStats(read func(file string) (string, error), pids func() ([]int, error)) (Pids, error) {
	cur, err := read("pids.current")
	if errors.Is(err, fs.ErrNotExist) {
		ps, err := pids()
		if err != nil {
			return Pids{}, err
		}
		return Pids{Current: uint64(len(ps))}, nil
	}
	if err != nil {
		return Pids{}, err
	}
	var p Pids
	p.Current, _ = strconv.ParseUint(cur, 10, 64)
	limit, err := read("pids.max")
	if err != nil {
		return Pids{}, err
	}
	if limit != "max" {
		p.Limit, _ = strconv.ParseUint(limit, 10, 64)
	}
	return p, nil
}
