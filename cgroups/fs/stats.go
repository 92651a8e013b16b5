package fs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/oci-rt/oci-rt/cgroups"
)

// userHZ is the unit of cpuacct.stat (USER_HZ, 100 on every architecture
// Linux exposes to user space).
const userHZ = 100

// Stats reads the cgroup's statistics from the v1 files, in the same shape
// as on v2 (runc's). A section whose controller is not mounted stays empty.
func (m *Manager) Stats() (*cgroups.Stats, error) {
	s := &cgroups.Stats{Hugetlb: map[string]cgroups.Hugetlb{}}
	for _, f := range []func(*cgroups.Stats) error{m.cpuStats, m.memoryStats, m.pidsStats, m.blkioStats, m.hugetlbStats} {
		if err := f(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// readOptional reads a file that may be absent (controller not mounted,
// older kernel): absent gives "", false and no error.
func (m *Manager) readOptional(ctrl, name string) (string, bool, error) {
	s, err := m.read(ctrl, name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	return s, err == nil, err
}

func (m *Manager) readUintOptional(ctrl, name string) (uint64, error) {
	s, ok, err := m.readOptional(ctrl, name)
	if !ok {
		return 0, err
	}
	n, _ := strconv.ParseUint(s, 10, 64)
	return n, nil
}

func uintList(s string) []uint64 {
	var out []uint64
	for _, f := range strings.Fields(s) {
		n, _ := strconv.ParseUint(f, 10, 64)
		out = append(out, n)
	}
	return out
}

func (m *Manager) cpuStats(s *cgroups.Stats) error {
	var err error
	u := &s.CPU.Usage
	if u.Total, err = m.readUintOptional("cpuacct", "cpuacct.usage"); err != nil {
		return err
	}
	for _, f := range []struct {
		file string
		dst  *[]uint64
	}{
		{"cpuacct.usage_percpu", &u.Percpu},
		{"cpuacct.usage_percpu_sys", &u.PercpuKernel},
		{"cpuacct.usage_percpu_user", &u.PercpuUser},
	} {
		v, ok, err := m.readOptional("cpuacct", f.file)
		if err != nil {
			return err
		}
		if ok {
			*f.dst = uintList(v)
		}
	}
	if v, ok, err := m.readOptional("cpuacct", "cpuacct.stat"); err != nil {
		return err
	} else if ok {
		kv := cgroups.FlatUints(v)
		u.User = kv["user"] * (1e9 / userHZ)
		u.Kernel = kv["system"] * (1e9 / userHZ)
	}
	if v, ok, err := m.readOptional("cpu", "cpu.stat"); err != nil {
		return err
	} else if ok {
		kv := cgroups.FlatUints(v)
		s.CPU.Throttling = cgroups.Throttling{Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledTime: kv["throttled_time"]}
	}
	return nil
}

// memoryEntry reads memory.<prefix>usage_in_bytes and its siblings.
func (m *Manager) memoryEntry(prefix string) (cgroups.MemoryEntry, bool, error) {
	var e cgroups.MemoryEntry
	usage, ok, err := m.readOptional("memory", prefix+"usage_in_bytes")
	if !ok {
		return e, false, err
	}
	e.Usage, _ = strconv.ParseUint(usage, 10, 64)
	for _, f := range []struct {
		name string
		dst  *uint64
	}{{"max_usage_in_bytes", &e.Max}, {"failcnt", &e.Failcnt}, {"limit_in_bytes", &e.Limit}} {
		if *f.dst, err = m.readUintOptional("memory", prefix+f.name); err != nil {
			return e, false, err
		}
	}
	return e, true, nil
}

func (m *Manager) memoryStats(s *cgroups.Stats) error {
	raw, ok, err := m.readOptional("memory", "memory.stat")
	if !ok {
		return err
	}
	s.Memory.Raw = cgroups.FlatUints(raw)
	s.Memory.Cache = s.Memory.Raw["cache"]
	for _, e := range []struct {
		prefix string
		dst    *cgroups.MemoryEntry
	}{
		{"memory.", &s.Memory.Usage}, {"memory.memsw.", &s.Memory.Swap},
		{"memory.kmem.", &s.Memory.Kernel}, {"memory.kmem.tcp.", &s.Memory.KernelTCP},
	} {
		if *e.dst, _, err = m.memoryEntry(e.prefix); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) pidsStats(s *cgroups.Stats) error {
	var err error
	s.Pids, err = cgroups.PidsStats(func(file string) (string, error) { return m.read("pids", file) }, m.Pids)
	return err
}

// blkioStats reads CFQ's statistics, or BFQ's, or, when neither scheduler
// keeps any, the throttling layer's (which counts all I/O), as runc does.
func (m *Manager) blkioStats(s *cgroups.Stats) error {
	dir, ok := m.dirs["blkio"]
	if !ok {
		return nil
	}
	type stat struct {
		file string
		dst  *[]cgroups.BlkioEntry
	}
	b := &s.Blkio
	sets := []struct {
		prefix string
		stats  []stat
	}{
		{"blkio.", []stat{
			{"io_service_bytes_recursive", &b.IoServiceBytesRecursive}, {"io_serviced_recursive", &b.IoServicedRecursive},
			{"io_queued_recursive", &b.IoQueuedRecursive}, {"io_service_time_recursive", &b.IoServiceTimeRecursive},
			{"io_wait_time_recursive", &b.IoWaitTimeRecursive}, {"io_merged_recursive", &b.IoMergedRecursive},
			{"time_recursive", &b.IoTimeRecursive}, {"sectors_recursive", &b.SectorsRecursive},
		}},
		{"blkio.bfq.", []stat{
			{"io_service_bytes_recursive", &b.IoServiceBytesRecursive}, {"io_serviced_recursive", &b.IoServicedRecursive},
		}},
		{"blkio.throttle.", []stat{
			{"io_service_bytes_recursive", &b.IoServiceBytesRecursive}, {"io_serviced_recursive", &b.IoServicedRecursive},
		}},
	}
	for _, set := range sets {
		for _, st := range set.stats {
			data, err := os.ReadFile(filepath.Join(dir, set.prefix+st.file))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			*st.dst = parseBlkioFile(string(data))
		}
		if len(b.IoServiceBytesRecursive) > 0 {
			return nil
		}
	}
	return nil
}

// parseBlkioFile reads "MAJ:MIN [Op] value" lines; the closing "Total N"
// line has no device and is skipped.
func parseBlkioFile(data string) []cgroups.BlkioEntry {
	var out []cgroups.BlkioEntry
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		majS, minS, ok := strings.Cut(f[0], ":")
		if !ok {
			continue
		}
		maj, err1 := strconv.ParseUint(majS, 10, 64)
		minor, err2 := strconv.ParseUint(minS, 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		e := cgroups.BlkioEntry{Major: maj, Minor: minor}
		v := f[1]
		if len(f) == 3 {
			e.Op, v = f[1], f[2]
		}
		e.Value, _ = strconv.ParseUint(v, 10, 64)
		out = append(out, e)
	}
	return out
}

func (m *Manager) hugetlbStats(s *cgroups.Stats) error {
	dir, ok := m.dirs["hugetlb"]
	if !ok {
		return nil
	}
	matches, err := filepath.Glob(filepath.Join(dir, "hugetlb.*.usage_in_bytes"))
	if err != nil {
		return err
	}
	for _, f := range matches {
		size := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "hugetlb."), ".usage_in_bytes")
		if strings.Contains(size, ".") { // hugetlb.<size>.rsvd.usage_in_bytes
			continue
		}
		var h cgroups.Hugetlb
		for _, e := range []struct {
			name string
			dst  *uint64
		}{{"usage_in_bytes", &h.Usage}, {"max_usage_in_bytes", &h.Max}, {"failcnt", &h.Failcnt}} {
			if *e.dst, err = m.readUintOptional("hugetlb", "hugetlb."+size+"."+e.name); err != nil {
				return err
			}
		}
		s.Hugetlb[size] = h
	}
	return nil
}
