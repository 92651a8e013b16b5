package fs2

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/oci-rt/oci-rt/cgroups"
	"github.com/oci-rt/oci-rt/cgroups/internal/cgtest"
)

func TestStatsFakeHierarchy(t *testing.T) {
	m := fakeCgroup(t, map[string]string{
		"cpu.stat":            "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 4\nthrottled_usec 250\n",
		"cpu.pressure":        "some avg10=1.50 avg60=0.25 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=12\n",
		"memory.stat":         "anon 4096\nfile 8192\n",
		"memory.current":      "12288\n",
		"memory.max":          "65536\n",
		"memory.peak":         "20000\n",
		"memory.events":       "low 0\nhigh 0\nmax 7\noom 2\noom_kill 3\noom_group_kill 0\n",
		"memory.swap.current": "100\n",
		"memory.swap.max":     "max\n",
		"memory.swap.events":  "high 0\nmax 1\nfail 0\n",
		"pids.current":        "3\n",
		"pids.max":            "max\n",
		"io.stat":             "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n",
		"hugetlb.2MB.current": "2097152\n", "hugetlb.2MB.events": "max 5\n",
		"hugetlb.2MB.rsvd.current": "0\n",
	})
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"cpu":{"usage":{"total":1500000,"kernel":500000,"user":1000000},` +
		`"throttling":{"periods":10,"throttledPeriods":4,"throttledTime":250000},` +
		`"psi":{"some":{"avg10":1.5,"avg60":0.25,"avg300":0,"total":1234},"full":{"avg10":0,"avg60":0,"avg300":0,"total":12}}},` +
		`"memory":{"cache":8192,"usage":{"limit":65536,"usage":12288,"max":20000,"failcnt":7},` +
		`"swap":{"limit":18446744073709551615,"usage":12388,"failcnt":1},` +
		// runc prints the v1-only kernel entries zeroed on v2, too.
		`"kernel":{"limit":0,"failcnt":0},"kernelTCP":{"limit":0,"failcnt":0},"raw":{"anon":4096,"file":8192}},` +
		`"pids":{"current":3},` +
		`"blkio":{"ioServiceBytesRecursive":[{"major":8,"op":"Read","value":100},{"major":8,"op":"Write","value":200}],` +
		`"ioServicedRecursive":[{"major":8,"op":"Read","value":1},{"major":8,"op":"Write","value":2}]},` +
		`"hugetlb":{"2MB":{"usage":2097152,"failcnt":5}}}`
	if string(got) != want {
		t.Errorf("stats JSON\n got %s\nwant %s", got, want)
	}
	if n, err := m.OOMKillCount(); err != nil || n != 3 {
		t.Errorf("OOMKillCount = %d, %v", n, err)
	}
}

func TestStatsLimits(t *testing.T) {
	m := fakeCgroup(t, map[string]string{
		"memory.stat": "", "memory.current": "10\n", "memory.max": "max\n",
		"memory.swap.current": "5\n", "memory.swap.max": "100\n",
		"pids.current": "1\n", "pids.max": "42\n",
	})
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Memory.Usage.Limit != math.MaxUint64 || s.Memory.Swap.Limit != math.MaxUint64 || s.Memory.Swap.Usage != 15 {
		t.Errorf("memory %+v", s.Memory)
	}
	if s.Pids != (cgroups.Pids{Current: 1, Limit: 42}) {
		t.Errorf("pids %+v", s.Pids)
	}
}

// On the host's unified hierarchy, without pids or memory controllers, stats
// still work: CPU usage from the core cpu.stat, the process count from
// cgroup.procs; OOMKillCount says why it cannot answer.
func TestStatsOnHost(t *testing.T) {
	m := testCgroup(t, "stats")
	startSpinner(t, m)
	startSpinner(t, m)
	// The spinners' CPU shows up however busy the machine is; only how
	// soon it does depends on the load.
	var s *cgroups.Stats
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		if s, err = m.Stats(); err != nil {
			t.Fatal(err)
		}
		if s.CPU.Usage.Total >= uint64(50*time.Millisecond) || time.Now().After(deadline) {
			break
		}
	}
	env, _ := m.env()
	switch {
	case !env.controllers["pids"] && s.Pids.Current != 2:
		t.Errorf("process count = %d, want 2", s.Pids.Current)
	case env.controllers["pids"] && s.Pids.Current < 2:
		// The pids controller counts tasks: each Go helper has several threads.
		t.Errorf("pids.current = %d for two multi-threaded processes", s.Pids.Current)
	}
	if s.CPU.Usage.Total < uint64(50*time.Millisecond) {
		t.Errorf("two spinners for 20s used only %dns of CPU", s.CPU.Usage.Total)
	}
	if !env.controllers["memory"] {
		if _, err := m.OOMKillCount(); err == nil || !strings.Contains(err.Error(), "memory.events") {
			t.Errorf("OOMKillCount without memory controller: %v", err)
		}
	}
}

func TestFeatures(t *testing.T) {
	cgtest.RequireRoot(t)
	f, err := Features()
	if err != nil {
		t.Skip(err)
	}
	mp, _ := cgroups.Mountpoint()
	if f.Mountpoint != mp {
		t.Errorf("mountpoint %q, want %q", f.Mountpoint, mp)
	}
	// The device filter tests in this package pass on this kernel, so it
	// must be reported.
	if !f.DeviceFilter {
		t.Error("device filter support not detected")
	}
}
