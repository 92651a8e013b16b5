// The namespace stage of oci-rt's init and exec processes.
//
// setns(2) into a user or mount namespace is refused to a multi-threaded
// process, and the Go runtime starts threads before main, so joining and
// creating namespaces has to happen here, in a constructor that runs before
// the Go runtime. Outside oci-rt's own init/exec children (no
// _OCIRT_SYNC_FD in the environment) it returns at once, but for a
// runtime without root that re-executes itself into a user namespace of
// its own (make_own_user_namespace).
//
// The parent<->init protocol, which this stage starts, is defined in
// protocol.go: the bootstrap frame (its records below, the version
// first), and the fixed JSON frames written here (usermap, pid, error,
// each with the version, as the stage's first message is one of them;
// spawnerror at the end of an exec), with the ack read back as
// protocol.h has it.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "plan.h"
#include "protocol.h"
#include "spawn.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

enum {
	BOOT_CLONE_FLAGS = 1, // uint32: namespaces to create
	BOOT_NS_PATH = 2, // uint32 CLONE_NEW* type, then the path bytes
	BOOT_TIME_OFFSETS = 3, // text for /proc/self/timens_offsets
	BOOT_FORK = 4, // uint32: 1 when the process must fork to enter a pid namespace
	BOOT_CGROUP_PROCS = 5, // uint32: fd of the container's cgroup.procs, entered before the cgroup namespace is created
	BOOT_PROCFS = 6, // uint32 pid namespace fd, uint32 first target fd, uint32 count: procfs contexts of that namespace
	BOOT_JOIN_IN_ORDER = 7, // uint32: 1 to join the namespaces in the order given
	BOOT_CLOSE_RANGE = 8, // uint32 first, uint32 last: fds closed once the namespaces are joined
	BOOT_PROCFS_CREATE = 9, // the source: the procfs helper creates the contexts' filesystems too
	BOOT_PLAN = 10, // an exec plan (plan.h) to carry out instead of going on into Go
	BOOT_VERSION = 11, // uint32: the protocol version, the first record
	BOOT_SET_UP_BY_PARENT = 12, // uint32 procfs contexts to send: the runtime sets the container up, then sends a plan
	BOOT_CGROUP_TASKS = 13, // uint32 fd of a cgroup v1 "tasks" file, then its hierarchy's name: joined first
	BOOT_OOM_SCORE_ADJ = 14, // the process's oom_score_adj, as text: written first
};

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#define MAX_BOOTSTRAP (1 << 20)
#define MAX_NS_PATHS 16
#define MAX_CGROUP_HIERARCHIES 16

static int sync_fd = -1;

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_frame(const char *payload, uint32_t len)
{
	return ocirt_write_frame(sync_fd, payload, len);
}

// fail reports a one-line error to the parent, which shows it to the user,
// and exits: there is nobody else to tell.
static void fail(const char *fmt, ...)
{
	char msg[512], frame[1100];
	va_list ap;
	int saved = errno;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	// The message may carry a path from the config: escape it for JSON,
	// cutting it short where the next escape (at most six bytes) would
	// leave no room for the frame's end, the errno included.
	static const char longest_end[] = "\",\"errno\":-2147483648}";
	size_t o = 0;
	o += (size_t)snprintf(frame, sizeof(frame), "{\"type\":\"error\",\"v\":%d,\"message\":\"", OCIRT_PROTOCOL_VERSION);
	for (const char *c = msg; *c && o + 6 + sizeof(longest_end) <= sizeof(frame); c++) {
		unsigned char ch = (unsigned char)*c;
		if (ch == '"' || ch == '\\')
			o += (size_t)snprintf(frame + o, sizeof(frame) - o, "\\%c", ch);
		else if (ch < 0x20)
			o += (size_t)snprintf(frame + o, sizeof(frame) - o, "\\u%04x", ch);
		else
			frame[o++] = (char)ch;
	}
	// The errno goes as a number: Go words it, as it words its own errors,
	// whichever C library this was built with.
	if (saved)
		o += (size_t)snprintf(frame + o, sizeof(frame) - o, "\",\"errno\":%d}", saved);
	else
		o += (size_t)snprintf(frame + o, sizeof(frame) - o, "\"}");
	send_frame(frame, (uint32_t)o);
	_exit(1);
}

// failx is fail for errors that errno does not describe.
#define failx(...) \
	do { \
		errno = 0; \
		fail(__VA_ARGS__); \
	} while (0)

static void send_pid_message(const char *type, pid_t pid)
{
	char frame[64];
	int n = snprintf(frame, sizeof(frame), "{\"type\":\"%s\",\"v\":%d,\"pid\":%d}", type, OCIRT_PROTOCOL_VERSION, (int)pid);
	if (send_frame(frame, (uint32_t)n) < 0)
		_exit(1);
}

// wait_for_ack blocks until the parent has done what the last message asked
// for (written the id maps, moved the process to another cgroup).
static void wait_for_ack(void)
{
	if (ocirt_read_ack(sync_fd) < 0)
		_exit(1);
}

struct ns_path {
	uint32_t type;
	char path[4096];
	int fd;
};

struct bootstrap {
	uint32_t clone_flags;
	uint32_t fork;
	int32_t cgroup_procs_fd; // -1: none
	struct ns_path ns[MAX_NS_PATHS];
	int n_ns;
	// cgroups: the "tasks" files of v1 hierarchies the stage writes 0
	// into before anything else (see join_cgroups).
	struct {
		int32_t fd;
		char hierarchy[64];
	} cgroups[MAX_CGROUP_HIERARCHIES];
	int n_cgroups;
	// oom_score_adj: the value to write first (see set_oom_score_adj),
	// empty for none.
	char oom_score_adj[16];
	char time_offsets[1024];
	size_t time_offsets_len;
	// procfs: count procfs contexts of the pid namespace at fd pidns,
	// placed at fds first .. first+count-1 (0 count: none).
	uint32_t procfs_pidns, procfs_first, procfs_count;
	// procfs_source, when not empty: the helper creates the filesystems
	// with this source, for a caller that will have no right to.
	char procfs_source[256];
	uint32_t in_order;
	uint32_t close_first, close_last; // 0 last: none
	// plan, when not NULL, is an exec plan of plan_len bytes (within the
	// bootstrap buffer).
	const char *plan;
	uint32_t plan_len;
	// set_up_by_parent: the process that goes on sends
	// parent_procfs_count procfs contexts of its pid namespace, then
	// carries out the plan the runtime sends once it has set the container
	// up (see hand_setup_to_parent).
	uint32_t set_up_by_parent, parent_procfs_count;
};

