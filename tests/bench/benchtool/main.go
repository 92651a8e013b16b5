// Command benchtool times container runtimes for tests/bench: it runs
// several commands in alternation (so that load from other work on the
// machine hits them all alike) and prints each one's median wall time and
// peak memory, and a ratio to a reference.
//
//	benchtool [-n RUNS] [-rss RUNS] [-pause DURATION] [-ref LABEL] -- LABEL CMD... [--- LABEL CMD...]
//	benchtool lifecycle|scale|probe [FLAGS] -- LABEL RUNTIME... [--- LABEL RUNTIME...]
//	benchtool docker-profile
//
// The second form drives container runtimes (see modes.go): each
// operation of a container's life timed on its own, concurrent runs, and
// an exec probe load. The third prints Docker's default seccomp profile.
//
// Leading NAME=VALUE words of a command are added to its environment, as
// with env(1) but without an extra exec. "{}" in a command is replaced by a number unique to the run, for
// container IDs. Every run must exit 0: a benchmark of failing runs would
// measure the wrong thing, so the first failure ends the tool with status 1.
//
// Two memory figures are reported. "tree" is the ru_maxrss wait4 returns
// for the command: the largest peak RSS of the command's process and of all
// the descendants it reaped (for a runtime: its own re-executed init and the
// container's process). "own" is the runtime process's own peak (VmHWM)
// alone, read when it exits: for that, separate runs under ptrace (which
// stops the process at its exit, with its memory still mapped) that are not
// timed. Most of a statically linked runtime's own peak is its binary's
// text and data, clean pages of the page cache that every process running
// the binary shares (and a kernel that keeps the file in large folios maps
// a whole folio at a fault, so nearly all of a binary is resident the
// moment its code runs here and there). "private" is the part that is the
// process's alone, its anonymous memory (heap, stacks, written data): the
// largest RssAnon read at those stops, which is what each concurrent
// runtime process costs the node beyond the first.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

type command struct {
	label string
	env   []string // NAME=VALUE added to ours
	argv  []string
	wall  []time.Duration
	cpu   []time.Duration // user + system time of the command and its reaped descendants
	tree  []int64         // ru_maxrss, KiB
	own   []int64         // VmHWM at exit, KiB
	anon  []int64         // the largest RssAnon at the traced stops, KiB
}

var seq int

func main() {
	if len(os.Args) > 1 {
		if mode, ok := modes[os.Args[1]]; ok {
			if err := mode(os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "benchtool %s: %v\n", os.Args[1], err)
				os.Exit(1)
			}
			return
		}
	}
	runs := flag.Int("n", 30, "timed runs of each command")
	rssRuns := flag.Int("rss", 5, "extra untimed runs of each command under ptrace for its own peak RSS (0: none)")
	warmup := flag.Int("warmup", 2, "untimed runs of each command first (page cache, binaries)")
	ref := flag.String("ref", "", "label of the command the others are compared to")
	pause := flag.Duration("pause", 0, "sleep before each timed run, so that each starts on a machine gone quiet")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: benchtool [-n RUNS] [-rss RUNS] [-warmup RUNS] [-pause DURATION] [-ref LABEL] -- LABEL CMD... [--- LABEL CMD...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	cmds, err := parseCommands(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		flag.Usage()
		os.Exit(2)
	}
	if err := bench(cmds, *runs, *rssRuns, *warmup, *pause); err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
	report(os.Stdout, cmds, *ref)
}

func parseCommands(args []string) ([]*command, error) {
	var cmds []*command
	var cur []string
	for _, a := range append(args, "---") {
		if a != "---" {
			cur = append(cur, a)
			continue
		}
		if len(cur) < 2 {
			return nil, fmt.Errorf("each command needs a label and a program, got %q", cur)
		}
		c := &command{label: cur[0]}
		argv := cur[1:]
		for len(argv) > 1 && strings.Contains(argv[0], "=") && !strings.HasPrefix(argv[0], "/") {
			c.env = append(c.env, argv[0])
			argv = argv[1:]
		}
		c.argv = argv
		cmds = append(cmds, c)
		cur = nil
	}
	return cmds, nil
}

func bench(cmds []*command, runs, rssRuns, warmup int, pause time.Duration) error {
	for i := 0; i < warmup; i++ {
		for _, c := range cmds {
			if _, err := c.run(false); err != nil {
				return err
			}
		}
	}
	for i := 0; i < runs; i++ {
		for _, c := range cmds {
			time.Sleep(pause)
			r, err := c.run(false)
			if err != nil {
				return err
			}
			c.wall = append(c.wall, r.wall)
			c.cpu = append(c.cpu, r.cpu)
			c.tree = append(c.tree, r.rss)
		}
	}
	for i := 0; i < rssRuns; i++ {
		for _, c := range cmds {
			r, err := c.run(true)
			if err != nil {
				return err
			}
			c.own = append(c.own, r.rss)
			c.anon = append(c.anon, r.anon)
		}
	}
	return nil
}

