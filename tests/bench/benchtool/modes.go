package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oci-rt/oci-rt/tests/seccompprofile"
)

// The modes besides the default one. Each takes flags, then "--" and the
// runtimes as LABEL [NAME=VALUE...] PROGRAM [GLOBAL FLAGS...], separated by
// "---"; the mode appends the runtime's command and its arguments.
var modes = map[string]func(args []string) error{
	"lifecycle":      lifecycle,
	"scale":          scale,
	"probe":          probe,
	"docker-profile": dockerProfile,
}

// dockerProfile prints Docker's default seccomp profile as the engine
// hands it to a runtime, for a bundle whose containers run under it.
func dockerProfile([]string) error {
	p, err := seccompprofile.DockerDefault()
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(p)
}

// samples are the timings of one operation of one runtime.
type samples struct {
	wall, cpu []time.Duration
	syscalls  int // from one run under strace -f -c, or -1
}

func (s *samples) add(r result) {
	s.wall = append(s.wall, r.wall)
	s.cpu = append(s.cpu, r.cpu)
}

// addAll adds the times of o, a round's, to those of the rounds before.
func (s *samples) addAll(o *samples) {
	s.wall = append(s.wall, o.wall...)
	s.cpu = append(s.cpu, o.cpu...)
}

// samplesByLabel is an empty set of samples for each runtime.
func samplesByLabel(cmds []*command) map[string]*samples {
	got := map[string]*samples{}
	for _, c := range cmds {
		got[c.label] = &samples{}
	}
	return got
}

// do runs one runtime command, its output thrown away (a container's
// process inherits it, and must not hold the caller's pipes).
func (c *command) do(args ...string) (result, error) {
	r, err := timedQuiet(c.env, append(append([]string(nil), c.argv...), args...))
	if err != nil {
		return r, fmt.Errorf("%s: %w", c.label, err)
	}
	return r, nil
}

func timedQuiet(env, argv []string) (result, error) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return result{}, err
	}
	defer null.Close()
	return timedTo(null, env, argv)
}

// syscallCount runs the runtime command once under strace -f -c and
// returns how many system calls its process tree made. Not for create:
// strace -f follows the init it leaves running, and would not return.
func (c *command) syscallCount(args ...string) (int, error) {
	f, err := os.CreateTemp("", "benchtool-strace")
	if err != nil {
		return 0, err
	}
	f.Close()
	defer os.Remove(f.Name())
	argv := append(append([]string{"strace", "-f", "-c", "-U", "calls,name", "-o", f.Name()}, c.argv...), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("%s under strace: %w", c.label, err)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		return 0, err
	}
	// The summary's last row: "CALLS total".
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) == 2 && f[1] == "total" {
			return strconv.Atoi(f[0])
		}
	}
	return 0, fmt.Errorf("%s %s: no total in strace's summary", c.label, strings.Join(args, " "))
}