// copy_text_record copies the text of a record, rlen bytes at data, into
// dst of size bytes as a string; an empty or too long one fails, naming
// what it is.
static void copy_text_record(char *dst, size_t size, const char *data, uint32_t rlen, const char *what)
{
	if (rlen == 0 || rlen >= size)
		failx("nsenter: bad %s record", what);
	memcpy(dst, data, rlen);
	dst[rlen] = '\0';
}

static void parse_bootstrap(const char *buf, uint32_t len, struct bootstrap *b)
{
	uint32_t off = 0;
	while (off < len) {
		uint16_t type;
		uint32_t rlen;
		if (len - off < 8)
			failx("nsenter: truncated bootstrap record");
		memcpy(&type, buf + off, 2);
		memcpy(&rlen, buf + off + 4, 4);
		off += 8;
		if (rlen > len - off)
			failx("nsenter: bootstrap record longer than the message");
		const char *data = buf + off;
		// Nothing of a bootstrap in another version is read: its records
		// may mean something else.
		if (off == 8 && type != BOOT_VERSION)
			failx("protocol version mismatch: the runtime sent no version, this init speaks %d (runtime and init binaries differ)",
			      OCIRT_PROTOCOL_VERSION);
		switch (type) {
		case BOOT_VERSION: {
			uint32_t version;
			if (rlen != 4)
				failx("nsenter: bad version record");
			memcpy(&version, data, 4);
			if (version != OCIRT_PROTOCOL_VERSION)
				failx("protocol version mismatch: the runtime speaks version %u, this init %d (runtime and init binaries differ)",
				      version, OCIRT_PROTOCOL_VERSION);
			break;
		}
		case BOOT_CLONE_FLAGS:
		case BOOT_FORK:
		case BOOT_CGROUP_PROCS:
			if (rlen != 4)
				failx("nsenter: bad bootstrap record %u", type);
			memcpy(type == BOOT_FORK ? (void *)&b->fork : type == BOOT_CGROUP_PROCS ? (void *)&b->cgroup_procs_fd
												: (void *)&b->clone_flags,
			       data, 4);
			break;
		case BOOT_NS_PATH: {
			if (b->n_ns == MAX_NS_PATHS)
				failx("nsenter: more than %d namespace paths", MAX_NS_PATHS);
			if (rlen <= 4 || rlen - 4 >= sizeof(b->ns[0].path))
				failx("nsenter: bad namespace path record");
			struct ns_path *ns = &b->ns[b->n_ns++];
			memcpy(&ns->type, data, 4);
			memcpy(ns->path, data + 4, rlen - 4);
			ns->path[rlen - 4] = '\0';
			break;
		}
		case BOOT_CGROUP_TASKS:
			if (b->n_cgroups == MAX_CGROUP_HIERARCHIES)
				failx("nsenter: more than %d cgroup hierarchies", MAX_CGROUP_HIERARCHIES);
			if (rlen < 4 || rlen - 4 >= sizeof(b->cgroups[0].hierarchy))
				failx("nsenter: bad cgroup tasks record");
			memcpy(&b->cgroups[b->n_cgroups].fd, data, 4);
			memcpy(b->cgroups[b->n_cgroups].hierarchy, data + 4, rlen - 4);
			b->cgroups[b->n_cgroups].hierarchy[rlen - 4] = '\0';
			b->n_cgroups++;
			break;
		case BOOT_OOM_SCORE_ADJ:
			copy_text_record(b->oom_score_adj, sizeof(b->oom_score_adj), data, rlen, "oom_score_adj");
			break;
		case BOOT_PROCFS_CREATE:
			copy_text_record(b->procfs_source, sizeof(b->procfs_source), data, rlen, "procfs source");
			break;
		case BOOT_JOIN_IN_ORDER:
			if (rlen != 4)
				failx("nsenter: bad join order record");
			memcpy(&b->in_order, data, 4);
			break;
		case BOOT_CLOSE_RANGE:
			if (rlen != 8)
				failx("nsenter: bad close range record");
			memcpy(&b->close_first, data, 4);
			memcpy(&b->close_last, data + 4, 4);
			break;
		case BOOT_PROCFS:
			if (rlen != 12)
				failx("nsenter: bad procfs record");
			memcpy(&b->procfs_pidns, data, 4);
			memcpy(&b->procfs_first, data + 4, 4);
			memcpy(&b->procfs_count, data + 8, 4);
			break;
		case BOOT_SET_UP_BY_PARENT:
			if (rlen != 4)
				failx("nsenter: bad set-up-by-parent record");
			b->set_up_by_parent = 1;
			memcpy(&b->parent_procfs_count, data, 4);
			break;
		case BOOT_PLAN:
			b->plan = data;
			b->plan_len = rlen;
			break;
		case BOOT_TIME_OFFSETS:
			if (rlen >= sizeof(b->time_offsets))
				failx("nsenter: time offsets too long");
			memcpy(b->time_offsets, data, rlen);
			b->time_offsets_len = rlen;
			break;
		default:
			failx("nsenter: unknown bootstrap record %u", type);
		}
		off += rlen;
	}
}

static const char *ns_name(uint32_t type)
{
	switch (type) {
	case CLONE_NEWUSER: return "user";
	case CLONE_NEWNS: return "mnt";
	case CLONE_NEWPID: return "pid";
	case CLONE_NEWNET: return "net";
	case CLONE_NEWIPC: return "ipc";
	case CLONE_NEWUTS: return "uts";
	case CLONE_NEWCGROUP: return "cgroup";
	case CLONE_NEWTIME: return "time";
	}
	return "unknown";
}

static void join_namespace(struct ns_path *ns)
{
	if (setns(ns->fd, (int)ns->type) < 0)
		fail("join %s namespace %s", ns_name(ns->type), ns->path);
	close(ns->fd);
}

// join_namespaces opens every path first, because joining one namespace (the
// mount namespace above all) can make the next path unreachable, then joins
// the user namespace first (it grants the rights to join the rest) and the
// mount namespace last; or, with in_order, in the order given, where the
// caller needs to join some while it still holds the rights it has outside
// the user namespace it joins (see joinerBootstrap).
static void join_namespaces(struct bootstrap *b)
{
	for (int i = 0; i < b->n_ns; i++) {
		b->ns[i].fd = open(b->ns[i].path, O_RDONLY | O_CLOEXEC);
		if (b->ns[i].fd < 0)
			fail("open %s namespace %s", ns_name(b->ns[i].type), b->ns[i].path);
	}
	if (b->in_order) {
		for (int i = 0; i < b->n_ns; i++)
			join_namespace(&b->ns[i]);
		return;
	}
	static const uint32_t order[] = {CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET,
					 CLONE_NEWPID, CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWNS};
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		for (int i = 0; i < b->n_ns; i++) {
			if (b->ns[i].type == order[k])
				join_namespace(&b->ns[i]);
		}
	}
}