// result is one run's figures. Traced runs have only rss, the VmHWM, and
// anon.
type result struct {
	wall, cpu time.Duration
	rss       int64 // KiB: ru_maxrss, or traced, the process's own VmHWM
	anon      int64 // KiB, traced: the largest RssAnon seen
}

// run starts the command once and measures it.
func (c *command) run(traced bool) (result, error) {
	seq++
	argv := make([]string, len(c.argv))
	for i, a := range c.argv {
		argv[i] = strings.ReplaceAll(a, "{}", strconv.Itoa(seq))
	}
	if !traced {
		r, err := timed(c.env, argv)
		if err != nil {
			return result{}, fmt.Errorf("%s: %w", c.label, err)
		}
		return r, nil
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	// PTRACE_TRACEME makes the thread that forks the tracer: every
	// ptrace call must come from it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	cmd.Stdin = os.Stdin
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return result{}, fmt.Errorf("%s: %w", c.label, err)
	}
	peak, ws, err := traceToExit(cmd.Process.Pid)
	// The process is reaped: keep os/exec from waiting for it again.
	_ = cmd.Process.Release()
	if err == nil {
		err = statusError(ws)
	}
	if err != nil {
		return result{}, fmt.Errorf("%s (%s): %w", c.label, strings.Join(argv, " "), err)
	}
	return result{rss: peak.hwm, anon: peak.anon}, nil
}

// timed runs argv once, with env added to ours, and returns its wall time,
// the CPU time of it and the descendants it reaped, and their ru_maxrss.
// A run that does not exit 0 is an error.
func timed(env, argv []string) (result, error) { return timedTo(os.Stderr, env, argv) }

// timedTo is timed with the command's output going to out.
func timedTo(out *os.File, env, argv []string) (result, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	// Files, not buffers: os/exec copies into buffers from goroutines that
	// only Wait collects, and the process is reaped here with wait4. The
	// command's stdin is ours, not a /dev/null of os/exec's: a runtime
	// may give its stdio to the container's root (crun 1.8.1 chowns it,
	// the host's /dev/null included, to the root of a user namespace), so
	// whoever runs a user namespace's row gives us a private one.
	cmd.Stdin = os.Stdin
	cmd.Stdout = out
	cmd.Stderr = out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	_, err := syscall.Wait4(cmd.Process.Pid, &ws, 0, &ru)
	wall := time.Since(start)
	_ = cmd.Process.Release()
	if err == nil {
		err = statusError(ws)
	}
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return result{wall: wall, cpu: cpu, rss: ru.Maxrss}, nil
}

func statusError(ws syscall.WaitStatus) error {
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return fmt.Errorf("wait status %#x", uint32(ws))
	}
	return nil
}

