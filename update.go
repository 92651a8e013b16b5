package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
)

var updateCommand = &cli.Command{
	Name:      "update",
	Usage:     "change the resource limits of a running container",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "JSON file with runtime-spec LinuxResources, or - for stdin"},
		&cli.Uint64Flag{Name: "blkio-weight", Usage: "block IO weight, 10 to 1000"},
		&cli.Uint64Flag{Name: "cpu-period", Usage: "CPU CFS period in microseconds"},
		&cli.Int64Flag{Name: "cpu-quota", Usage: "CPU CFS quota in microseconds per period"},
		&cli.Uint64Flag{Name: "cpu-share", Aliases: []string{"cpu-shares"}, Usage: "CPU shares (relative weight)"},
		&cli.Uint64Flag{Name: "cpu-rt-period", Usage: "realtime period in microseconds (cgroup v1 only)"},
		&cli.Int64Flag{Name: "cpu-rt-runtime", Usage: "realtime runtime in microseconds (cgroup v1 only)"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs to run on (e.g. 0-3,6)"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes to allocate from"},
		&cli.Int64Flag{Name: "cpu-idle", Usage: "1 for SCHED_IDLE, 0 for the default"},
		&cli.StringFlag{Name: "memory", Usage: "memory limit (bytes, or with k, m, g suffix; -1 for none)"},
		&cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit"},
		&cli.StringFlag{Name: "memory-swap", Usage: "memory plus swap limit"},
		&cli.StringFlag{Name: "kernel-memory", Usage: "kernel memory limit (cgroup v1 only)"},
		&cli.StringFlag{Name: "kernel-memory-tcp", Usage: "kernel TCP buffer limit (cgroup v1 only)"},
		&cli.Int64Flag{Name: "pids-limit", Usage: "maximum number of processes (-1 for none)"},
		&cli.StringFlag{Name: "l3-cache-schema", Usage: "Intel RDT L3 cache schema (not supported)"},
		&cli.StringFlag{Name: "mem-bw-schema", Usage: "Intel RDT memory bandwidth schema (not supported)"},
	},
	Action: func(ctx *cli.Context) error {
		_, c, err := loadContainer(ctx, 1, 1)
		if err != nil {
			return err
		}
		r, err := updateResources(ctx)
		if err != nil {
			return err
		}
		return c.Update(r)
	},
}

// updateResources reads --resources, then applies the individual flags on
// top of it.
func updateResources(ctx *cli.Context) (*specs.LinuxResources, error) {
	for _, name := range []string{"l3-cache-schema", "mem-bw-schema"} {
		if ctx.IsSet(name) {
			return nil, fmt.Errorf("--%s: Intel RDT is not supported by oci-rt", name)
		}
	}
	r := &specs.LinuxResources{}
	if in := ctx.String("resources"); in != "" {
		var data []byte
		var err error
		if in == "-" {
			data, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
		} else {
			data, err = os.ReadFile(in)
		}
		if err != nil {
			return nil, fmt.Errorf("read --resources: %w", err)
		}
		if err := json.Unmarshal(data, r); err != nil {
			return nil, fmt.Errorf("parse --resources: %w", err)
		}
	}
	mem := func() *specs.LinuxMemory {
		if r.Memory == nil {
			r.Memory = &specs.LinuxMemory{}
		}
		return r.Memory
	}
	cpu := func() *specs.LinuxCPU {
		if r.CPU == nil {
			r.CPU = &specs.LinuxCPU{}
		}
		return r.CPU
	}
	for name, field := range map[string]func() **int64{
		"memory":             func() **int64 { return &mem().Limit },
		"memory-reservation": func() **int64 { return &mem().Reservation },
		"memory-swap":        func() **int64 { return &mem().Swap },
		"kernel-memory":      func() **int64 { return &mem().Kernel }, //nolint:staticcheck // deprecated; the cgroup layer applies or ignores it with a warning, as runc
		"kernel-memory-tcp":  func() **int64 { return &mem().KernelTCP },
	} {
		if !ctx.IsSet(name) {
			continue
		}
		v, err := parseSize(ctx.String(name))
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", name, err)
		}
		*field() = &v
	}
	if ctx.IsSet("blkio-weight") {
		w := ctx.Uint64("blkio-weight")
		if w > 1000 {
			return nil, fmt.Errorf("--blkio-weight %d: must be at most 1000", w)
		}
		w16 := uint16(w)
		if r.BlockIO == nil {
			r.BlockIO = &specs.LinuxBlockIO{}
		}
		r.BlockIO.Weight = &w16
	}
	uints := map[string]func() **uint64{
		"cpu-period":    func() **uint64 { return &cpu().Period },
		"cpu-share":     func() **uint64 { return &cpu().Shares },
		"cpu-rt-period": func() **uint64 { return &cpu().RealtimePeriod },
	}
	for name, field := range uints {
		if ctx.IsSet(name) {
			v := ctx.Uint64(name)
			*field() = &v
		}
	}
	ints := map[string]func() **int64{
		"cpu-quota":      func() **int64 { return &cpu().Quota },
		"cpu-rt-runtime": func() **int64 { return &cpu().RealtimeRuntime },
		"cpu-idle":       func() **int64 { return &cpu().Idle },
	}
	for name, field := range ints {
		if ctx.IsSet(name) {
			v := ctx.Int64(name)
			*field() = &v
		}
	}
	if ctx.IsSet("cpuset-cpus") {
		cpu().Cpus = ctx.String("cpuset-cpus")
	}
	if ctx.IsSet("cpuset-mems") {
		cpu().Mems = ctx.String("cpuset-mems")
	}
	if ctx.IsSet("pids-limit") {
		v := ctx.Int64("pids-limit")
		r.Pids = &specs.LinuxPids{Limit: &v}
	}
	return r, nil
}

// parseSize reads a byte count as runc's flags take it: a number with an
// optional binary suffix (k, m, g, t, p, with or without a trailing b),
// or -1 for no limit.
func parseSize(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	num := strings.TrimRight(strings.ToLower(strings.TrimSpace(s)), "b")
	mult := int64(1)
	if n := len(num); n > 0 {
		if i := strings.IndexByte("kmgtp", num[n-1]); i >= 0 {
			mult = 1 << (10 * (i + 1))
			num = num[:n-1]
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	if v*float64(mult) >= 1<<63 {
		return 0, errors.New("size too large")
	}
	return int64(v * float64(mult)), nil
}