static void become_root_in_userns(void)
{
	// Without a mapping for 0 the container runs as some other mapped id and
	// the Go side switches to it; EINVAL only says 0 is not mapped.
	if (setresgid(0, 0, 0) < 0 && errno != EINVAL)
		fail("setresgid(0) in the user namespace");
	if (setresuid(0, 0, 0) < 0 && errno != EINVAL)
		fail("setresuid(0) in the user namespace");
}

static void create_user_namespace(void)
{
	if (unshare(CLONE_NEWUSER) < 0)
		fail("create user namespace");
	// The maps can only be written from the parent user namespace. A
	// parent without privileges owns our /proc files only while we are
	// dumpable; no process of the container exists yet to take advantage.
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		fail("prctl(PR_SET_DUMPABLE) for the id maps");
	send_pid_message("usermap", getpid());
	wait_for_ack();
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail("prctl(PR_SET_DUMPABLE)");
	// The caller becomes root in it once the time offsets are written.
}

// set_oom_score_adj writes the process's oom_score_adj while the stage is
// still in the runtime's mount and user namespaces, so the /proc it
// writes through is the runtime's, out of the container's reach: the
// processes it goes on as or forks inherit the value. In a user namespace
// of the container's the process could not write it: its /proc files
// belong to the host's root as long as it is not dumpable. For the same
// reason a runtime without root opens the file while the stage is
// dumpable for that moment, which it may be here: it has joined nothing
// yet, and nothing of the container's can reach it.
static void set_oom_score_adj(const struct bootstrap *b)
{
	size_t len = strlen(b->oom_score_adj);
	if (len == 0)
		return;
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0) {
		fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
			fail("prctl(PR_SET_DUMPABLE)");
	}
	if (fd < 0 || write(fd, b->oom_score_adj, len) != (ssize_t)len)
		fail("oomScoreAdj %s", b->oom_score_adj);
	close(fd);
}

// join_cgroups moves the stage into the container's cgroup in each v1
// hierarchy the runtime passed the "tasks" file of, before it joins or
// creates any namespace. A write of 0 into "tasks" moves the writing
// thread alone, taking no lock of the whole machine, and the stage has
// one. The files, of host directories outside the container, are closed
// at once: the process may go on to live in a pid namespace whose other
// processes can take its fds (one with CAP_SYS_PTRACE of the host's user
// namespace, in a namespace the container joins).
static void join_cgroups(const struct bootstrap *b)
{
	for (int i = 0; i < b->n_cgroups; i++)
		if (b->cgroups[i].fd < 3 || ocirt_write_and_close(b->cgroups[i].fd, "0", 1) < 0)
			fail("join the container's cgroup in the %s hierarchy", b->cgroups[i].hierarchy);
}

// create_cgroup_namespace roots a new cgroup namespace at the container's
// cgroup. The runtime starts us outside that cgroup, so that it is not
// charged for our setup; we enter it just for the unshare (and the fork
// that follows), and the process that goes on waits for its pid's ack
// while the parent moves it out again until the container is ready.
// The fd was opened by the parent: since Linux 5.16 the kernel checks the
// migration against the opener's credentials and cgroup namespace, so the
// write works from inside a new user namespace too.
static void create_cgroup_namespace(struct bootstrap *b)
{
	if (b->cgroup_procs_fd >= 0 && write(b->cgroup_procs_fd, "0", 1) != 1)
		fail("enter the container's cgroup");
	if (unshare(CLONE_NEWCGROUP) < 0)
		fail("create cgroup namespace");
	if (b->cgroup_procs_fd >= 0)
		close(b->cgroup_procs_fd);
}

static void write_time_offsets(const struct bootstrap *b)
{
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fail("open /proc/self/timens_offsets");
	if (write(fd, b->time_offsets, b->time_offsets_len) != (ssize_t)b->time_offsets_len)
		fail("write time namespace offsets");
	close(fd);
}

// Procfs contexts of a pid namespace the process does not enter.
//
// procfs shows the pid namespace of the process that calls fsopen, so a
// container that joins another pid namespace, but sets itself up outside
// it, gets its /proc from a throwaway helper. Whatever enters that pid
// namespace is visible to the processes already there, which may ptrace
// it or open its /proc files: so the helper first leaves everything of
// ours behind (every fd but two, the mount tree, root and cwd) for an
// empty tmpfs in a mount namespace of its own, and only then joins the
// pid namespace for its child, which opens the contexts and sends them
// back. The caller configures and creates the filesystems itself.

#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_pivot_root
#define SYS_pivot_root 155
#endif
#define PROCFS_FSOPEN_CLOEXEC 0x00000001
#define PROCFS_FSCONFIG_SET_STRING 1
#define PROCFS_FSCONFIG_CMD_CREATE 6
#define PROCFS_FSMOUNT_CLOEXEC 0x00000001
#define PROCFS_MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define PROCFS_MOUNT_ATTR_NOSUID 0x00000002
#define PROCFS_MOUNT_ATTR_NODEV 0x00000004
#define PROCFS_MOUNT_ATTR_NOEXEC 0x00000008
#define MAX_PROCFS 16

