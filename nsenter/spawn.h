#ifndef OCIRT_SPAWN_H
#define OCIRT_SPAWN_H

#include <linux/filter.h>

// A hook, as Go prepared it: the child runs it as is.
struct ocirt_hook {
	const char *path;
	char *const *argv;
	char *const *envp;
	int timeout; // seconds, or -1 for none
};

struct ocirt_spawn {
	const char *path;
	char *const *argv;
	char *const *envp;
	struct sock_fprog filter; // len 0: no filter to install
	unsigned long seccomp_flags;
	int close_from; // fds from here on are not the process's
	int ctty; // make stdin the controlling terminal
	// wait_fifo, when not -1, is an O_PATH fd of the exec fifo: the child
	// opens it for writing through wait_procfs (self/fd/N), a procfs of
	// its pid namespace, which blocks until `start` reads it, before it
	// installs the filter and executes; what fails from there on is
	// reported into the fifo (a spawnerror frame, see protocol.go).
	int wait_fifo;
	int wait_procfs;
	// n_hooks hooks run in order once `start` opened the fifo, before
	// execve, each with the bytes read from hook_state (a pipe, up to
	// EOF, at most state_cap of them, into state_buf) on its stdin, or,
	// with hook_state -1, the state_len bytes already in state_buf. The
	// first that fails ends the process with a hookerror frame in the
	// fifo.
	const struct ocirt_hook *hooks;
	int n_hooks;
	int hook_state;
	char *state_buf;
	unsigned long state_cap;
	unsigned long state_len;
};

// The step at which the child failed.
enum {
	OCIRT_STEP_SESSION = 1, // setsid or TIOCSCTTY
	OCIRT_STEP_SECCOMP = 2,
	OCIRT_STEP_EXEC = 3,
	OCIRT_STEP_CLONE = 4, // preparing or cloning, in the caller
	OCIRT_STEP_HOOK_STATE = 5, // reading the hooks' state
};

// How a hook failed, and what the value in its report is.
enum {
	OCIRT_HOOK_EXITED = 1, // value: its wait status
	OCIRT_HOOK_TIMEOUT = 2, // value: the timeout, in seconds
	OCIRT_HOOK_EXEC = 3, // value: execve's errno
	OCIRT_HOOK_START = 4, // value: errno of a pipe, open or fork
};

struct ocirt_spawn_err {
	int step; // 0: the child reached its program
	int err; // errno of the failed step
};

// How the process names itself when it exits: the child's pid, or the
// step that failed and its errno.
#define OCIRT_REPORT_STARTED "started %d"
#define OCIRT_REPORT_FAILED "failed %d %d"
// How much of a failed hook's stderr its report carries.
#define OCIRT_HOOK_STDERR 8192

// ocirt_spawn_and_exit starts the container's process as a sibling of the
// caller and exits the whole process. A failure before the clone is
// reported on report_fd as a sync socket frame ({"type":"spawnerror",
// "step":S,"errno":E}); otherwise report_fd is closed before the clone,
// and the outcome is the name the process exits with (OCIRT_REPORT_*).
void ocirt_spawn_and_exit(const struct ocirt_spawn *s, int report_fd) __attribute__((noreturn));

// ocirt_exec_after_start makes the calling process the container's
// process of a create: it closes every fd from s->close_from on but the
// fifo and its procfs (the sync socket among them, which tells the
// runtime the setup is over), waits for `start` as the child of
// ocirt_spawn_and_exit does, and goes on as ocirt_finish_after_start.
// Failures from the wait on go into the fifo (a spawnerror frame); it
// returns, -1 and errno, only when the fds could not be closed.
int ocirt_exec_after_start(const struct ocirt_spawn *s);

// ocirt_finish_after_start ends a created process that `start` let go on,
// fifo the exec fifo it opened for writing: it installs the filter, runs
// the hooks (under the filter, as the container's process) and executes.
// What fails goes into the fifo (a spawnerror or hookerror frame).
void ocirt_finish_after_start(const struct ocirt_spawn *s, int fifo) __attribute__((noreturn));

// ocirt_run_hooks_in runs the n_hooks hooks of s in order, now, in
// directory dir (NULL: the caller's), each with the state_len bytes of
// state_buf on stdin, /dev/null as stdout and no fd but its stdio: the
// createContainer hooks of an init that serves the runtime setting it up
// from outside. It returns 0 when all succeeded, and -1 for the first
// that failed, whose hookerror frame it wrote to report_fd.
int ocirt_run_hooks_in(const struct ocirt_spawn *s, const char *dir, int report_fd);

// ocirt_make_procfs places a procfs of the calling process's pid
// namespace, mounted nowhere, at fd target: nothing in the container can
// mount over it. 0, or -1 and errno.
int ocirt_make_procfs(int target);

// ocirt_make_procfs_from places at fd target the procfs of ctx, an
// fsopen("proc") context a helper made in another pid namespace, mounted
// nowhere, without exec, suid or devices; it closes ctx. 0, or -1 and
// errno (EMEDIUMTYPE when ctx was no procfs's).
int ocirt_make_procfs_from(int ctx, int target);

// ocirt_place_fd moves fd to target, close-on-exec, closing fd unless it
// is target already. 0, or -1 and errno.
int ocirt_place_fd(int fd, int target);

#endif