// waitStatus polls `state ID` until the container's status is status.
func (c *command) waitStatus(id, status string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		cmd := exec.Command(c.argv[0], append(c.argv[1:], "state", id)...)
		cmd.Env = append(os.Environ(), c.env...)
		out, err := cmd.Output()
		if err == nil && bytes.Contains(out, []byte(`"`+status+`"`)) {
			return nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("%s: %s is not %s", c.label, id, status)
}

func parseModeArgs(fs *flag.FlagSet, args []string) ([]*command, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	// Parse drops the "--" that ends the flags.
	return parseCommands(fs.Args())
}

var lifecycleOps = []string{"create", "start", "state", "exec", "kill", "delete"}

// lifecycle times each operation of a container's life separately, the
// runtimes in alternation: create of BUNDLE (whose process must keep
// running), start, state, exec of /bin/true, kill KILL, then (untimed)
// waiting until it is stopped, and delete. With -strace, one more round
// under strace -f -c counts each operation's system calls, but create's.
// create's CPU time is the runtime's alone: the init it leaves running is
// not its to reap, for any of the runtimes.
func lifecycle(args []string) error {
	fs := flag.NewFlagSet("lifecycle", flag.ContinueOnError)
	runs := fs.Int("n", 20, "timed rounds")
	warmup := fs.Int("warmup", 2, "untimed rounds first")
	bundle := fs.String("bundle", "", "bundle whose process keeps running (sleep)")
	prefix := fs.String("prefix", "bench", "container ID prefix")
	strace := fs.Bool("strace", false, "count system calls per operation in one more round")
	cmds, err := parseModeArgs(fs, args)
	if err != nil {
		return err
	}
	stats := map[string]map[string]*samples{}
	for _, c := range cmds {
		stats[c.label] = map[string]*samples{}
		for _, op := range lifecycleOps {
			stats[c.label][op] = &samples{syscalls: -1}
		}
	}
	round := func(n int, record bool) error {
		for _, c := range cmds {
			id := fmt.Sprintf("%s-%s-%d", *prefix, c.label, n)
			steps := lifecycleSteps(*bundle, id)
			for i, step := range steps {
				if step[0] == "delete" {
					if err := c.waitStatus(id, "stopped"); err != nil {
						return err
					}
				}
				r, err := c.do(step...)
				if err != nil {
					return err
				}
				if record {
					stats[c.label][lifecycleOps[i]].add(r)
				}
			}
		}
		return nil
	}
	for i := 0; i < *warmup+*runs; i++ {
		if err := round(i, i >= *warmup); err != nil {
			return err
		}
	}
	if *strace {
		for _, c := range cmds {
			id := fmt.Sprintf("%s-%s-strace", *prefix, c.label)
			steps := lifecycleSteps(*bundle, id)
			for i, step := range steps {
				if step[0] == "delete" {
					if err := c.waitStatus(id, "stopped"); err != nil {
						return err
					}
				}
				if step[0] == "create" {
					if _, err := c.do(step...); err != nil {
						return err
					}
					continue
				}
				n, err := c.syscallCount(step...)
				if err != nil {
					return err
				}
				stats[c.label][lifecycleOps[i]].syscalls = n
			}
		}
	}
	fmt.Printf("%-7s %-8s %8s %8s %9s   %s\n", "op", "runtime", "wall ms", "cpu ms", "syscalls", "oci-rt's ratio: wall, cpu")
	for _, op := range lifecycleOps {
		for _, c := range cmds {
			s := stats[c.label][op]
			sc := "-"
			if s.syscalls >= 0 {
				sc = strconv.Itoa(s.syscalls)
			}
			fmt.Printf("%-7s %-8s %8s %8s %9s   %s\n", op, c.label, ms(median(s.wall)), ms(median(s.cpu)), sc,
				ratios(stats, op, cmds[0].label, c.label))
		}
	}
	return nil
}

// ratios is the first runtime's median wall and CPU over other's, for op;
// empty for the first runtime itself.
func ratios(stats map[string]map[string]*samples, op, first, other string) string {
	if first == other {
		return ""
	}
	a, b := stats[first][op], stats[other][op]
	return fmt.Sprintf("%.2f x, %.2f x %s", ratio(median(a.wall), median(b.wall)), ratio(median(a.cpu), median(b.cpu)), other)
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// scale starts `run -b BUNDLE` of the runtimes with 1, 10 and 50 (-c)
// runs at a time, one runtime after the other, and reports throughput,
// latency percentiles and the median CPU time per run; with -sleep-bundle
// the same for create then start of a container that keeps running, all
// of a level's containers existing together until the level ends, so a
// cost that grows with the number of containers shows.
//
// Each worker does -per-worker runs in a round: throughput is what the
// machine sustains while all workers are busy, and with only a couple of
// runs each a round would mostly measure its start, all workers starting
// at once, and its end, the last stragglers on an otherwise idle machine.
func scale(args []string) error {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	levels := fs.String("c", "1,10,50", "concurrency levels")
	minRuns := fs.Int("min", 20, "runs per level and round at least")
	perWorker := fs.Int("per-worker", 10, "runs per worker and round, unless -min asks for more")
	rounds := fs.Int("rounds", 3, "rounds per level, the runtimes taking turns in each")
	bundle := fs.String("bundle", "", "bundle whose process exits at once (/bin/true)")
	sleepBundle := fs.String("sleep-bundle", "", "bundle whose process keeps running, for create+start (none: run only)")
	prefix := fs.String("prefix", "bench", "container ID prefix")
	cmds, err := parseModeArgs(fs, args)
	if err != nil {
		return err
	}
	if *rounds < 1 || *perWorker < 1 {
		return fmt.Errorf("bad -rounds %d or -per-worker %d", *rounds, *perWorker)
	}
	ops := []scaleOp{{"run", runJob(*bundle), false}}
	if *sleepBundle != "" {
		ops = append(ops, scaleOp{"create+start", createStartJob(*sleepBundle), true})
	}
	fmt.Printf("%-12s %-5s %-8s %5s %10s %8s %8s %8s   %s\n", "operation", "conc.", "runtime", "runs", "runs/s", "p50 ms", "p99 ms", "cpu ms", "oci-rt's throughput ratio")
	for _, op := range ops {
		for _, field := range strings.Split(*levels, ",") {
			conc, err := strconv.Atoi(field)
			if err != nil || conc < 1 {
				return fmt.Errorf("bad concurrency %q", field)
			}
			if err := scaleLevel(op, conc, max(*minRuns, *perWorker*conc), *rounds, *prefix, cmds); err != nil {
				return err
			}
		}
	}
	return nil
}

// scaleLevel runs op at concurrency conc, runs times per runtime in each
// of rounds rounds, the runtimes taking turns, so that each meets the
// machine's changing state as the others do; it prints each runtime's
// median throughput over the rounds and the latencies of all its runs.
func scaleLevel(op scaleOp, conc, runs, rounds int, prefix string, cmds []*command) error {
	got := samplesByLabel(cmds)
	throughput := map[string][]float64{}
	for r := range rounds {
		for _, c := range cmds {
			ids := make([]string, runs)
			for n := range ids {
				ids[n] = fmt.Sprintf("%s-%s-%s-c%d-r%d-%d", prefix, strings.ReplaceAll(op.name, "+", ""), c.label, conc, r, n)
			}
			s, elapsed, err := c.concurrently(conc, ids, op.job)
			// Containers left running go before the next runtime's
			// turn, whether or not this one failed.
			if op.leavesRunning {
				c.deleteAll(ids)
			}
			if err != nil {
				return err
			}
			got[c.label].addAll(s)
			throughput[c.label] = append(throughput[c.label], float64(runs)/elapsed.Seconds())
		}
	}
	first := median(throughput[cmds[0].label])
	for _, c := range cmds {
		mine := median(throughput[c.label])
		r := ""
		if c != cmds[0] {
			r = fmt.Sprintf("%.2f x %s%s", first/mine, c.label, roundRatios(throughput[cmds[0].label], throughput[c.label]))
		}
		g := got[c.label]
		fmt.Printf("%-12s %-5d %-8s %5d %10.1f %8s %8s %8s   %s\n", op.name, conc, c.label, runs*rounds, mine,
			ms(quantile(g.wall, 0.5)), ms(quantile(g.wall, 0.99)), ms(median(g.cpu)), r)
	}
	return nil
}

// roundRatios gives the lowest and highest ratio of mine to theirs within
// one round, where both met the same state of the machine: at fifty
// concurrent runs on two CPUs the rounds of one sitting differ by several
// percent, more than the runtimes often do, and a median alone hides that.
func roundRatios(mine, theirs []float64) string {
	if len(mine) < 2 || len(mine) != len(theirs) {
		return ""
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range mine {
		ratio := mine[i] / theirs[i]
		lo, hi = min(lo, ratio), max(hi, ratio)
	}
	return fmt.Sprintf(" (rounds %.2f-%.2f)", lo, hi)
}

// scaleOp is what each worker of the scale mode repeats: one container's
// worth of runtime invocations, timed as a whole.
type scaleOp struct {
	name          string
	job           func(c *command, id string) (result, error)
	leavesRunning bool
}

func runJob(bundle string) func(*command, string) (result, error) {
	return func(c *command, id string) (result, error) { return c.do("run", "-b", bundle, id) }
}

// createStartJob is create then start of a container that keeps running;
// its CPU time is the two runtime processes' (the init is not theirs to
// reap).
func createStartJob(bundle string) func(*command, string) (result, error) {
	return func(c *command, id string) (result, error) {
		created, err := c.do("create", "-b", bundle, id)
		if err != nil {
			return created, err
		}
		started, err := c.do("start", id)
		return result{wall: created.wall + started.wall, cpu: created.cpu + started.cpu}, err
	}
}

// concurrently runs job once for each ID, conc at a time, and returns each
// one's times and the time for all.
func (c *command) concurrently(conc int, ids []string, job func(*command, string) (result, error)) (*samples, time.Duration, error) {
	var (
		mu    sync.Mutex
		got   samples
		first error
		next  int
		wg    sync.WaitGroup
	)
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				n := next
				next++
				mu.Unlock()
				if n >= len(ids) {
					return
				}
				r, err := job(c, ids[n])
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				got.add(r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return &got, time.Since(start), first
}

// deleteAll force-deletes the containers, untimed; one whose create
// failed does not exist, which is no error worth reporting.
func (c *command) deleteAll(ids []string) {
	for _, id := range ids {
		_, _ = c.do("delete", "-f", id)
	}
}

// probe is the kubelet's exec probe load: -containers running containers
// (`run -d` of BUNDLE), each exec'd /bin/true once a second for -seconds,
// one runtime after the other. It reports the CPU time per exec (the
// runtime's whole process tree, /bin/true included) and the exec latency.
func probe(args []string) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	containers := fs.Int("containers", 20, "running containers per runtime")
	seconds := fs.Int("seconds", 60, "how long each is probed, over all rounds")
	rounds := fs.Int("rounds", 3, "rounds, the runtimes taking turns in each")
	bundle := fs.String("bundle", "", "bundle whose process keeps running (sleep)")
	prefix := fs.String("prefix", "bench", "container ID prefix")
	cmds, err := parseModeArgs(fs, args)
	if err != nil {
		return err
	}
	if *rounds < 1 || *seconds < *rounds {
		return fmt.Errorf("bad -rounds %d for -seconds %d", *rounds, *seconds)
	}
	// Every runtime's containers run throughout, so that each round
	// probes one runtime's while the machine carries all of them.
	ids := map[string][]string{}
	defer func() {
		for _, c := range cmds {
			c.deleteAll(ids[c.label])
		}
	}()
	for _, c := range cmds {
		for i := range *containers {
			id := fmt.Sprintf("%s-%s-%d", *prefix, c.label, i)
			if _, err := c.do("run", "-d", "-b", *bundle, id); err != nil {
				return err
			}
			ids[c.label] = append(ids[c.label], id)
		}
	}
	got := samplesByLabel(cmds)
	for range *rounds {
		for _, c := range cmds {
			s, err := c.probeLoad(ids[c.label], time.Duration(*seconds)*time.Second/time.Duration(*rounds))
			if err != nil {
				return err
			}
			got[c.label].addAll(s)
		}
	}
	fmt.Printf("%-8s %6s %12s %12s %8s %8s   %s\n", "runtime", "execs", "cpu ms/exec", "cpu s/s", "p50 ms", "p99 ms", "oci-rt's cpu/exec ratio")
	perExec := map[string]float64{}
	for _, c := range cmds {
		g := got[c.label]
		var cpu time.Duration
		for _, d := range g.cpu {
			cpu += d
		}
		perExec[c.label] = float64(cpu.Microseconds()) / 1000 / float64(len(g.cpu))
		r := ""
		if c != cmds[0] {
			r = fmt.Sprintf("%.2f x %s", perExec[cmds[0].label]/perExec[c.label], c.label)
		}
		fmt.Printf("%-8s %6d %12.2f %12.3f %8s %8s   %s\n", c.label, len(g.cpu), perExec[c.label],
			cpu.Seconds()/float64(*seconds), ms(quantile(g.wall, 0.5)), ms(quantile(g.wall, 0.99)), r)
	}
	return nil
}

// probeLoad execs /bin/true into each of the running containers ids once
// a second for d, and returns each exec's times.
func (c *command) probeLoad(ids []string, d time.Duration) (*samples, error) {
	var (
		mu    sync.Mutex
		got   samples
		first error
		wg    sync.WaitGroup
	)
	end := time.Now().Add(d)
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the containers' probes over the second, as
			// independent kubelet workers would be.
			time.Sleep(time.Duration(i) * time.Second / time.Duration(len(ids)))
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for time.Now().Before(end) {
				r, err := c.do("exec", id, "/bin/true")
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if err == nil {
					got.add(r)
				}
				mu.Unlock()
				<-tick.C
			}
		}()
	}
	wg.Wait()
	if first == nil && len(got.cpu) == 0 {
		first = errors.New("no exec finished")
	}
	return &got, first
}

// lifecycleSteps are the runtime invocations of one lifecycle round, in
// the order of lifecycleOps.
func lifecycleSteps(bundle, id string) [][]string {
	return [][]string{
		{"create", "-b", bundle, id}, {"start", id}, {"state", id},
		{"exec", id, "/bin/true"}, {"kill", id, "KILL"}, {"delete", id},
	}
}
