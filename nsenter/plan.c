// The executor of a plan (see plan.go): the process `exec` starts runs it
// from the namespace stage, right after joining the container's
// namespaces, and a created container's init once the runtime has set the
// container up; neither starts the Go runtime. Every decision was made in
// Go; each step here is one system call, or a fixed short sequence of
// them, with the arguments as given. The first step that fails ends the
// process with a {"type":"planerror","step":N,"errno":E} frame (the
// protocol: protocol.go).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <termios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plan.h"
#include "protocol.h"
#include "spawn.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define KEYCTL_JOIN_SESSION_KEYRING 1
#define IOPRIO_WHO_PROCESS 1
#define LINUX_CAPABILITY_VERSION_3 0x20080522
#define MAX_LIST 65536
#define MAX_NODE_WORDS 16 // the kernel's largest MAX_NUMNODES, 1024 bits

struct cap_header {
	uint32_t version;
	int pid;
};

struct cap_data {
	uint32_t effective, permitted, inheritable;
};

struct cursor {
	const char *p;
	uint32_t left;
};

struct plan_state {
	int sync_fd;
	int step;
	const char *program; // chosen by OCIRT_PLAN_FIND_PROGRAM
};

__attribute__((noreturn)) static void step_failed(const struct plan_state *st, int err)
{
	char msg[96];
	int n = snprintf(msg, sizeof(msg), OCIRT_MSG_PLANERROR, st->step, err);
	ocirt_write_frame(st->sync_fd, msg, (uint32_t)n);
	_exit(1);
}

static uint32_t get_u32(const struct plan_state *st, struct cursor *c)
{
	uint32_t v;
	if (c->left < 4)
		step_failed(st, EINVAL);
	memcpy(&v, c->p, 4);
	c->p += 4;
	c->left -= 4;
	return v;
}

static uint64_t get_u64(const struct plan_state *st, struct cursor *c)
{
	uint64_t v;
	if (c->left < 8)
		step_failed(st, EINVAL);
	memcpy(&v, c->p, 8);
	c->p += 8;
	c->left -= 8;
	return v;
}

static const char *get_str(const struct plan_state *st, struct cursor *c)
{
	const char *end = memchr(c->p, '\0', c->left);
	if (end == NULL)
		step_failed(st, EINVAL);
	const char *s = c->p;
	c->left -= (uint32_t)(end - s + 1);
	c->p = end + 1;
	return s;
}

// get_list returns a NULL-terminated array of the strings in a string
// list; the strings stay in the plan.
static char **get_list(const struct plan_state *st, struct cursor *c)
{
	uint32_t n = get_u32(st, c);
	if (n > MAX_LIST)
		step_failed(st, E2BIG);
	char **list = calloc((size_t)n + 1, sizeof(char *));
	if (list == NULL)
		step_failed(st, ENOMEM);
	for (uint32_t i = 0; i < n; i++)
		list[i] = (char *)get_str(st, c);
	return list;
}

static struct sock_fprog get_filter(const struct plan_state *st, struct cursor *c, uint32_t *flags)
{
	struct sock_fprog prog = {0, NULL};
	*flags = get_u32(st, c);
	uint32_t n = get_u32(st, c);
	if (n > 0xffff || c->left < n * sizeof(struct sock_filter))
		step_failed(st, EINVAL);
	if (n == 0)
		return prog;
	prog.filter = malloc(n * sizeof(struct sock_filter));
	if (prog.filter == NULL)
		step_failed(st, ENOMEM);
	memcpy(prog.filter, c->p, n * sizeof(struct sock_filter));
	prog.len = (unsigned short)n;
	c->p += n * sizeof(struct sock_filter);
	c->left -= n * (uint32_t)sizeof(struct sock_filter);
	return prog;
}

static int openat2_retry(int dir, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how = {.flags = flags, .resolve = resolve};
	int fd;
	// Anything renamed or mounted on the host makes openat2 ask for a
	// retry.
	while ((fd = (int)syscall(SYS_openat2, dir, path, &how, sizeof(how))) < 0 && (errno == EAGAIN || errno == EINTR))
		;
	return fd;
}

