#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "startup.h"

// The Go runtime gives itself one P per CPU of the mask it starts with,
// and a runtime command wants one: going down to one later stops the
// world and hands the second P's cached memory back to the heap, fresh
// pages whose first touches are page faults, about 0.6 ms of CPU per
// command on the project's VM. So the command starts pinned to the CPU
// it is on, and the Go side (startup.go) gives every thread the caller's
// mask back before anything else runs. The init and the processes it
// becomes keep the mask untouched, as do test binaries, which want their
// parallelism.
static cpu_set_t startup_mask;
static int startup_pinned;

static int is_test_binary(void)
{
	const char *name = program_invocation_short_name;
	size_t n = strlen(name);
	return n >= 5 && strcmp(name + n - 5, ".test") == 0;
}

__attribute__((constructor)) static void start_on_one_cpu(void)
{
	if (getenv("_OCIRT_SYNC_FD") != NULL || is_test_binary())
		return;
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

int ocirt_startup_mask(void *mask, size_t size)
{
	if (!startup_pinned || size != sizeof(startup_mask))
		return 0;
	memcpy(mask, &startup_mask, size);
	return 1;
}
