#define _GNU_SOURCE
#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

#define TERMINAL shim_v1_Stage_STAGE_TERMINAL

int hc_terminal_connect(const char *path, struct hc_error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	hc_cleanup_close int fd = -1;
	size_t len = strlen(path);

	if (len >= sizeof(addr.sun_path))
		return hc_fail(err, TERMINAL, ENAMETOOLONG, path, "connect to console socket");
	memcpy(addr.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hc_fail(err, TERMINAL, errno, path, "console socket");
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return hc_fail(err, TERMINAL, errno, path, "connect to console socket");
	return hc_steal_fd(&fd);
}

/* One message: the pty's name as data (as runc sends it), the master as SCM_RIGHTS. */
static int send_master(int console_fd, int master, const char *name)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)name, .iov_len = strlen(name) };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	ssize_t n;

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
	do
		n = sendmsg(console_fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : 0;
}

int hc_terminal_setup(const shim_v1_Process *process, int console_fd, struct hc_error *err)
{
	hc_cleanup_close int console = console_fd;
	hc_cleanup_close int master = -1;
	hc_cleanup_close int peer = -1;
	char name[32];
	int unlock = 0;
	unsigned number;

	/* The container's own ptmx: the pty belongs to its devpts, not the host's. */
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return hc_fail(err, TERMINAL, errno, "/dev/ptmx", "terminal: open");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &number) < 0)
		return hc_fail(err, TERMINAL, errno, "/dev/ptmx", "terminal: unlock pty");
	/* The peer through the master itself, not by its /dev/pts path, which the container could swap. */
	peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (peer < 0)
		return hc_fail(err, TERMINAL, errno, "/dev/ptmx", "terminal: open pty peer");
	hc_format(name, sizeof(name), "/dev/pts/%u", number);
	/* Owned by the process's user, who changes to it only later. */
	if (fchown(peer, process->uid, (gid_t)-1) < 0)
		return hc_fail(err, TERMINAL, errno, name, "terminal: chown");
	if (send_master(console, master, name) < 0)
		return hc_fail(err, TERMINAL, errno, NULL, "terminal: send pty master to console socket");

	for (int fd = 0; fd < 3; fd++)
		if (dup2(peer, fd) < 0)
			return hc_fail(err, TERMINAL, errno, name, "terminal: make the pty stdio");
	/* Needs a session leader without a terminal: setsid() came just before. */
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		return hc_fail(err, TERMINAL, errno, name, "terminal: make the pty the controlling terminal");
	return 0;
}
