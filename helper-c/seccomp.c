#define _GNU_SOURCE
#include "seccomp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "kernel.h"
#include "sync.h"
#include "util.h"

#define STAGE shim_v1_Stage_STAGE_SECCOMP
#define NOTIFY_STAGE shim_v1_Stage_STAGE_SECCOMP_NOTIFY

int hc_seccomp_validate(const shim_v1_Spec *spec, struct hc_error *err)
{
	const bool listener = (spec->seccomp_flags & HC_SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0;

	if (!hc_seccomp_wanted(spec)) {
		if (spec->seccomp_flags != 0 || hc_has(spec->seccomp_listener_path))
			return hc_fail(err, shim_v1_Stage_STAGE_READ_SPEC, 0, NULL, "spec: seccomp flags without a filter");
		return 0;
	}
	if (spec->seccomp_filter->size % sizeof(struct hc_sock_filter) != 0 ||
	    spec->seccomp_filter->size / sizeof(struct hc_sock_filter) > HC_BPF_MAXINSNS)
		return hc_fail(err, shim_v1_Stage_STAGE_READ_SPEC, 0, NULL,
			       "spec: seccomp_filter is %u bytes, not 1 to %d instructions of 8 bytes",
			       (unsigned)spec->seccomp_filter->size, HC_BPF_MAXINSNS);
	if (listener != hc_has(spec->seccomp_listener_path))
		return hc_fail(err, shim_v1_Stage_STAGE_READ_SPEC, 0, NULL,
			       "spec: seccomp_listener_path goes with SECCOMP_FILTER_FLAG_NEW_LISTENER");
	if (listener && spec->seccomp_listener_path[0] != '/')
		return hc_fail(err, shim_v1_Stage_STAGE_READ_SPEC, 0, spec->seccomp_listener_path,
			       "spec: seccomp_listener_path must be absolute");
	return 0;
}

int hc_seccomp_install(const shim_v1_Spec *spec, int sync_fd, struct hc_error *err)
{
	/* The bytes are struct sock_filter[] already (little-endian, as this machine); copied so that the
	 * program is aligned whatever nanopb's buffer is. */
	size_t count = spec->seccomp_filter->size / sizeof(struct hc_sock_filter);
	struct hc_sock_filter *program = malloc(count * sizeof(struct hc_sock_filter));
	struct hc_sock_fprog fprog = { .len = (unsigned short)count, .filter = program };
	long listener;

	if (program == NULL)
		return hc_fail(err, STAGE, ENOMEM, NULL, "seccomp filter");
	memcpy(program, spec->seccomp_filter->bytes, count * sizeof(struct hc_sock_filter));
	listener = syscall(SYS_seccomp, HC_SECCOMP_SET_MODE_FILTER, (unsigned long)spec->seccomp_flags, &fprog);
	/* program is not freed: execve() follows, and free() may munmap, which the filter may deny. */
	if (listener < 0)
		return hc_fail(err, STAGE, errno, NULL, "install seccomp filter (%u instructions, flags 0x%x)", (unsigned)count,
			       (unsigned)spec->seccomp_flags);
	if (!(spec->seccomp_flags & HC_SECCOMP_FILTER_FLAG_NEW_LISTENER))
		return 0;

	/* From here on every syscall we make may wait on the agent (read and close may be NOTIFY rules;
	 * write may not, the shim refuses that): the listener must reach it before anything else. */
	hc_cleanup_close int fd = (int)listener;
	if (hc_sync_send_fd(sync_fd, HC_SYNC_SECCOMP, fd, NOTIFY_STAGE, err) < 0)
		return -1;
	return hc_sync_expect(sync_fd, HC_SYNC_SECCOMP_DONE, NOTIFY_STAGE, err);
}

int hc_seccomp_send_listener(const shim_v1_Spec *spec, pid_t pid, int listener_fd, struct hc_error *err)
{
	const char *path = spec->seccomp_listener_path;
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	hc_cleanup_close int sock = -1;
	char pid_text[16];
	size_t pid_len = hc_format(pid_text, sizeof(pid_text), "%d", (int)pid);
	size_t total = 0;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr message = { 0 };
	struct cmsghdr *cmsg;

	if (strlen(path) >= sizeof(address.sun_path))
		return hc_fail(err, NOTIFY_STAGE, ENAMETOOLONG, path, "seccomp listener socket");
	memcpy(address.sun_path, path, strlen(path) + 1);

	/* The message: the parts joined by the pid. */
	for (pb_size_t i = 0; i < spec->seccomp_listener_state_count; i++)
		total += strlen(spec->seccomp_listener_state[i]) + pid_len;
	char *state = malloc(total + 1);
	char *end = state;

	if (state == NULL)
		return hc_fail(err, NOTIFY_STAGE, ENOMEM, NULL, "seccomp listener state");
	for (pb_size_t i = 0; i < spec->seccomp_listener_state_count; i++) {
		size_t len = strlen(spec->seccomp_listener_state[i]);

		memcpy(end, spec->seccomp_listener_state[i], len);
		end += len;
		if (i + 1 < spec->seccomp_listener_state_count) {
			memcpy(end, pid_text, pid_len);
			end += pid_len;
		}
	}
	struct iovec iov = { .iov_base = state, .iov_len = (size_t)(end - state) };

	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&address, sizeof(address)) < 0) {
		free(state);
		return hc_fail(err, NOTIFY_STAGE, errno, path, "connect to the seccomp agent");
	}
	memset(&control, 0, sizeof(control));
	message.msg_iov = &iov;
	message.msg_iovlen = 1;
	message.msg_control = control.buf;
	message.msg_controllen = sizeof(control.buf);
	cmsg = CMSG_FIRSTHDR(&message);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &listener_fd, sizeof(int));
	ssize_t sent;
	do
		sent = sendmsg(sock, &message, MSG_NOSIGNAL);
	while (sent < 0 && errno == EINTR);
	/* The descriptor went with the first byte; a stream socket may take the rest in more writes. */
	if (sent >= 0 && (size_t)sent < iov.iov_len && hc_write_all(sock, state + sent, iov.iov_len - (size_t)sent) < 0)
		sent = -1;
	free(state);
	if (sent < 0)
		return hc_fail(err, NOTIFY_STAGE, errno, path, "send the seccomp listener");
	return 0;
}
