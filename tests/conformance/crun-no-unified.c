/*
 * LD_PRELOAD shim for the crun baseline (see crun-compat.sh): makes
 * statfs("/sys/fs/cgroup/unified") fail with ENOENT, so that crun 1.8 takes
 * a hybrid cgroup host for a pure cgroup v1 one. crun refuses hybrid hosts
 * whose v2 hierarchy has controllers ("cgroups in hybrid mode not
 * supported"); this host has hugetlb there. crun then manages the v1
 * controllers like runc does and leaves the v2 hierarchy alone.
 * Nothing is mounted or changed on the host.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/vfs.h>

int statfs(const char *path, struct statfs *buf)
{
	static int (*next)(const char *, struct statfs *);

	if (path != NULL && strcmp(path, "/sys/fs/cgroup/unified") == 0) {
		errno = ENOENT;
		return -1;
	}
	if (next == NULL) {
		next = (int (*)(const char *, struct statfs *))dlsym(RTLD_NEXT, "statfs");
		if (next == NULL) {
			errno = ENOSYS;
			return -1;
		}
	}
	return next(path, buf);
}