// mount_context creates the filesystem of context ctx and mounts it
// nowhere with attrs, at fd target; it closes ctx.
static int mount_context(int ctx, unsigned attrs, int target)
{
	int mnt = -1;
	if (syscall(SYS_fsconfig, ctx, PROCFS_FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		mnt = (int)syscall(SYS_fsmount, ctx, PROCFS_FSMOUNT_CLOEXEC, attrs);
	int err = errno;
	close(ctx);
	errno = err;
	return mnt < 0 ? -1 : ocirt_place_fd(mnt, target);
}

int ocirt_make_procfs(int target)
{
	int ctx = (int)syscall(SYS_fsopen, "proc", PROCFS_FSOPEN_CLOEXEC);
	return ctx < 0 ? -1 : mount_context(ctx, 0, target);
}

int ocirt_make_procfs_from(int ctx, int target)
{
	struct statfs fs;
	if (mount_context(ctx, PROCFS_MOUNT_ATTR_NOEXEC | PROCFS_MOUNT_ATTR_NOSUID | PROCFS_MOUNT_ATTR_NODEV, target) < 0)
		return -1;
	if (fstatfs(target, &fs) < 0 || fs.f_type != PROC_SUPER_MAGIC) {
		close(target);
		errno = EMEDIUMTYPE;
		return -1;
	}
	return 0;
}

int ocirt_place_fd(int fd, int target)
{
	if (fd == target)
		return 0;
	int rc = dup3(fd, target, O_CLOEXEC) < 0 ? -1 : 0;
	int err = errno;
	close(fd);
	errno = err;
	return rc;
}

// empty_mount_namespace makes the caller's mount namespace a new one that
// holds only an empty tmpfs, its root and cwd.
static int empty_mount_namespace(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	int fs = (int)syscall(SYS_fsopen, "tmpfs", PROCFS_FSOPEN_CLOEXEC);
	if (fs < 0 || syscall(SYS_fsconfig, fs, PROCFS_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -1;
	int mnt = (int)syscall(SYS_fsmount, fs, PROCFS_FSMOUNT_CLOEXEC, 0);
	if (mnt < 0 || syscall(SYS_move_mount, mnt, "", AT_FDCWD, "/", PROCFS_MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return -1;
	// The tmpfs now covers "/": entering it and pivoting onto itself puts
	// the old root on top, where it is detached.
	if (fchdir(mnt) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0)
		return -1;
	close(mnt);
	close(fs);
	return chdir("/");
}

static int send_fds(int sock, const int *fds, int n)
{
	char byte = 0;
	char control[CMSG_SPACE(sizeof(int) * MAX_PROCFS)];
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control};
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fds(int sock, int *fds, int n)
{
	char byte;
	char control[CMSG_SPACE(sizeof(int) * MAX_PROCFS)];
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)};
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c == NULL || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int) * (size_t)n))
		return -1;
	memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)n);
	return 0;
}

// procfs_helper runs in the forked helper: it never returns.
static void procfs_helper(int pidns, int sock, int count, const char *source)
{
	int keep_lo = pidns < sock ? pidns : sock, keep_hi = pidns < sock ? sock : pidns;
	if (syscall(SYS_close_range, 0U, (unsigned)keep_lo - 1, 0) < 0 ||
	    (keep_hi > keep_lo + 1 && syscall(SYS_close_range, (unsigned)keep_lo + 1, (unsigned)keep_hi - 1, 0) < 0) ||
	    syscall(SYS_close_range, (unsigned)keep_hi + 1, ~0U, 0) < 0)
		_exit(10);
	if (empty_mount_namespace() < 0)
		_exit(11);
	if (setns(pidns, CLONE_NEWPID) < 0)
		_exit(12);
	close(pidns);
	pid_t child = (pid_t)syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
	if (child < 0)
		_exit(13);
	if (child == 0) {
		int fds[MAX_PROCFS];
		for (int i = 0; i < count; i++)
			if ((fds[i] = (int)syscall(SYS_fsopen, "proc", PROCFS_FSOPEN_CLOEXEC)) < 0)
				_exit(14);
		// Creating the filesystem takes the right to mount one of the pid
		// namespace, which only the runtime has: a caller in a user
		// namespace of its own only mounts what we made.
		for (int i = 0; *source && i < count; i++)
			if (syscall(SYS_fsconfig, fds[i], PROCFS_FSCONFIG_SET_STRING, "source", source, 0) < 0 ||
			    syscall(SYS_fsconfig, fds[i], PROCFS_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
				_exit(18);
		_exit(send_fds(sock, fds, count) < 0 ? 15 : 0);
	}
	int status;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			_exit(16);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 17);
}

static const char *procfs_helper_step(int code)
{
	switch (code) {
	case 11: return "make an empty mount namespace";
	case 12: return "join the pid namespace";
	case 13: return "fork into the pid namespace";
	case 14: return "fsopen proc";
	case 15: return "send the procfs contexts";
	case 18: return "create the procfs";
	}
	return "start";
}

// open_procfs_contexts places b->procfs_count procfs contexts of the pid
// namespace at fd b->procfs_pidns at fds b->procfs_first on.
static void open_procfs_contexts(const struct bootstrap *b)
{
	int sock[2], fds[MAX_PROCFS], status;
	int count = (int)b->procfs_count, pidns = (int)b->procfs_pidns, first = (int)b->procfs_first;
	if (count > MAX_PROCFS || pidns < 3 || first < 3)
		failx("nsenter: bad procfs request");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) < 0)
		fail("procfs helper: socketpair");
	pid_t helper = (pid_t)syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
	if (helper < 0)
		fail("procfs helper: fork");
	if (helper == 0)
		procfs_helper(pidns, sock[1], count, b->procfs_source);
	close(sock[1]);
	int got = recv_fds(sock[0], fds, count);
	close(sock[0]);
	while (waitpid(helper, &status, 0) < 0)
		if (errno != EINTR)
			fail("procfs helper: wait");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		failx("procfs of the joined pid namespace: helper failed to %s (status %#x)",
		      procfs_helper_step(WIFEXITED(status) ? WEXITSTATUS(status) : 0), status);
	if (got < 0)
		failx("procfs of the joined pid namespace: no contexts received");
	for (int i = 0; i < count; i++) {
		if (dup3(fds[i], first + i, O_CLOEXEC) < 0)
			fail("procfs of the joined pid namespace: place context");
		close(fds[i]);
	}
	close(pidns);
}

// read_frame reads the next frame from the sync socket into memory of its
// own, what it is naming it in errors, and returns it, its length in len.
static char *read_frame(const char *what, uint32_t *len)
{
	// An end of file: the parent went away, give up quietly.
	if (ocirt_read_all(sync_fd, len, sizeof(*len)) < 0)
		_exit(1);
	if (*len > MAX_BOOTSTRAP)
		failx("nsenter: %s of %u bytes is too large", what, *len);
	char *buf = malloc(*len ? *len : 1);
	if (buf == NULL)
		fail("nsenter: allocate %s", what);
	if (ocirt_read_all(sync_fd, buf, *len) < 0)
		_exit(1);
	return buf;
}