int ocirt_write_at(int dir, const char *path, const void *buf, size_t len)
{
	int fd = openat2_retry(dir, path, O_WRONLY | O_CLOEXEC | O_NOCTTY,
			       RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, buf, len);
	int err = errno;
	close(fd);
	errno = err;
	return n == (ssize_t)len ? 0 : -1;
}

int ocirt_write_and_close(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);
	int err = errno;
	close(fd);
	errno = err;
	return n == (ssize_t)len ? 0 : -1;
}

static int write_at(struct cursor *c, const struct plan_state *st)
{
	int dir = (int)get_u32(st, c);
	const char *path = get_str(st, c);
	return ocirt_write_at(dir, path, c->p, c->left);
}

// open_in_root opens the directory path as an O_PATH handle, resolved
// inside the process's root with the further restrictions resolve.
static int open_in_root(const char *path, uint64_t resolve)
{
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -1;
	int fd = openat2_retry(root, path, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_IN_ROOT | resolve);
	int err = errno;
	close(root);
	errno = err;
	return fd;
}

// PROC_ROOT_INO is the inode number of every procfs's root directory
// (fixed in the kernel, not in its uapi headers).
#define PROC_ROOT_INO 1

// procfs_at places at target the procfs mounted at path in the process's
// root, found without following a link, once it has shown itself to be
// the root of a procfs whose "self" is this process: one of its pid
// namespace. A mount over it, or a procfs of another namespace, fails
// the step.
static int procfs_at(struct cursor *c, const struct plan_state *st)
{
	int target = (int)get_u32(st, c);
	int fd = open_in_root(get_str(st, c), RESOLVE_NO_SYMLINKS);
	if (fd < 0)
		return -1;
	struct statfs sfs;
	struct stat sb;
	char self[32], want[32];
	ssize_t n = -1;
	if (fstatfs(fd, &sfs) == 0 && fstat(fd, &sb) == 0 && sfs.f_type == PROC_SUPER_MAGIC && sb.st_ino == PROC_ROOT_INO)
		n = readlinkat(fd, "self", self, sizeof(self) - 1);
	int len = snprintf(want, sizeof(want), "%d", (int)getpid());
	if (n != len || memcmp(self, want, (size_t)len) != 0) {
		close(fd);
		errno = EMEDIUMTYPE;
		return -1;
	}
	return ocirt_place_fd(fd, target);
}

static int chown_stdio(int fd, uint32_t uid)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return errno == EBADF ? 0 : -1;
	if (sb.st_uid == uid)
		return 0;
	if (fchown(fd, uid, sb.st_gid) < 0 && errno != EINVAL && errno != EPERM && errno != EROFS)
		return -1;
	return 0;
}

static int change_dir(const char *dir)
{
	char cwd[4096];
	int fd = open_in_root(dir, RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		return -1;
	int rc = fchdir(fd);
	int err = errno;
	close(fd);
	errno = err;
	if (rc < 0 || getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	// getcwd marks a directory outside the root "(unreachable)": the
	// second line of defence should resolution ever be fooled.
	if (cwd[0] != '/') {
		errno = EXDEV;
		return -1;
	}
	return 0;
}

// find_program returns the first candidate that execve would run, or
// NULL with errno saying why the last one would not.
static const char *find_program(char **candidates)
{
	errno = ENOENT;
	for (char **c = candidates; *c != NULL; c++) {
		int fd = openat2_retry(AT_FDCWD, *c, O_PATH | O_CLOEXEC, RESOLVE_NO_MAGICLINKS);
		if (fd < 0)
			continue;
		struct stat sb;
		int rc = fstat(fd, &sb);
		close(fd);
		if (rc < 0)
			continue;
		if (S_ISREG(sb.st_mode) && (sb.st_mode & 0111) != 0)
			return *c;
		errno = EACCES;
	}
	return NULL;
}

// install_listener installs a filter that returns a listener fd and
// passes the fd to the parent attached to a notify frame.
static int install_listener(int sock, uint32_t flags, struct sock_fprog *prog)
{
	static const char notify[] = OCIRT_MSG_NOTIFY;
	int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);
	if (fd < 0)
		return -1;
	int rc = ocirt_send_frame_fd(sock, notify, sizeof(notify) - 1, fd);
	int err = errno;
	close(fd);
	errno = err;
	return rc;
}

static int wait_for_release(int fd)
{
	static const char ready[] = OCIRT_MSG_READY;
	if (ocirt_write_frame(fd, ready, sizeof(ready) - 1) < 0)
		return -1;
	return ocirt_read_ack(fd);
}

static int set_caps(struct cursor *c, const struct plan_state *st)
{
	uint64_t effective = get_u64(st, c), permitted = get_u64(st, c), inheritable = get_u64(st, c);
	struct cap_header hdr = {LINUX_CAPABILITY_VERSION_3, 0};
	struct cap_data data[2];
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(effective >> (32 * i));
		data[i].permitted = (uint32_t)(permitted >> (32 * i));
		data[i].inheritable = (uint32_t)(inheritable >> (32 * i));
	}
	return (int)syscall(SYS_capset, &hdr, data);
}

