#ifndef OCIRT_PROTOCOL_H
#define OCIRT_PROTOCOL_H

// The C side of the parent<->init protocol. protocol.go defines and
// documents it; this header holds what C writes and reads of it.

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

// OCIRT_PROTOCOL_VERSION is the version the bootstrap must carry and the
// stage's first message states.
#define OCIRT_PROTOCOL_VERSION 1

// The fixed messages C writes or expects, as whole frame payloads.
#define OCIRT_MSG_ACK "{\"type\":\"ack\"}"
#define OCIRT_MSG_READY "{\"type\":\"ready\"}"
#define OCIRT_MSG_NOTIFY "{\"type\":\"notify\"}"
#define OCIRT_MSG_PROCFS "{\"type\":\"procfs\"}"
#define OCIRT_MSG_CONSOLE "{\"type\":\"console\"}"
#define OCIRT_MSG_ROOT "{\"type\":\"root\"}"
// printf formats of the messages C fills in: a planerror, a filesystem
// and a spawnerror (each its step and errno), and the start of a
// hookerror (its index, how and value), whose stderr follows in base64
// and then OCIRT_MSG_HOOKERROR_END.
#define OCIRT_MSG_PLANERROR "{\"type\":\"planerror\",\"step\":%d,\"errno\":%d}"
#define OCIRT_MSG_FILESYSTEM "{\"type\":\"filesystem\",\"step\":%d,\"errno\":%d}"
#define OCIRT_MSG_SPAWNERROR "{\"type\":\"spawnerror\",\"step\":%d,\"errno\":%d}"
#define OCIRT_MSG_HOOKERROR "{\"type\":\"hookerror\",\"index\":%d,\"how\":%d,\"value\":%d,\"stderr\":\""
#define OCIRT_MSG_HOOKERROR_END "\"}"

// ocirt_write_frame writes one frame, its length and then its payload, to
// fd; 0 when all of it was written, -1 otherwise. One writev keeps the
// usual frame to a single system call.
static inline int ocirt_write_frame(int fd, const char *payload, uint32_t len)
{
	struct iovec iov[2] = {{&len, sizeof(len)}, {(void *)payload, len}};
	struct iovec *v = iov;
	int count = 2;
	while (count > 0) {
		ssize_t n = writev(fd, v, count);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		for (; count > 0 && (size_t)n >= v->iov_len; v++, count--)
			n -= (ssize_t)v->iov_len;
		if (count > 0) {
			v->iov_base = (char *)v->iov_base + n;
			v->iov_len -= (size_t)n;
		}
	}
	return 0;
}

// ocirt_send_frame_fd sends one frame with fd attached (SCM_RIGHTS) on
// the socket sock, in one sendmsg; 0 when all of it went, -1 otherwise.
static inline int ocirt_send_frame_fd(int sock, const char *payload, uint32_t len, int fd)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov[2] = {{&len, sizeof(len)}, {(void *)payload, len}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2, .msg_control = control, .msg_controllen = sizeof(control)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	ssize_t n;
	while ((n = sendmsg(sock, &msg, 0)) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)(sizeof(len) + len))
		return 0;
	if (n >= 0)
		errno = EIO;
	return -1;
}

// ocirt_read_all reads exactly len bytes from fd: 0, or -1 on an error or
// an end of file before them (the peer went away).
static inline int ocirt_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

// ocirt_recv_file reads one frame from sock that must be the message msg
// (one of the OCIRT_MSG_* without arguments) with an fd attached, and
// returns the fd; -1 and errno otherwise (EPROTO for another frame).
static inline int ocirt_recv_file(int sock, const char *msg)
{
	char buf[32], control[CMSG_SPACE(sizeof(int))];
	size_t want = strlen(msg);
	uint32_t len;
	struct iovec iov = {&len, sizeof(len)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)};
	ssize_t n;
	while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | MSG_WAITALL)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	int fd = -1;
	if (cm != NULL && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (n != sizeof(len) || len != want || want > sizeof(buf) || ocirt_read_all(sock, buf, want) < 0 ||
	    memcmp(buf, msg, want) != 0 || fd < 0) {
		if (fd >= 0)
			close(fd);
		errno = EPROTO;
		return -1;
	}
	return fd;
}

// ocirt_read_ack reads one frame from fd and returns 0 when it is the ack,
// -1 for anything else (a closed socket included).
static inline int ocirt_read_ack(int fd)
{
	char buf[4 + sizeof(OCIRT_MSG_ACK) - 1];
	if (ocirt_read_all(fd, buf, sizeof(buf)) < 0)
		return -1;
	uint32_t len;
	memcpy(&len, buf, 4);
	return len == sizeof(OCIRT_MSG_ACK) - 1 && memcmp(buf + 4, OCIRT_MSG_ACK, len) == 0 ? 0 : -1;
}

#endif
