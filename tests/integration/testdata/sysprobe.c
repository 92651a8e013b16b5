/* sysprobe NR [ARG0]: makes raw syscall NR and prints "ret=R errno=E", so
 * seccomp tests can reach syscalls busybox has no applet for (keyctl,
 * personality with a given value, numbers no kernel has yet). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: sysprobe NR [ARG0]\n");
		return 2;
	}
	long nr = strtol(argv[1], NULL, 0);
	unsigned long a0 = argc > 2 ? strtoul(argv[2], NULL, 0) : 0;
	errno = 0;
	long r = syscall(nr, a0, 0, 0, 0, 0, 0);
	printf("ret=%ld errno=%d\n", r, r == -1 ? errno : 0);
	return 0;
}