// hand_setup_to_parent is the rest of a container init that runs no Go:
// the runtime sets the container up from outside, in its namespaces, and
// computes the plan this process carries out. procfs shows the pid
// namespace of whoever opens the context, and the runtime is not in the
// container's: the contexts for its /proc mounts come from here, or from
// the helper that made them in the pid namespace a container joins
// (open_procfs_contexts), the first of them in order. Where the container
// has a user namespace of its own, the runtime asks this process to make
// each of its filesystems (ocirt_make_filesystem): a filesystem belongs to
// the user namespace of the process that makes it. The plan comes as one
// frame, its payload the encoded plan (plan.h).
__attribute__((noreturn)) static void hand_setup_to_parent(const struct bootstrap *b)
{
	static const char procfs[] = OCIRT_MSG_PROCFS;
	if (b->parent_procfs_count > MAX_PROCFS)
		failx("nsenter: %u procfs contexts asked for", b->parent_procfs_count);
	if (b->procfs_count > 0 && b->parent_procfs_count > b->procfs_count)
		failx("nsenter: %u procfs contexts asked for, %u made", b->parent_procfs_count, b->procfs_count);
	for (uint32_t i = 0; i < b->parent_procfs_count; i++) {
		// The contexts a helper made in the pid namespace the container
		// joins, in order, or fresh ones of this process's own.
		int ctx = b->procfs_count > 0 ? (int)(b->procfs_first + i) : (int)syscall(SYS_fsopen, "proc", PROCFS_FSOPEN_CLOEXEC);
		if (ctx < 0)
			fail("open a procfs context of the container's pid namespace");
		if (ocirt_send_frame_fd(sync_fd, procfs, sizeof(procfs) - 1, ctx) < 0)
			_exit(1);
		close(ctx);
	}
	// Filesystem requests and the createContainer hooks, if any, then the
	// plan.
	for (;;) {
		uint32_t len;
		char *frame = read_frame("plan", &len);
		if (ocirt_make_filesystem(frame, len, sync_fd) < 0 && ocirt_run_hooks_request(frame, len, sync_fd) < 0)
			ocirt_run_plan(frame, len, sync_fd);
		free(frame);
	}
}

// write_own_proc_file writes text into /proc/self/<name>; -1 on failure.
static int write_own_proc_file(const char *name, const char *text)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/%s", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

// A runtime without root re-executes itself here when Go found that it may
// set the container up as root of the container's user namespace: one
// that maps the caller's own uid and gid alone, which the caller may write
// for itself. A process enters a new user namespace only while it has one
// thread, so that has to happen before the Go runtime starts. The mount
// namespace made with it is the runtime's own, where it may mount the
// read-only overlay of its binary. The maps are written as Go gave them;
// Go reads them back and judges the outcome (an unshare refused leaves the
// process as it was; a map refused leaves it unmapped, which Go reports).
static void make_own_user_namespace(const char *uid_map, const char *gid_map)
{
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return;
	// Without CAP_SETGID in the parent namespace the kernel takes a gid
	// map only once setgroups is denied.
	if (write_own_proc_file("setgroups", "deny") < 0 || write_own_proc_file("uid_map", uid_map) < 0)
		return;
	write_own_proc_file("gid_map", gid_map);
}

__attribute__((constructor)) static void nsenter(void)
{
	const char *env = getenv("_OCIRT_SYNC_FD");
	if (env == NULL) {
		const char *uid_map = getenv("_OCIRT_OWN_UID_MAP"), *gid_map = getenv("_OCIRT_OWN_GID_MAP");
		if (uid_map != NULL && gid_map != NULL)
			make_own_user_namespace(uid_map, gid_map);
		return;
	}
	char *end;
	long fd = strtol(env, &end, 10);
	if (*env == '\0' || *end != '\0' || fd < 3 || fd > 1024)
		_exit(1);
	sync_fd = (int)fd;

	// Until execve the process holds host resources (the runtime binary,
	// the sync socket); a non-dumpable process cannot be ptraced or have its
	// /proc files opened by the container (CVE-2016-9962).
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail("prctl(PR_SET_DUMPABLE)");

	uint32_t len;
	char *buf = read_frame("bootstrap", &len);
	static struct bootstrap b;
	b.cgroup_procs_fd = -1;
	parse_bootstrap(buf, len, &b);
	if (b.plan == NULL)
		free(buf);
	if (b.cgroup_procs_fd != -1 && b.cgroup_procs_fd < 3)
		failx("nsenter: bad cgroup.procs fd %d", b.cgroup_procs_fd);

	set_oom_score_adj(&b);
	join_cgroups(&b);
	// The procfs helper needs the rights the stage has before it joins
	// or creates a user namespace, which holds none over a pid namespace
	// that existed before it.
	if (b.procfs_count > 0)
		open_procfs_contexts(&b);
	join_namespaces(&b);
	for (int i = 0; i < b.n_ns; i++)
		if (b.ns[i].type == CLONE_NEWUSER)
			become_root_in_userns();
	// The namespaces' fds must not reach a process born in a namespace
	// others can see into.
	if (b.close_last > 0 && (b.close_first < 3 || syscall(SYS_close_range, b.close_first, b.close_last, 0) < 0))
		fail("close the namespaces' fds");

	if (b.clone_flags & CLONE_NEWUSER)
		create_user_namespace();
	uint32_t rest = b.clone_flags & ~(uint32_t)(CLONE_NEWUSER | CLONE_NEWCGROUP);
	if (rest && unshare((int)rest) < 0)
		fail("create namespaces (flags %#x)", rest);
	if (b.clone_flags & CLONE_NEWCGROUP)
		create_cgroup_namespace(&b);
	if (b.time_offsets_len > 0)
		write_time_offsets(&b);
	// Only now: /proc/self/timens_offsets of this non-dumpable process is
	// owned by host root, which we stay until here; as root of the new user
	// namespace (a host uid like 100000) we could not open it. The full
	// capabilities unshare gave us in the new namespace suffice for the rest.
	if (b.clone_flags & CLONE_NEWUSER)
		become_root_in_userns();

	if (!b.fork) {
		send_pid_message("pid", getpid());
		if (b.cgroup_procs_fd >= 0)
			wait_for_ack();
		if (b.plan != NULL)
			ocirt_run_plan(b.plan, b.plan_len, sync_fd);
		if (b.set_up_by_parent)
			hand_setup_to_parent(&b);
		return;
	}
	// A child that talks first (set_up_by_parent, or one that carries out
	// a plan) must wait until its pid is on the socket: the pid message is
	// the first the parent reads, and the two processes' frames would
	// interleave on it.
	int pid_sent[2] = {-1, -1};
	if ((b.set_up_by_parent || b.plan != NULL) && b.cgroup_procs_fd < 0 && pipe2(pid_sent, O_CLOEXEC) < 0)
		fail("pipe");
	// CLONE_PARENT makes the child a child of the runtime itself, which
	// waits for it as a foreground run would: no monitor process in between.
	pid_t child = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
	if (child < 0)
		fail("fork into the new pid namespace");
	if (child > 0) {
		send_pid_message("pid", child);
		_exit(0);
	}
	if (pid_sent[0] >= 0) {
		char c;
		close(pid_sent[1]);
		while (read(pid_sent[0], &c, 1) < 0 && errno == EINTR)
			;
		close(pid_sent[0]);
	}
	if (b.cgroup_procs_fd >= 0)
		wait_for_ack();
	// A stage that joined the pid namespace first (see the runtime's
	// joinerBootstrap) leaves the plan of an exec to the child it forked,
	// the first of its processes that lives in that namespace.
	if (b.plan != NULL)
		ocirt_run_plan(b.plan, b.plan_len, sync_fd);
	if (b.set_up_by_parent)
		hand_setup_to_parent(&b);
}