// open_console opens a pty in the container's devpts, hands the master to
// the console socket and makes the slave stdio. The slave is reached
// through the master, never by a path the container could have planted.
static int open_console(int sock, unsigned short rows, unsigned short cols)
{
	struct stat sb;
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), slave = -1, unlock = 0, rc = -1;
	if (master < 0)
		return -1;
	if (fstat(master, &sb) < 0 || !S_ISCHR(sb.st_mode) || sb.st_rdev != makedev(5, 2)) {
		errno = ENODEV;
		goto out;
	}
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		goto out;
	// The argument is the slave's open flags: O_RDWR, or the process
	// could not write to its terminal.
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		goto out;
	if (rows != 0 || cols != 0) {
		struct winsize ws = {.ws_row = rows, .ws_col = cols};
		if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
			goto out;
	}
	char name[] = "/dev/ptmx", control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = name, .iov_len = sizeof(name) - 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	if (sendmsg(sock, &msg, 0) < 0)
		goto out;
	for (int fd = 0; fd < 3; fd++)
		if (dup3(slave, fd, 0) < 0)
			goto out;
	rc = 0;
out:;
	int err = errno;
	close(master);
	if (slave >= 0)
		close(slave);
	close(sock);
	errno = err;
	return rc;
}

// get_hook_list reads the startContainer hooks into s.
static void get_hook_list(struct cursor *c, struct plan_state *st, struct ocirt_spawn *s)
{
	uint32_t n = get_u32(st, c);
	if (n > MAX_LIST)
		step_failed(st, E2BIG);
	if (n == 0)
		return;
	struct ocirt_hook *hooks = calloc(n, sizeof(*hooks));
	if (hooks == NULL)
		step_failed(st, ENOMEM);
	for (uint32_t i = 0; i < n; i++) {
		hooks[i].timeout = (int)get_u32(st, c);
		hooks[i].path = get_str(st, c);
		hooks[i].argv = get_list(st, c);
		hooks[i].envp = get_list(st, c);
	}
	s->hooks = hooks;
	s->n_hooks = (int)n;
}

// get_hooks reads the startContainer hooks and their state, which stays
// in the plan, into s.
static void get_hooks(struct cursor *c, struct plan_state *st, struct ocirt_spawn *s)
{
	uint32_t len = get_u32(st, c);
	if (len > c->left)
		step_failed(st, EINVAL);
	s->state_buf = (char *)c->p;
	s->state_len = s->state_cap = len;
	c->p += len;
	c->left -= len;
	get_hook_list(c, st, s);
}

// get_program reads what both last steps end with, the filter, argv and
// env, into s, with the program FIND_PROGRAM chose.
static void get_program(struct cursor *c, struct plan_state *st, struct ocirt_spawn *s)
{
	uint32_t flags;
	s->filter = get_filter(st, c, &flags);
	s->seccomp_flags = flags;
	s->argv = get_list(st, c);
	s->envp = get_list(st, c);
	if (st->program == NULL)
		step_failed(st, EINVAL);
	s->path = st->program;
}

