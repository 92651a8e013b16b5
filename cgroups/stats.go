package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
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

// Stats reads the cgroup's statistics. Sections whose controller is not
// enabled are left empty rather than failing, so that stats work on a
// partially delegated hierarchy; the process count is then taken from
// cgroup.procs.
func (m *Unified) Stats() (*Stats, error) {
	s := &Stats{Hugetlb: map[string]Hugetlb{}}
	for _, f := range []func(*Stats) error{m.cpuStats, m.memoryStats, m.pidsStats, m.ioStats, m.hugetlbStats} {
		if err := f(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// readOptional reads a file that may legitimately be absent (controller not
// enabled, older kernel): absent gives "", false and no error.
func (m *Unified) readOptional(name string) (string, bool, error) {
	s, err := m.read(name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	return s, err == nil, err
}

// flatUints parses "key value" lines.
func flatUints(s string) map[string]uint64 {
	out := map[string]uint64{}
	for k, v := range keyValues(s) {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
}

// parseLimit reads a limit file's value, "max" being unlimited.
func parseLimit(s string) uint64 {
	if s == "max" {
		return math.MaxUint64
	}
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

func (m *Unified) psi(name string) (*PSI, error) {
	s, ok, err := m.readOptional(name)
	if !ok {
		return nil, err
	}
	p := &PSI{}
	for _, line := range strings.Split(s, "\n") {
		kind, rest, _ := strings.Cut(line, " ")
		d := &p.Some
		if kind == "full" {
			d = &p.Full
		}
		for _, field := range strings.Fields(rest) {
			k, v, _ := strings.Cut(field, "=")
			switch k {
			case "avg10":
				d.Avg10, _ = strconv.ParseFloat(v, 64)
			case "avg60":
				d.Avg60, _ = strconv.ParseFloat(v, 64)
			case "avg300":
				d.Avg300, _ = strconv.ParseFloat(v, 64)
			case "total":
				d.Total, _ = strconv.ParseUint(v, 10, 64)
			}
		}
	}
	return p, nil
}

func (m *Unified) cpuStats(s *Stats) error {
	raw, ok, err := m.readOptional("cpu.stat")
	if !ok {
		return err
	}
	kv := flatUints(raw)
	// cpu.stat is in microseconds, runc's fields in nanoseconds.
	s.CPU.Usage = CPUUsage{Total: kv["usage_usec"] * 1000, User: kv["user_usec"] * 1000, Kernel: kv["system_usec"] * 1000}
	s.CPU.Throttling = Throttling{Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledTime: kv["throttled_usec"] * 1000}
	s.CPU.PSI, err = m.psi("cpu.pressure")
	return err
}

// memoryEntry fills usage, limit, peak and failcnt from
// memory.<prefix>current/max/peak/events.
func (m *Unified) memoryEntry(prefix string) (MemoryEntry, bool, error) {
	var e MemoryEntry
	cur, ok, err := m.readOptional(prefix + "current")
	if !ok {
		return e, false, err
	}
	e.Usage, _ = strconv.ParseUint(cur, 10, 64)
	e.Limit = math.MaxUint64
	if v, ok, err := m.readOptional(prefix + "max"); err != nil {
		return e, false, err
	} else if ok {
		e.Limit = parseLimit(v)
	}
	if v, ok, err := m.readOptional(prefix + "peak"); err != nil {
		return e, false, err
	} else if ok {
		e.Max, _ = strconv.ParseUint(v, 10, 64)
	}
	if v, ok, err := m.readOptional(prefix + "events"); err != nil {
		return e, false, err
	} else if ok {
		e.Failcnt = flatUints(v)["max"]
	}
	return e, true, nil
}

func (m *Unified) memoryStats(s *Stats) error {
	raw, ok, err := m.readOptional("memory.stat")
	if !ok {
		return err
	}
	s.Memory.Raw = flatUints(raw)
	s.Memory.Cache = s.Memory.Raw["file"]
	if s.Memory.Usage, _, err = m.memoryEntry("memory."); err != nil {
		return err
	}
	swap, ok, err := m.memoryEntry("memory.swap.")
	if err != nil {
		return err
	}
	if ok {
		swap.Usage += s.Memory.Usage.Usage
		if swap.Limit != math.MaxUint64 && s.Memory.Usage.Limit != math.MaxUint64 {
			swap.Limit += s.Memory.Usage.Limit
		} else {
			swap.Limit = math.MaxUint64
		}
		s.Memory.Swap = swap
	}
	s.Memory.PSI, err = m.psi("memory.pressure")
	return err
}

func (m *Unified) pidsStats(s *Stats) error {
	cur, ok, err := m.readOptional("pids.current")
	if err != nil {
		return err
	}
	if !ok {
		pids, err := m.Pids()
		if err != nil {
			return err
		}
		s.Pids.Current = uint64(len(pids))
		return nil
	}
	s.Pids.Current, _ = strconv.ParseUint(cur, 10, 64)
	if limit, err := m.read("pids.max"); err != nil {
		return err
	} else if limit != "max" {
		s.Pids.Limit, _ = strconv.ParseUint(limit, 10, 64)
	}
	return nil
}

func (m *Unified) ioStats(s *Stats) error {
	raw, ok, err := m.readOptional("io.stat")
	if err != nil {
		return err
	}
	if ok {
		s.Blkio = parseIOStat(raw)
	}
	s.Blkio.PSI, err = m.psi("io.pressure")
	return err
}

// parseIOStat maps io.stat ("MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=..")
// to runc's v1-shaped entries.
func parseIOStat(raw string) Blkio {
	var b Blkio
	for _, line := range strings.Split(raw, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		majS, minS, _ := strings.Cut(fields[0], ":")
		maj, err1 := strconv.ParseUint(majS, 10, 64)
		minor, err2 := strconv.ParseUint(minS, 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(f, "=")
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				continue
			}
			e := BlkioEntry{Major: maj, Minor: minor, Value: n}
			switch k {
			case "rbytes":
				e.Op = "Read"
				b.IoServiceBytesRecursive = append(b.IoServiceBytesRecursive, e)
			case "wbytes":
				e.Op = "Write"
				b.IoServiceBytesRecursive = append(b.IoServiceBytesRecursive, e)
			case "rios":
				e.Op = "Read"
				b.IoServicedRecursive = append(b.IoServicedRecursive, e)
			case "wios":
				e.Op = "Write"
				b.IoServicedRecursive = append(b.IoServicedRecursive, e)
			}
		}
	}
	return b
}

func (m *Unified) hugetlbStats(s *Stats) error {
	matches, err := filepath.Glob(filepath.Join(m.Dir(), "hugetlb.*.current"))
	if err != nil {
		return err
	}
	for _, f := range matches {
		size := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "hugetlb."), ".current")
		if strings.Contains(size, ".") { // hugetlb.<size>.rsvd.current
			continue
		}
		var h Hugetlb
		cur, err := m.read(filepath.Base(f))
		if err != nil {
			return err
		}
		h.Usage, _ = strconv.ParseUint(cur, 10, 64)
		if ev, ok, err := m.readOptional("hugetlb." + size + ".events"); err != nil {
			return err
		} else if ok {
			h.Failcnt = flatUints(ev)["max"]
		}
		s.Hugetlb[size] = h
	}
	return nil
}

// OOMKillCount is the number of processes in the cgroup (and below) the
// kernel's OOM killer has killed so far, from memory.events. Watching it rise
// is how `events` reports {"type":"oom"}.
func (m *Unified) OOMKillCount() (uint64, error) {
	s, err := m.read("memory.events")
	if err != nil {
		return 0, err
	}
	return flatUints(s)["oom_kill"], nil
}

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
	mp, err := Mountpoint()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(mp, "cgroup.controllers"))
	if err != nil {
		return nil, fmt.Errorf("cgroup features: %w", err)
	}
	f := &FeatureSet{Mountpoint: mp, Controllers: strings.Fields(string(b))}
	f.DeviceFilter = features.HaveProgramType(ebpf.CGroupDevice) == nil
	for _, c := range f.Controllers {
		f.RDMA = f.RDMA || c == "rdma"
	}
	return f, nil
}