// The last step of `exec`: starting the container's process.
//
// The exec init runs its Go setup outside the container's pid namespace,
// so that nothing in the container can see it, let alone ptrace it or open
// its /proc files, while it holds the runtime's fds and privileges. Only
// once it has become the container's process (ids, capabilities, limits)
// does it create the process that enters the pid namespace; that process
// runs no Go, only the raw system calls below, and replaces itself with
// the container's program at once.

// close_fds closes fds lo to hi. The container's seccomp filter may be in
// place already (without no_new_privs it goes in while the caller is still
// privileged), and profiles written before close_range refuse it: then
// each fd below the open-files limit is closed on its own.
static int close_fds(unsigned lo, unsigned hi)
{
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return 0;
	if (errno != EPERM && errno != ENOSYS)
		return -1;
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) < 0)
		return -1;
	// No fd number reaches the kernel's ceiling on open files (nr_open).
	rlim_t end = lim.rlim_cur < (1 << 20) ? lim.rlim_cur : (1 << 20);
	for (rlim_t fd = lo; fd <= hi && fd < end; fd++)
		close((int)fd);
	return 0;
}

// close_from_except closes every fd from `from` on but those in keep, n
// of them in ascending order (-1 for none).
static int close_from_except(int from, const int *keep, int n)
{
	for (int i = 0; i < n; i++) {
		if (keep[i] < from)
			continue;
		if (keep[i] > from && close_fds((unsigned)from, (unsigned)keep[i] - 1) < 0)
			return -1;
		from = keep[i] + 1;
	}
	return close_fds((unsigned)from, ~0U);
}

// sort_fds orders the n fds that close_from_except keeps.
static void sort_fds(int *fds, int n)
{
	for (int i = 0; i < n - 1; i++)
		for (int j = 0; j < n - 1 - i; j++)
			if (fds[j] > fds[j + 1]) {
				int t = fds[j];
				fds[j] = fds[j + 1];
				fds[j + 1] = t;
			}
}

// reset_signal_handlers leaves the child no handler of the Go runtime: it
// has a copy of the runtime's memory but none of its threads, so a signal
// that ran one before execve would run Go code in a broken process.
static void reset_signal_handlers(void)
{
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, NULL, &sa) < 0 || sa.sa_handler == SIG_IGN || sa.sa_handler == SIG_DFL)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(sig, &sa, NULL);
	}
}

// report_spawn_error tells the reader of fd (the parent on the sync
// socket, or `start` on the exec fifo) at which step the process failed
// to reach its program, and exits with status.
__attribute__((noreturn)) static void report_spawn_error(int fd, int step, int err, int status)
{
	char frame[96];
	int n = snprintf(frame, sizeof(frame), OCIRT_MSG_SPAWNERROR, step, err);
	(void)ocirt_write_frame(fd, frame, (uint32_t)n);
	_exit(status);
}

