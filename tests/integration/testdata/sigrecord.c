/* sigrecord: blocks every signal, prints "ready", then prints the number
 * of each signal it receives on a line of its own, until SIGTERM, after
 * which it exits 0. The signal tests use it to see exactly which signals
 * the runtime passed on, standard and real-time alike. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>

int main(void)
{
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("ready\n");
	for (;;) {
		int sig = sigwaitinfo(&all, NULL);
		if (sig < 0)
			continue;
		printf("%d\n", sig);
		if (sig == SIGTERM)
			return 0;
	}
}
