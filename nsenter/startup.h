#ifndef OCIRT_STARTUP_H
#define OCIRT_STARTUP_H

#include <stddef.h>

// ocirt_startup_mask copies the CPU mask the process started with (a
// cpu_set_t) into the size bytes at mask and returns 1 when the start-up
// pinned the process to one CPU of it (see startup.c); 0, and mask
// untouched, when it did not or size is not a cpu_set_t's.
int ocirt_startup_mask(void *mask, size_t size);

// ocirt_startup_slack returns the main thread's timer slack at start when
// the start-up raised it for the Go runtime's threads (see startup.c);
// 0 when it did not.
unsigned long ocirt_startup_slack(void);

#endif