__attribute__((noreturn)) static void spawn(struct cursor *c, struct plan_state *st)
{
	struct ocirt_spawn s;
	memset(&s, 0, sizeof(s));
	s.close_from = (int)get_u32(st, c);
	s.ctty = (int)get_u32(st, c);
	s.wait_fifo = (int)get_u32(st, c);
	s.wait_procfs = (int)get_u32(st, c);
	if (s.wait_fifo == 0)
		s.wait_fifo = s.wait_procfs = -1;
	s.hook_state = (int)get_u32(st, c);
	s.state_cap = get_u32(st, c);
	get_program(c, st, &s);
	get_hook_list(c, st, &s);
	if (s.n_hooks > 0) {
		if (s.wait_fifo < 0 || s.hook_state == 0 || s.state_cap == 0)
			step_failed(st, EINVAL);
		if ((s.state_buf = malloc(s.state_cap)) == NULL)
			step_failed(st, ENOMEM);
	} else {
		s.hook_state = -1;
	}
	ocirt_spawn_and_exit(&s, st->sync_fd);
}

// enter_root makes the directory at fd the process's root and cwd, and
// closes fd.
static int enter_root(int fd)
{
	int rc = fchdir(fd) < 0 || chroot(".") < 0 || chdir("/") < 0 ? -1 : 0;
	int err = errno;
	close(fd);
	errno = err;
	return rc;
}

// take_terminal makes the pty slave the runtime sends (a console frame)
// stdio and, with ctty, the controlling terminal of the process, which
// leads its session by now.
static int take_terminal(int sock, uint32_t ctty)
{
	int slave = ocirt_recv_file(sock, OCIRT_MSG_CONSOLE), rc = 0;
	if (slave < 0)
		return -1;
	for (int fd = 0; fd < 3 && rc == 0; fd++)
		rc = dup3(slave, fd, 0) < 0 ? -1 : 0;
	if (rc == 0 && ctty && ioctl(0, TIOCSCTTY, 0) < 0)
		rc = -1;
	int err = errno;
	close(slave);
	errno = err;
	return rc;
}

__attribute__((noreturn)) static void exec_after_start(struct cursor *c, struct plan_state *st)
{
	struct ocirt_spawn s;
	memset(&s, 0, sizeof(s));
	s.close_from = (int)get_u32(st, c);
	s.wait_fifo = (int)get_u32(st, c);
	s.wait_procfs = (int)get_u32(st, c);
	s.hook_state = -1;
	get_program(c, st, &s);
	get_hooks(c, st, &s);
	ocirt_exec_after_start(&s);
	step_failed(st, errno);
}