// wait_for_start opens the exec fifo for writing through procfs, a
// procfs of the process's pid namespace, which blocks until `start` opens
// it for reading, and returns the open fifo.
static int wait_for_start(int opath, int procfs)
{
	char path[64];
	int fifo;
	snprintf(path, sizeof(path), "self/fd/%d", opath);
	while ((fifo = openat(procfs, path, O_WRONLY | O_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (fifo < 0)
		_exit(127);
	close(opath);
	close(procfs);
	return fifo;
}

// The startContainer hooks of a process that waits for start.
//
// They run in the container's namespaces, as the container's process, after
// `start` and before its program: here that process runs no Go (a created
// init that carried out a plan, or a process started in a joined pid
// namespace), so it runs each hook as Go prepared it (path, argv, env,
// timeout) and reports the first failure into the fifo for `start` to word
// (a hookerror). Go decides everything; this only executes. The state the
// hooks read on stdin is in the plan, or, for a process started in a
// joined pid namespace, comes through a pipe from `create`, which learns
// the process's pid only once it exists.

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

// base64 writes in as padded standard base64, as encoding/json decodes
// a []byte, to out, which holds BASE64_LEN(len) bytes, and returns that
// length.
#define BASE64_LEN(n) (((n) + 2) / 3 * 4)
static size_t base64(char *out, const unsigned char *in, size_t len)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = out;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = digits[v >> 18];
		*o++ = digits[(v >> 12) & 63];
		*o++ = i + 1 < len ? digits[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? digits[v & 63] : '=';
	}
	return (size_t)(o - out);
}

// hook_setting is how a hook runs: in dir, or where the caller is when it
// is NULL, and with stdio_only without any fd but its stdio, as os/exec
// starts one.
struct hook_setting {
	const char *dir;
	int stdio_only;
};

// hook_failure is how a hook failed (OCIRT_HOOK_*), the value that goes
// with it, and how much of its stderr hook_errout holds.
struct hook_failure {
	int how, value;
	size_t len;
};
static char hook_errout[OCIRT_HOOK_STDERR];

// write_hook_error writes hook index's failure f as a hookerror frame to
// fd: 0, or -1 and errno.
static int write_hook_error(int fd, int index, const struct hook_failure *f)
{
	static char frame[128 + BASE64_LEN(OCIRT_HOOK_STDERR)];
	size_t n = (size_t)snprintf(frame, 128, OCIRT_MSG_HOOKERROR, index, f->how, f->value);
	n += base64(frame + n, (const unsigned char *)hook_errout, f->len);
	memcpy(frame + n, OCIRT_MSG_HOOKERROR_END, sizeof(OCIRT_MSG_HOOKERROR_END) - 1);
	n += sizeof(OCIRT_MSG_HOOKERROR_END) - 1;
	return ocirt_write_frame(fd, frame, (uint32_t)n);
}

// read_hook_state reads the hooks' state, all of it, into s->state_buf and
// returns its length; -1 and errno when it cannot.
static ssize_t read_hook_state(const struct ocirt_spawn *s)
{
	size_t n = 0;
	for (;;) {
		char extra;
		char *at = n < s->state_cap ? s->state_buf + n : &extra;
		ssize_t r = read(s->hook_state, at, n < s->state_cap ? s->state_cap - n : 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		if (at == &extra) {
			errno = EMSGSIZE;
			return -1;
		}
		n += (size_t)r;
	}
	close(s->hook_state);
	if (n == 0) {
		errno = ENODATA; // create went away before it sent the state
		return -1;
	}
	return (ssize_t)n;
}

// hook_child becomes the hook, with the state on stdin, /dev/null as
// stdout and the pipe errw as stderr, in dir unless it is NULL, and with
// stdio_only no other fd; what fails is sent on ex.
__attribute__((noreturn)) static void hook_child(const struct ocirt_hook *h, const struct hook_setting *how, int in, int errw, int ex)
{
	int report[2] = {OCIRT_HOOK_START, 0};
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0 && dup2(in, 0) == 0 && dup2(null, 1) == 1 && dup2(errw, 2) == 2 &&
	    (how->dir == NULL || chdir(how->dir) == 0) &&
	    (!how->stdio_only || syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)) {
		execve(h->path, h->argv, h->envp);
		report[0] = OCIRT_HOOK_EXEC;
	}
	report[1] = errno;
	(void)write_all(ex, report, sizeof(report));
	_exit(127);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// wait_hook collects the hook's stderr until it exits or its time is up,
// and returns its wait status, or -1 when it was killed for the timeout.
static int wait_hook(pid_t pid, int pidfd, int timeout, int errr, char *errout, size_t *len)
{
	long long deadline = timeout >= 0 ? now_ms() + (long long)timeout * 1000 : -1;
	int status;
	for (;;) {
		struct pollfd fds[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = errr, .events = POLLIN}};
		int wait = -1;
		if (deadline >= 0) {
			long long left = deadline - now_ms();
			wait = left > 0 ? (int)left : 0;
		}
		int n = poll(fds, 2, wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		if (n < 0 || fds[0].revents)
			break;
		if (fds[1].revents) {
			char buf[512];
			ssize_t r = read(errr, buf, sizeof(buf));
			if (r > 0) {
				size_t keep = (size_t)r < OCIRT_HOOK_STDERR - *len ? (size_t)r : OCIRT_HOOK_STDERR - *len;
				memcpy(errout + *len, buf, keep);
				*len += keep;
			} else if (r == 0) {
				errr = -1; // poll ignores it from now on
			}
		}
	}
	// What it wrote before it exited; not what a daemon it left behind
	// with its stderr still writes.
	ssize_t r;
	while (errr >= 0 && *len < OCIRT_HOOK_STDERR && (r = read(errr, errout + *len, OCIRT_HOOK_STDERR - *len)) > 0)
		*len += (size_t)r;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = 0x7f00; // not ours to wait for: call it exit status 127
			break;
		}
	return status;
}

// run_hook runs hook h with the state_len bytes of state on stdin, set
// up as how says; 0 when it succeeded, otherwise -1 with how it failed in
// f.
static int run_hook(const struct ocirt_hook *h, const struct hook_setting *how, const char *state, size_t state_len, struct hook_failure *f)
{
	int in[2], err[2], ex[2];
	*f = (struct hook_failure){OCIRT_HOOK_START, 0, 0};
	// The whole state fits the pipe before the hook runs: writing it can
	// never wait for a hook that does not read. A pipe holds one page at
	// least, or more as asked.
	if (pipe2(in, O_CLOEXEC) < 0 ||
	    (state_len > 4096 && fcntl(in[1], F_SETPIPE_SZ, (int)state_len) < 0) ||
	    write_all(in[1], state, state_len) < 0 || close(in[1]) < 0 ||
	    pipe2(err, O_CLOEXEC) < 0 || fcntl(err[0], F_SETFL, O_NONBLOCK) < 0 || pipe2(ex, O_CLOEXEC) < 0) {
		f->value = errno;
		return -1;
	}
	pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
	if (pid < 0) {
		f->value = errno;
		return -1;
	}
	if (pid == 0)
		hook_child(h, how, in[0], err[1], ex[1]);
	close(in[0]);
	close(err[1]);
	close(ex[1]);
	int report[2];
	ssize_t n;
	while ((n = read(ex[0], report, sizeof(report))) < 0 && errno == EINTR)
		;
	close(ex[0]);
	if (n == sizeof(report)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		close(err[0]);
		f->how = report[0];
		f->value = report[1];
		return -1;
	}
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		f->value = errno;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		close(err[0]);
		return -1;
	}
	int status = wait_hook(pid, pidfd, h->timeout, err[0], hook_errout, &f->len);
	close(pidfd);
	close(err[0]);
	if (status < 0) {
		*f = (struct hook_failure){OCIRT_HOOK_TIMEOUT, h->timeout, 0};
		return -1;
	}
	if (status != 0) {
		f->how = OCIRT_HOOK_EXITED;
		f->value = status;
		return -1;
	}
	return 0;
}

// first_failed_hook runs the hooks of s in order, set up as how says,
// each with the state_len bytes of s->state_buf on stdin, up to the first
// that fails: its index, with how it failed in f, or -1 when all
// succeeded.
static int first_failed_hook(const struct ocirt_spawn *s, const struct hook_setting *how, size_t state_len, struct hook_failure *f)
{
	for (int i = 0; i < s->n_hooks; i++) {
		if (run_hook(&s->hooks[i], how, s->state_buf, state_len, f) < 0)
			return i;
	}
	return -1;
}

// run_hooks runs the hooks in order; it returns -1 and errno when the
// state could not be read, and does not return when a hook failed: it
// reports it into the fifo.
static int run_hooks(const struct ocirt_spawn *s, int fifo)
{
	if (fifo < 0) {
		errno = EINVAL; // hooks run only after start
		return -1;
	}
	ssize_t len = s->hook_state >= 0 ? read_hook_state(s) : (ssize_t)s->state_len;
	if (len < 0)
		return -1;
	const struct hook_setting as_process = {NULL, 0};
	struct hook_failure f;
	int failed = first_failed_hook(s, &as_process, (size_t)len, &f);
	if (failed >= 0) {
		(void)write_hook_error(fifo, failed, &f);
		_exit(127);
	}
	return 0;
}

int ocirt_run_hooks_in(const struct ocirt_spawn *s, const char *dir, int report_fd)
{
	const struct hook_setting in_dir = {dir, 1};
	struct hook_failure f;
	int failed = first_failed_hook(s, &in_dir, s->state_len, &f);
	if (failed < 0)
		return 0;
	if (write_hook_error(report_fd, failed, &f) < 0)
		_exit(1);
	return -1;
}

static void child(const struct ocirt_spawn *s, int errfd, const sigset_t *mask)
{
	struct ocirt_spawn_err e = {0, 0};
	int fifo = -1, keep[4] = {errfd, s->wait_fifo, s->wait_procfs, s->hook_state};
	// What execve would close anyway (all of it is close-on-exec), closed
	// before anything in the container gets to look at this process. A
	// failure leaves them to execve.
	sort_fds(keep, 4);
	(void)close_from_except(s->close_from, keep, 4);
	reset_signal_handlers();
	// The mask goes back before the filter, which may not allow changing it.
	sigprocmask(SIG_SETMASK, mask, NULL);
	if (setsid() < 0 || (s->ctty && ioctl(0, TIOCSCTTY, 0) < 0)) {
		e.step = OCIRT_STEP_SESSION;
		goto fail;
	}
	if (s->wait_fifo >= 0) {
		// The caller learns that the process is set up and exits; from
		// here on failures go to `start`.
		close(errfd);
		errfd = -1;
		fifo = wait_for_start(s->wait_fifo, s->wait_procfs);
	}
	if (s->n_hooks > 0 && run_hooks(s, fifo) < 0) {
		e.step = OCIRT_STEP_HOOK_STATE;
		goto fail;
	}
	if (s->filter.len > 0 &&
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, s->seccomp_flags, &s->filter) < 0) {
		e.step = OCIRT_STEP_SECCOMP;
		goto fail;
	}
	execve(s->path, s->argv, s->envp);
	e.step = OCIRT_STEP_EXEC;
fail:
	e.err = errno;
	if (fifo >= 0)
		report_spawn_error(fifo, e.step, e.err, 127);
	while (write(errfd, &e, sizeof(e)) < 0 && errno == EINTR)
		;
	_exit(127);
}

