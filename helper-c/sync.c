#define _GNU_SOURCE
#include "sync.h"

#include <errno.h>
#include <sys/socket.h>

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
	default:
		return "an unknown message";
	}
}

int hc_sync_send(int fd, enum hc_sync_type type, int32_t value, shim_v1_Stage stage,
		 struct hc_error *err)
{
	struct hc_sync_msg msg = { (uint32_t)type, value };
	ssize_t n;

	/* MSG_NOSIGNAL: a monitor that has already gone (MONITOR_DETACH) must not kill us with SIGPIPE. */
	do
		n = send(fd, &msg, sizeof(msg), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(msg))
		return hc_fail(err, stage, n < 0 ? errno : EIO, NULL, "sync: send %s",
			       hc_sync_name(type));
	return 0;
}

int hc_sync_recv(int fd, struct hc_sync_msg *msg, shim_v1_Stage stage, struct hc_error *err)
{
	ssize_t n;

	do
		n = recv(fd, msg, sizeof(*msg), 0);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n < 0)
		return hc_fail(err, stage, errno, NULL, "sync: receive");
	if (n != (ssize_t)sizeof(*msg))
		return hc_fail(err, stage, EPROTO, NULL,
			       "sync: message of %ld bytes, expected %lu", (long)n, (unsigned long)sizeof(*msg));
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
	if (msg.type != (uint32_t)type)
		return hc_fail(err, stage, EPROTO, NULL, "sync: expected %s, got 0x%x",
			       hc_sync_name(type), msg.type);
	return 0;
}