// run_step carries out one step; it returns -1 with errno set when the
// step failed.
static int run_step(uint16_t op, struct cursor *c, struct plan_state *st)
{
	switch (op) {
	case OCIRT_PLAN_SETSID:
		return setsid() < 0 ? -1 : 0;
	case OCIRT_PLAN_MEMPOLICY: {
		uint64_t nodes[MAX_NODE_WORDS];
		uint32_t mode = get_u32(st, c);
		size_t n = c->left / sizeof(uint64_t);
		if (n > MAX_NODE_WORDS)
			step_failed(st, E2BIG);
		memcpy(nodes, c->p, n * sizeof(uint64_t));
		// The kernel reads one bit fewer than maxnode says.
		return (int)syscall(SYS_set_mempolicy, mode, n ? nodes : NULL, n * 64 + 1);
	}
	case OCIRT_PLAN_CHROOT:
		return enter_root((int)get_u32(st, c));
	case OCIRT_PLAN_ROOT_FROM_PARENT: {
		int fd = ocirt_recv_file(st->sync_fd, OCIRT_MSG_ROOT);
		return fd < 0 ? -1 : enter_root(fd);
	}
	case OCIRT_PLAN_SETNS_CHILDREN: {
		int fd = (int)get_u32(st, c), type = (int)get_u32(st, c);
		int rc = setns(fd, type);
		close(fd);
		return rc;
	}
	case OCIRT_PLAN_PERSONALITY:
		return syscall(SYS_personality, (unsigned long)get_u32(st, c)) < 0 ? -1 : 0;
	case OCIRT_PLAN_WRITE_AT:
		return write_at(c, st);
	case OCIRT_PLAN_WRITE_AND_CLOSE: {
		int fd = (int)get_u32(st, c);
		return ocirt_write_and_close(fd, c->p, c->left);
	}
	case OCIRT_PLAN_SCHED_ATTR: {
		char attr[128] = {0};
		if (c->left > sizeof(attr))
			step_failed(st, EINVAL);
		memcpy(attr, c->p, c->left);
		return (int)syscall(SYS_sched_setattr, 0, attr, 0);
	}
	case OCIRT_PLAN_IOPRIO:
		return (int)syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, (int)get_u32(st, c));
	case OCIRT_PLAN_AFFINITY: {
		cpu_set_t set;
		CPU_ZERO(&set);
		memcpy(&set, c->p, c->left < sizeof(set) ? c->left : sizeof(set));
		return sched_setaffinity(0, sizeof(set), &set);
	}
	case OCIRT_PLAN_SESSION_KEYRING:
		return syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0) < 0 && errno != ENOSYS ? -1 : 0;
	case OCIRT_PLAN_CHOWN_STDIO: {
		int fd = (int)get_u32(st, c);
		return chown_stdio(fd, get_u32(st, c));
	}
	case OCIRT_PLAN_CHDIR:
		return change_dir(get_str(st, c));
	case OCIRT_PLAN_FIND_PROGRAM:
		st->program = find_program(get_list(st, c));
		return st->program == NULL ? -1 : 0;
	case OCIRT_PLAN_SECCOMP: {
		uint32_t flags;
		struct sock_fprog prog = get_filter(st, c, &flags);
		return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	}
	case OCIRT_PLAN_SECCOMP_NOTIFY: {
		uint32_t flags;
		struct sock_fprog prog = get_filter(st, c, &flags);
		return install_listener(st->sync_fd, flags, &prog);
	}
	case OCIRT_PLAN_RELEASE:
		return wait_for_release(st->sync_fd);
	case OCIRT_PLAN_RLIMIT: {
		int resource = (int)get_u32(st, c);
		struct rlimit lim;
		lim.rlim_cur = get_u64(st, c);
		lim.rlim_max = get_u64(st, c);
		return prlimit(0, resource, &lim, NULL);
	}
	case OCIRT_PLAN_PRCTL: {
		int option = (int)get_u32(st, c);
		uint64_t arg2 = get_u64(st, c), arg3 = get_u64(st, c);
		return prctl(option, (unsigned long)arg2, (unsigned long)arg3, 0UL, 0UL);
	}
	case OCIRT_PLAN_SETGROUPS: {
		gid_t gids[MAX_LIST];
		size_t n = c->left / 4;
		if (n > MAX_LIST)
			step_failed(st, E2BIG);
		for (size_t i = 0; i < n; i++)
			gids[i] = get_u32(st, c);
		return (int)syscall(SYS_setgroups, n, gids);
	}
	case OCIRT_PLAN_SETRESGID: {
		uint32_t gid = get_u32(st, c);
		return (int)syscall(SYS_setresgid, gid, gid, gid);
	}
	case OCIRT_PLAN_SETRESUID: {
		uint32_t uid = get_u32(st, c);
		return (int)syscall(SYS_setresuid, uid, uid, uid);
	}
	case OCIRT_PLAN_CAPSET:
		return set_caps(c, st);
	case OCIRT_PLAN_UMASK:
		umask((mode_t)get_u32(st, c));
		return 0;
	case OCIRT_PLAN_CONSOLE: {
		int sock = (int)get_u32(st, c);
		unsigned short rows = (unsigned short)get_u32(st, c);
		return open_console(sock, rows, (unsigned short)get_u32(st, c));
	}
	case OCIRT_PLAN_SPAWN:
		spawn(c, st);
	case OCIRT_PLAN_PROCFS:
		return ocirt_make_procfs((int)get_u32(st, c));
	case OCIRT_PLAN_PROCFS_AT:
		return procfs_at(c, st);
	case OCIRT_PLAN_EXEC_AFTER_START:
		exec_after_start(c, st);
	case OCIRT_PLAN_TERMINAL_FROM_PARENT:
		return take_terminal(st->sync_fd, get_u32(st, c));
	case OCIRT_PLAN_PROCFS_FROM: {
		int ctx = (int)get_u32(st, c);
		return ocirt_make_procfs_from(ctx, (int)get_u32(st, c));
	}
	}
	errno = EINVAL;
	return -1;
}

