#ifndef OCIRT_PLAN_H
#define OCIRT_PLAN_H

#include <stdint.h>

// The wire format of an exec plan; plan.go is its definition and
// documentation, this header mirrors it for plan.c.

#define OCIRT_PLAN_MAGIC 0x5058434fU // "OCXP"
#define OCIRT_PLAN_VERSION 2
// A filesystem request (filesystem.go) starts with its own magic, so that
// an init that waits for its plan tells the two apart.
#define OCIRT_FILESYSTEM_MAGIC 0x5346434fU // "OCFS"
// So does a request to run the createContainer hooks (hooks.go).
#define OCIRT_HOOKS_MAGIC 0x4b48434fU // "OCHK"

enum ocirt_plan_op {
	OCIRT_PLAN_SETSID = 1,
	OCIRT_PLAN_SETNS_CHILDREN = 2, // uint32 fd, uint32 CLONE_NEW* type
	OCIRT_PLAN_PERSONALITY = 3, // uint32 persona
	OCIRT_PLAN_WRITE_AT = 4, // uint32 dir fd, path\0, value (rest of the data)
	OCIRT_PLAN_SCHED_ATTR = 5, // struct sched_attr as the kernel takes it
	OCIRT_PLAN_IOPRIO = 6, // uint32 ioprio value for the process
	OCIRT_PLAN_AFFINITY = 7, // cpu_set_t bytes
	OCIRT_PLAN_SESSION_KEYRING = 8,
	OCIRT_PLAN_CHOWN_STDIO = 9, // uint32 fd, uint32 uid
	OCIRT_PLAN_CHDIR = 10, // path\0
	OCIRT_PLAN_FIND_PROGRAM = 11, // string list of candidates
	OCIRT_PLAN_SECCOMP = 12, // uint32 flags, uint32 n, n x {u16 code, u8 jt, u8 jf, u32 k}
	OCIRT_PLAN_RELEASE = 13,
	OCIRT_PLAN_RLIMIT = 14, // uint32 resource, uint64 soft, uint64 hard
	OCIRT_PLAN_PRCTL = 15, // uint32 option, uint64 arg2, uint64 arg3
	OCIRT_PLAN_SETGROUPS = 16, // uint32 gids (len / 4 of them)
	OCIRT_PLAN_SETRESGID = 17, // uint32 gid
	OCIRT_PLAN_SETRESUID = 18, // uint32 uid
	OCIRT_PLAN_CAPSET = 19, // uint64 effective, permitted, inheritable
	OCIRT_PLAN_UMASK = 20, // uint32 mask
	// uint32 close_from, uint32 ctty, uint32 fifo fd (0: none), uint32 its procfs fd, uint32 hook state fd,
	// uint32 state max, seccomp as above, argv list, env list, hooks as for OCIRT_PLAN_EXEC_AFTER_START
	OCIRT_PLAN_SPAWN = 21,
	OCIRT_PLAN_CONSOLE = 22, // uint32 console socket fd, uint32 rows, uint32 cols
	OCIRT_PLAN_SECCOMP_NOTIFY = 23, // as OCIRT_PLAN_SECCOMP; the listener fd goes to the parent
	OCIRT_PLAN_CHROOT = 24, // uint32 fd of the new root
	OCIRT_PLAN_MEMPOLICY = 25, // uint32 mode, uint64 node mask words (the rest of the data)
	OCIRT_PLAN_PROCFS = 26, // uint32 target fd
	// uint32 close_from, uint32 fifo fd, uint32 procfs fd, seccomp as above, argv list, env list,
	// uint32 state length, state, uint32 n, n x {int32 timeout (-1: none), path\0, argv list, env list}
	OCIRT_PLAN_EXEC_AFTER_START = 27,
	OCIRT_PLAN_TERMINAL_FROM_PARENT = 28, // uint32 make it the controlling terminal
	OCIRT_PLAN_PROCFS_AT = 29, // uint32 target fd, path\0
	OCIRT_PLAN_ROOT_FROM_PARENT = 30,
	OCIRT_PLAN_PROCFS_FROM = 31, // uint32 context fd, uint32 target fd
	OCIRT_PLAN_WRITE_AND_CLOSE = 32, // uint32 fd, value (rest of the data)
};

// ocirt_run_plan carries out the plan of len bytes at plan, reporting on
// sync_fd, and ends the process: it never returns.
void ocirt_run_plan(const char *plan, uint32_t len, int sync_fd) __attribute__((noreturn));

// ocirt_make_filesystem carries out the filesystem request of len bytes
// at req, if it is one (filesystem.go), and reports on sync_fd: it
// returns 0 then, and -1 without a word when req is something else.
int ocirt_make_filesystem(const char *req, uint32_t len, int sync_fd);

// ocirt_run_hooks_request carries out the request of len bytes at req to
// run hooks, if it is one (hooks.go), and reports on sync_fd: it returns
// 0 then, and -1 without a word when req is something else.
int ocirt_run_hooks_request(const char *req, uint32_t len, int sync_fd);

// ocirt_write_and_close writes len bytes of buf to fd, a file the
// runtime opened (the kernel checks some writes against the opener's
// rights), and closes it. It returns -1 with errno set when it could not
// write all of it.
int ocirt_write_and_close(int fd, const void *buf, size_t len);

// ocirt_write_at writes len bytes of buf to the file path below the
// directory fd dir (a procfs handle): the lookup may not leave that mount
// nor follow a magic link, so nothing mounted or linked there can
// redirect the write. It returns -1 with errno set when it could not
// write all of it.
int ocirt_write_at(int dir, const char *path, const void *buf, size_t len);

#endif