// traceToExit runs a process started with PTRACE_TRACEME to its end and
// returns its own peak RSS: the largest VmHWM (and RssAnon) read when one
// of its threads stops at exit (the memory is still mapped then) and
// around each execve (crun re-executes itself, and a new image starts a
// new VmHWM). All its threads are traced (PTRACE_O_TRACECLONE), at their
// syscalls: a Go runtime may exit from any thread, and exit_group kills
// the others, so the first thread alone may die while stopped, or without
// an exit stop of its own. Child processes are not: fork, vfork and clones
// with SIGCHLD as exit signal (which a runtime needs to wait4 for them)
// are not followed. Signals the threads get are passed on.
func traceToExit(pid int) (memPeak, syscall.WaitStatus, error) {
	var ws syscall.WaitStatus
	// The exec stops the child with SIGTRAP.
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		return memPeak{}, ws, fmt.Errorf("wait for the traced exec: %w", err)
	}
	if !ws.Stopped() {
		return memPeak{}, ws, fmt.Errorf("traced child did not stop at exec: %#x", uint32(ws))
	}
	opts := unix.PTRACE_O_TRACEEXIT | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_TRACECLONE |
		unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_EXITKILL
	if err := unix.PtraceSetOptions(pid, opts); err != nil {
		return memPeak{}, ws, fmt.Errorf("ptrace options: %w", err)
	}
	peak := memPeak{hwm: -1, anon: -1}
	sawExit := false
	sample := func(tid int) error {
		m, err := readMemory(tid)
		peak.hwm = max(peak.hwm, m.hwm)
		peak.anon = max(peak.anon, m.anon)
		return err
	}
	// Threads past their first stop: a new thread starts with a SIGSTOP
	// from the automatic attach, which is not for it.
	started := map[int]bool{pid: true}
	tid, sig := pid, 0
	for {
		if err := unix.PtraceSyscall(tid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return memPeak{}, ws, fmt.Errorf("ptrace syscall: %w", err)
		}
		for {
			var err error
			if tid, err = syscall.Wait4(-1, &ws, unix.WALL, nil); err != nil {
				return memPeak{}, ws, fmt.Errorf("wait for the traced process: %w", err)
			}
			if !ws.Exited() && !ws.Signaled() {
				break
			}
			// Other threads end silently; the first thread's end, which
			// wait4 reports once all are gone, is the process's.
			if tid == pid {
				if !sawExit {
					return memPeak{}, ws, errors.New("no thread of the traced process stopped at exit")
				}
				return peak, ws, nil
			}
		}
		sig = 0
		switch {
		case !ws.Stopped():
		case ws.StopSignal() == syscall.SIGTRAP|0x80: // syscall stop
			var regs unix.PtraceRegs
			err := unix.PtraceGetRegs(tid, &regs)
			if errors.Is(err, unix.ESRCH) {
				break // killed while stopped: its exit comes through wait4
			}
			if err != nil {
				return memPeak{}, ws, fmt.Errorf("ptrace getregs: %w", err)
			}
			if regs.Orig_rax == unix.SYS_EXECVE || regs.Orig_rax == unix.SYS_EXECVEAT {
				if err := sample(tid); err != nil {
					return memPeak{}, ws, err
				}
			}
		case ws.TrapCause() == unix.PTRACE_EVENT_EXIT:
			if err := sample(tid); err != nil {
				return memPeak{}, ws, err
			}
			sawExit = true
		case ws.TrapCause() == unix.PTRACE_EVENT_EXEC, ws.TrapCause() == unix.PTRACE_EVENT_CLONE:
		case ws.StopSignal() == syscall.SIGSTOP && !started[tid]:
		default:
			sig = int(ws.StopSignal())
		}
		started[tid] = true
	}
}

// memPeak is what a traced process's /proc/PID/status says of its memory,
// in KiB.
type memPeak struct {
	hwm  int64 // VmHWM: the peak resident set so far
	anon int64 // RssAnon: resident anonymous memory now
}

func readMemory(pid int) (memPeak, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memPeak{}, err
	}
	return parseStatusMemory(string(data), pid)
}

func parseStatusMemory(status string, pid int) (memPeak, error) {
	m := memPeak{hwm: -1, anon: -1}
	for line := range strings.Lines(status) {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmHWM" && name != "RssAnon") {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return memPeak{}, fmt.Errorf("/proc/%d/status: %s: %w", pid, name, err)
		}
		if name == "VmHWM" {
			m.hwm = kib
		} else {
			m.anon = kib
		}
	}
	if m.hwm < 0 || m.anon < 0 {
		return memPeak{}, fmt.Errorf("no VmHWM and RssAnon in /proc/%d/status", pid)
	}
	return m, nil
}

func median[T int64 | time.Duration | float64](v []T) T {
	s := append([]T(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func quantile(v []time.Duration, q float64) time.Duration {
	s := append([]time.Duration(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(q*float64(len(s)-1)+0.5)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

func mib(kib int64) string {
	if kib < 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(kib)/1024)
}

func report(w *os.File, cmds []*command, ref string) {
	var refMedian time.Duration
	for _, c := range cmds {
		if c.label == ref {
			refMedian = median(c.wall)
		}
	}
	fmt.Fprintf(w, "%-12s %5s %9s %7s %7s %7s %8s %8s %9s  %s\n", "runtime", "runs", "median ms", "min", "p90", "cpu ms", "own MiB", "private", "tree MiB", "ratio")
	for _, c := range cmds {
		ratio := "-"
		if refMedian > 0 {
			ratio = fmt.Sprintf("%.2f x %s", float64(median(c.wall))/float64(refMedian), ref)
		}
		own, anon := int64(-1), int64(-1)
		if len(c.own) > 0 {
			own, anon = median(c.own), median(c.anon)
		}
		fmt.Fprintf(w, "%-12s %5d %9s %7s %7s %7s %8s %8s %9s  %s\n", c.label, len(c.wall),
			ms(median(c.wall)), ms(quantile(c.wall, 0)), ms(quantile(c.wall, 0.9)), ms(median(c.cpu)),
			mib(own), mib(anon), mib(median(c.tree)), ratio)
	}
}
