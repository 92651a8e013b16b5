#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "startup.h"

// The Go runtime gives itself one P per CPU of the mask it starts with,
// and a runtime command wants one: going down to one later stops the
// world and hands the second P's cached memory back to the heap, fresh
// pages whose first touches are page faults, about 0.6 ms of CPU per
// command on the project's VM. So the command starts pinned to the CPU
// it is on, and its own threads stay there: one CPU serves a command,
// which runs one goroutine at a time, as well as two, and a thread that
// wakes another on the same CPU spares the interrupt to the other CPU, on
// a virtual machine an exit to the hypervisor (an exec took 15% less of
// the machine's CPU, a state 28%, than with every thread given the
// caller's mask back at start). What the runtime starts gets the caller's
// mask back (startup.go's StartChild).
static cpu_set_t startup_mask;
static int startup_pinned;

static int is_test_binary(void)
{
	const char *name = program_invocation_short_name;
	size_t n = strlen(name);
	return n >= 5 && strcmp(name + n - 5, ".test") == 0;
}

static void pin_to_one_cpu(void)
{
	if (sched_getaffinity(0, sizeof(startup_mask), &startup_mask) < 0 || CPU_COUNT(&startup_mask) < 2)
		return;
	int cpu = sched_getcpu();
	if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &startup_mask))
		return;
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	startup_pinned = sched_setaffinity(0, sizeof(one), &one) == 0;
}

// While the goroutine holding the command's one P is in a system call,
// the Go runtime's monitor thread wakes every 20 µs to take the P back
// and hand it on, and each of a command's many short calls (cgroup
// writes, mounts, namespace joins) starts that again: about a hundred
// wakes in an exec, each a timer interrupt and a wake of another CPU,
// which on a virtual machine is an exit to the hypervisor. The kernel may
// delay a thread's timed sleeps by its timer slack, and a thread starts
// with the slack of the thread that starts it: raised here, before the Go
// runtime starts any, it is the slack of the monitor and of every other
// thread the runtime starts in its own start-up, and the monitor wakes a
// few times per command. Measured on the project's VM: raised on the
// runtime's threads once main ran, an exec took 12% less CPU and wall
// time, a run 10% and 15%; raised here, from their first sleep, an exec
// took another 24% less of the machine's CPU and a state 22%. Long enough
// for that, short against what waits on it: a goroutine that needs the P
// another holds in a system call waits at most this long for the
// hand-over. startup.go gives the main thread the caller's slack back
// before main runs (what it starts later inherits that), and the runtime
// starts its children with the caller's (StartChild). Setting one's own
// slack needs no privilege.
#define RELAXED_SLACK_NS 5000000UL

static unsigned long caller_slack;

static void relax_timer_slack(void)
{
	int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	if (slack > 0 && prctl(PR_SET_TIMERSLACK, RELAXED_SLACK_NS, 0, 0, 0) == 0)
		caller_slack = (unsigned long)slack;
}

// The init and the processes it becomes keep mask and slack untouched, as
// do test binaries, which want their parallelism.
__attribute__((constructor)) static void start_up(void)
{
	if (getenv("_OCIRT_SYNC_FD") != NULL || is_test_binary())
		return;
	pin_to_one_cpu();
	relax_timer_slack();
}

int ocirt_startup_mask(void *mask, size_t size)
{
	if (!startup_pinned || size != sizeof(startup_mask))
		return 0;
	memcpy(mask, &startup_mask, size);
	return 1;
}

unsigned long ocirt_startup_slack(void)
{
	return caller_slack;
}
