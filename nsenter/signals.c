#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "signals.h"

// The fd every caught signal is written to: each call sets it, and the
// caller passes the same one for the life of the process (signals.go).
static volatile int caught_fd = -1;

static void record_signal(int sig, siginfo_t *info, void *context)
{
	(void)context;
	// The kernel sends SIGPIPE to a process whose write found no reader,
	// as from the process itself: that is the runtime's own matter (the
	// write fails with EPIPE too), not a signal for the container.
	if (sig == SIGPIPE && info->si_code == SI_USER && info->si_pid == getpid())
		return;
	int saved = errno;
	unsigned char number = (unsigned char)sig;
	// A full pipe drops the signal, as the kernel merges a standard
	// signal that is already pending.
	if (write(caught_fd, &number, 1) < 0) {
		// Nothing to report to from a signal handler.
	}
	errno = saved;
}

int ocirt_catch_signal(int sig, int fd)
{
	struct sigaction sa;

	caught_fd = fd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = record_signal;
	// On the thread's alternate signal stack, which every thread of the
	// Go runtime has: a goroutine's small stack could not take the
	// handler. Every other signal waits while it runs, so that it never
	// nests.
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigfillset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}
