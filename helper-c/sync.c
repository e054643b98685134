#define _GNU_SOURCE
#include "sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int hc_sync_pair(int *monitor_fd, int *child_fd, struct hc_error *err)
{
	int fds[2];

	/* SEQPACKET: one message per read, so a short or merged message cannot go unnoticed. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_CLONE, errno, NULL, "create sync socket pair");
	*monitor_fd = fds[0];
	*child_fd = fds[1];
	return 0;
}

const char *hc_sync_name(uint32_t type)
{
	switch (type) {
	case HC_SYNC_ACK:
		return "ACK (0x41)";
	case HC_SYNC_READY:
		return "READY (0x42)";
	case HC_SYNC_ERROR:
		return "ERROR (0x43)";
	case HC_SYNC_REPORTED:
		return "REPORTED (0x44)";
	case HC_SYNC_PTY:
		return "PTY (0x45)";
	case HC_SYNC_PID:
		return "PID (0x46)";
	case HC_SYNC_IDMAP:
		return "IDMAP (0x47)";
	case HC_SYNC_MOUNT_FD:
		return "MOUNT_FD (0x48)";
	case HC_SYNC_SECCOMP:
		return "SECCOMP (0x49)";
	case HC_SYNC_SECCOMP_DONE:
		return "SECCOMP_DONE (0x4a)";
	default:
		return "an unknown message";
	}
}

/* On the wire: the type and the value, 8 bytes. */
struct wire {
	uint32_t type;
	int32_t value;
};

union control {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

static int send_msg(int fd, enum hc_sync_type type, int32_t value, int passed_fd, shim_v1_Stage stage,
		    struct hc_error *err)
{
	struct wire wire = { (uint32_t)type, value };
	struct iovec iov = { .iov_base = &wire, .iov_len = sizeof(wire) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	union control control;
	ssize_t n;

	if (passed_fd >= 0) {
		struct cmsghdr *cmsg;

		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &passed_fd, sizeof(int));
	}
	/* MSG_NOSIGNAL: a monitor that has already gone (MONITOR_DETACH) must not kill us with SIGPIPE. */
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(wire))
		return hc_fail(err, stage, n < 0 ? errno : EIO, NULL, "sync: send %s", hc_sync_name(type));
	return 0;
}

int hc_sync_send(int fd, enum hc_sync_type type, int32_t value, shim_v1_Stage stage, struct hc_error *err)
{
	return send_msg(fd, type, value, -1, stage, err);
}

int hc_sync_send_fd(int fd, enum hc_sync_type type, int passed_fd, shim_v1_Stage stage, struct hc_error *err)
{
	return send_msg(fd, type, 0, passed_fd, stage, err);
}

int hc_sync_recv(int fd, struct hc_sync_msg *out, shim_v1_Stage stage, struct hc_error *err)
{
	struct wire wire;
	struct iovec iov = { .iov_base = &wire, .iov_len = sizeof(wire) };
	union control control;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;

	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n < 0)
		return hc_fail(err, stage, errno, NULL, "sync: receive");
	out->fd = -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg != NULL && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
		memcpy(&out->fd, CMSG_DATA(cmsg), sizeof(int));
	if (n != (ssize_t)sizeof(wire)) {
		if (out->fd >= 0)
			close(out->fd);
		return hc_fail(err, stage, EPROTO, NULL, "sync: message of %ld bytes, expected %lu", (long)n,
			       (unsigned long)sizeof(wire));
	}
	out->type = wire.type;
	out->value = wire.value;
	return 1;
}

int hc_sync_expect(int fd, enum hc_sync_type type, shim_v1_Stage stage, struct hc_error *err)
{
	struct hc_sync_msg msg;
	int ret = hc_sync_recv(fd, &msg, stage, err);

	if (ret < 0)
		return -1;
	if (ret == 0)
		return hc_fail(err, stage, EPIPE, NULL, "sync: expected %s, got EOF",
			       hc_sync_name(type));
	if (msg.fd >= 0)
		close(msg.fd);
	if (msg.type != (uint32_t)type)
		return hc_fail(err, stage, EPROTO, NULL, "sync: expected %s, got 0x%x",
			       hc_sync_name(type), msg.type);
	return 0;
}
