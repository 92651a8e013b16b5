package fs2

import (
	"errors"
	"io/fs"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/oci-rt/oci-rt/cgroups"
)

// Stats reads the cgroup's statistics. Sections whose controller is not
// enabled are left empty rather than failing, so that stats work on a
// partially delegated hierarchy; the process count is then taken from
// cgroup.procs.
func (m *Manager) Stats() (*cgroups.Stats, error) {
	s := &cgroups.Stats{Hugetlb: map[string]cgroups.Hugetlb{}}
	for _, f := range []func(*cgroups.Stats) error{m.cpuStats, m.memoryStats, m.pidsStats, m.ioStats, m.hugetlbStats} {
		if err := f(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// readOptional reads a file that may legitimately be absent (controller not
// enabled, older kernel): absent gives "", false and no error.
func (m *Manager) readOptional(name string) (string, bool, error) {
	s, err := m.read(name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	return s, err == nil, err
}

// parseLimit reads a limit file's value, "max" being unlimited.
func parseLimit(s string) uint64 {
	if s == "max" {
		return math.MaxUint64
	}
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

func (m *Manager) psi(name string) (*cgroups.PSI, error) {
	s, ok, err := m.readOptional(name)
	if !ok {
		return nil, err
	}
	p := &cgroups.PSI{}
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

func (m *Manager) cpuStats(s *cgroups.Stats) error {
	raw, ok, err := m.readOptional("cpu.stat")
	if !ok {
		return err
	}
	kv := cgroups.FlatUints(raw)
	// cpu.stat is in microseconds, runc's fields in nanoseconds.
	s.CPU.Usage = cgroups.CPUUsage{Total: kv["usage_usec"] * 1000, User: kv["user_usec"] * 1000, Kernel: kv["system_usec"] * 1000}
	s.CPU.Throttling = cgroups.Throttling{Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledTime: kv["throttled_usec"] * 1000}
	s.CPU.PSI, err = m.psi("cpu.pressure")
	return err
}

// memoryEntry fills usage, limit, peak and failcnt from
// memory.<prefix>current/max/peak/events.
func (m *Manager) memoryEntry(prefix string) (cgroups.MemoryEntry, bool, error) {
	var e cgroups.MemoryEntry
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
		e.Failcnt = cgroups.FlatUints(v)["max"]
	}
	return e, true, nil
}

func (m *Manager) memoryStats(s *cgroups.Stats) error {
	raw, ok, err := m.readOptional("memory.stat")
	if !ok {
		return err
	}
	s.Memory.Raw = cgroups.FlatUints(raw)
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

func (m *Manager) pidsStats(s *cgroups.Stats) error {
	var err error
	s.Pids, err = cgroups.PidsStats(m.read, m.Pids)
	return err
}

func (m *Manager) ioStats(s *cgroups.Stats) error {
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
func parseIOStat(raw string) cgroups.Blkio {
	var b cgroups.Blkio
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
			e := cgroups.BlkioEntry{Major: maj, Minor: minor, Value: n}
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

func (m *Manager) hugetlbStats(s *cgroups.Stats) error {
	matches, err := filepath.Glob(filepath.Join(m.Dir(), "hugetlb.*.current"))
	if err != nil {
		return err
	}
	for _, f := range matches {
		size := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "hugetlb."), ".current")
		if strings.Contains(size, ".") { // hugetlb.<size>.rsvd.current
			continue
		}
		var h cgroups.Hugetlb
		cur, err := m.read(filepath.Base(f))
		if err != nil {
			return err
		}
		h.Usage, _ = strconv.ParseUint(cur, 10, 64)
		if ev, ok, err := m.readOptional("hugetlb." + size + ".events"); err != nil {
			return err
		} else if ok {
			h.Failcnt = cgroups.FlatUints(ev)["max"]
		}
		s.Hugetlb[size] = h
	}
	return nil
}

// OOMKillCount is the number of processes in the cgroup (and below) the
// kernel's OOM killer has killed so far, from memory.events. Watching it rise
// is how `events` reports {"type":"oom"}.
func (m *Manager) OOMKillCount() (uint64, error) {
	s, err := m.read("memory.events")
	if err != nil {
		return 0, err
	}
	return cgroups.FlatUints(s)["oom_kill"], nil
}