int ocirt_exec_after_start(const struct ocirt_spawn *s)
{
	int keep[2] = {s->wait_fifo, s->wait_procfs};
	sort_fds(keep, 2);
	if (close_from_except(s->close_from, keep, 2) < 0)
		return -1;
	// Nothing but stdio and the preserved fds may pass execve, even were
	// the wait to end otherwise than in it.
	for (int i = 0; i < 2; i++)
		if (fcntl(keep[i], F_SETFD, FD_CLOEXEC) < 0)
			return -1;
	reset_signal_handlers();
	ocirt_finish_after_start(s, wait_for_start(s->wait_fifo, s->wait_procfs));
}

void ocirt_finish_after_start(const struct ocirt_spawn *s, int fifo)
{
	if (s->filter.len > 0 &&
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, s->seccomp_flags, &s->filter) < 0)
		report_spawn_error(fifo, OCIRT_STEP_SECCOMP, errno, 127);
	if (s->n_hooks > 0 && run_hooks(s, fifo) < 0)
		report_spawn_error(fifo, OCIRT_STEP_HOOK_STATE, errno, 127);
	execve(s->path, s->argv, s->envp);
	report_spawn_error(fifo, OCIRT_STEP_EXEC, errno, 127);
}

// exit_with_report ends the process with the outcome of the spawn as its
// name, where the parent reads it once the process has exited: the
// report socket is closed by then (see ocirt_spawn_and_exit).
__attribute__((noreturn)) static void exit_with_report(const char *fmt, int a, int b)
{
	char name[16];
	snprintf(name, sizeof(name), fmt, a, b);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	_exit(0);
}

void ocirt_spawn_and_exit(const struct ocirt_spawn *s, int report_fd)
{
	int errpipe[2];
	sigset_t all, old;
	// The process name carries the report, and /proc/<pid>/comm shows the
	// main thread's.
	if (syscall(SYS_gettid) != getpid())
		report_spawn_error(report_fd, OCIRT_STEP_CLONE, EINVAL, 1);
	// The child is visible in the container's pid namespace from the
	// clone on, and may not run at once: its copy of the fd table must
	// hold nothing of ours but the error pipe, which it closes before
	// anything else. Not even the report socket, which leads to the
	// runtime: it is closed before the clone, and the outcome goes out as
	// the name this process exits with. This thread's table is its own
	// (the caller unshared it), and it never returns to Go; the other
	// threads' table still holds the socket, which the parent sees close
	// when the process exits.
	int keep[4] = {report_fd, s->wait_fifo, s->wait_procfs, s->hook_state};
	sort_fds(keep, 4);
	if (close_from_except(s->close_from, keep, 4) < 0)
		report_spawn_error(report_fd, OCIRT_STEP_CLONE, errno, 1);
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		report_spawn_error(report_fd, OCIRT_STEP_CLONE, errno, 1);
	close(report_fd);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	// No CLONE_VM: whoever manages to attach to the child between clone and
	// execve finds a copy of this process's memory, not this process.
	// CLONE_VFORK still holds us until the child has exec'd or failed, and
	// CLONE_PARENT makes it a child of the runtime that started us. A child
	// that waits for `start` first releases us by closing the error pipe.
	long flags = CLONE_PARENT | SIGCHLD | (s->wait_fifo >= 0 ? 0 : CLONE_VFORK);
	long pid = syscall(SYS_clone, flags, 0, NULL, NULL, 0);
	if (pid == 0)
		child(s, errpipe[1], &old);
	if (pid < 0)
		exit_with_report(OCIRT_REPORT_FAILED, OCIRT_STEP_CLONE, errno);
	close(errpipe[1]);
	struct ocirt_spawn_err e;
	ssize_t n;
	while ((n = read(errpipe[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	if (n == sizeof(e))
		exit_with_report(OCIRT_REPORT_FAILED, e.step, e.err);
	exit_with_report(OCIRT_REPORT_STARTED, (int)pid, 0);
}