void ocirt_run_plan(const char *plan, uint32_t len, int sync_fd)
{
	struct plan_state st = {.sync_fd = sync_fd, .step = -1, .program = NULL};
	struct cursor c = {plan, len};
	if (get_u32(&st, &c) != OCIRT_PLAN_MAGIC || (get_u32(&st, &c) & 0xffff) != OCIRT_PLAN_VERSION)
		step_failed(&st, EPROTO);
	uint32_t steps = get_u32(&st, &c);
	for (st.step = 0; (uint32_t)st.step < steps; st.step++) {
		uint32_t head = get_u32(&st, &c), size = get_u32(&st, &c);
		if (size > c.left)
			step_failed(&st, EINVAL);
		struct cursor data = {c.p, size};
		c.p += size;
		c.left -= size;
		if (run_step((uint16_t)(head & 0xffff), &data, &st) < 0)
			step_failed(&st, errno);
	}
	// A plan always ends in OCIRT_PLAN_SPAWN or OCIRT_PLAN_EXEC_AFTER_START.
	step_failed(&st, EINVAL);
}

// open_request starts reading the request of len bytes at req into c,
// for st, if it starts with magic, and returns 0; -1 when it is some
// other frame. A request that does not decode ends the process as a plan
// would.
static int open_request(const char *req, uint32_t len, uint32_t magic, struct plan_state *st, struct cursor *c)
{
	uint32_t got;
	if (len < sizeof(got))
		return -1;
	memcpy(&got, req, sizeof(got));
	if (got != magic)
		return -1;
	*c = (struct cursor){req + sizeof(got), len - (uint32_t)sizeof(got)};
	if ((get_u32(st, c) & 0xffff) != OCIRT_PLAN_VERSION)
		step_failed(st, EPROTO);
	return 0;
}

int ocirt_make_filesystem(const char *req, uint32_t len, int sync_fd)
{
	struct plan_state st = {.sync_fd = sync_fd, .step = -1, .program = NULL};
	struct cursor c;
	if (open_request(req, len, OCIRT_FILESYSTEM_MAGIC, &st, &c) < 0)
		return -1;
	const char *type = get_str(&st, &c);
	uint32_t settings = get_u32(&st, &c);
	char msg[96];
	int n;
	int ctx = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);
	if (ctx < 0) {
		n = snprintf(msg, sizeof(msg), OCIRT_MSG_PLANERROR, -1, errno);
		if (ocirt_write_frame(sync_fd, msg, (uint32_t)n) < 0)
			_exit(1);
		return 0;
	}
	int failed = 0, err = 0;
	for (uint32_t i = 0; i < settings; i++) {
		uint32_t flag = get_u32(&st, &c);
		const char *key = get_str(&st, &c), *value = get_str(&st, &c);
		if (syscall(SYS_fsconfig, ctx, flag ? FSCONFIG_SET_FLAG : FSCONFIG_SET_STRING, key, flag ? NULL : value, 0) < 0) {
			failed = (int)i;
			err = errno;
			break;
		}
	}
	if (err == 0 && syscall(SYS_fsconfig, ctx, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		failed = (int)settings;
		err = errno;
	}
	n = snprintf(msg, sizeof(msg), OCIRT_MSG_FILESYSTEM, failed, err);
	if (ocirt_send_frame_fd(sync_fd, msg, (uint32_t)n, ctx) < 0)
		_exit(1);
	close(ctx);
	return 0;
}

int ocirt_run_hooks_request(const char *req, uint32_t len, int sync_fd)
{
	struct plan_state st = {.sync_fd = sync_fd, .step = -1, .program = NULL};
	struct cursor c;
	if (open_request(req, len, OCIRT_HOOKS_MAGIC, &st, &c) < 0)
		return -1;
	const char *dir = get_str(&st, &c);
	struct ocirt_spawn s = {.hook_state = -1};
	get_hooks(&c, &st, &s);
	if (ocirt_run_hooks_in(&s, *dir ? dir : NULL, sync_fd) == 0) {
		static const char ack[] = OCIRT_MSG_ACK;
		if (ocirt_write_frame(sync_fd, ack, sizeof(ack) - 1) < 0)
			_exit(1);
	}
	for (int i = 0; i < s.n_hooks; i++) {
		free((void *)s.hooks[i].argv);
		free((void *)s.hooks[i].envp);
	}
	free((void *)s.hooks);
	return 0;
}
