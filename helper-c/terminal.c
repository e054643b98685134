#define _GNU_SOURCE
#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "sync.h"
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

int hc_terminal_setup(const shim_v1_Process *process, int console_fd, int sync_fd, struct hc_error *err)
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
	/* The peer through the master itself, not by its /dev/pts path, which the container could swap. And no
	 * /dev/console: runc binds the peer there by path, which a symlink or a racing mount redirected onto any
	 * file (CVE-2025-52565); here the pty reaches the process only as fds 0-2, so no mount is made at all
	 * (test/integration/cve-2025.test.ts holds that). */
	peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (peer < 0)
		return hc_fail(err, TERMINAL, errno, "/dev/ptmx", "terminal: open pty peer");
	hc_format(name, sizeof(name), "/dev/pts/%u", number);
	/* Owned by the process's user, who changes to it only later. */
	if (fchown(peer, process->uid, (gid_t)-1) < 0)
		return hc_fail(err, TERMINAL, errno, name, "terminal: chown");
	if (console >= 0) {
		if (send_master(console, master, name) < 0)
			return hc_fail(err, TERMINAL, errno, NULL, "terminal: send pty master to console socket");
	} else if (hc_sync_send_fd(sync_fd, HC_SYNC_PTY, master, TERMINAL, err) < 0) {
		return -1;
	}

	for (int fd = 0; fd < 3; fd++)
		if (dup2(peer, fd) < 0)
			return hc_fail(err, TERMINAL, errno, name, "terminal: make the pty stdio");
	/* Needs a session leader without a terminal: setsid() came just before. */
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		return hc_fail(err, TERMINAL, errno, name, "terminal: make the pty the controlling terminal");
	return 0;
}

static void copy_window_size(int from, int to)
{
	struct winsize size;

	if (ioctl(from, TIOCGWINSZ, &size) == 0)
		ioctl(to, TIOCSWINSZ, &size);
}

/* "ROWS COLS" from a file the runtime v2 server writes before it sends SIGWINCH (ResizePty). */
static void read_window_size(const char *path, int to)
{
	char text[64];
	struct winsize size = { 0 };
	unsigned long value[2] = { 0, 0 };
	const char *c;
	int field = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return;
	text[n] = '\0';
	/* Two decimal numbers; no stdio in the helper for one line. */
	for (c = text; *c && field < 2; c++) {
		if (*c >= '0' && *c <= '9') {
			value[field] = value[field] * 10 + (unsigned long)(*c - '0');
			if (value[field] > 0xffff)
				return;
		} else if (c > text && c[-1] >= '0' && c[-1] <= '9') {
			field++;
		}
	}
	if (value[0] == 0 || value[1] == 0)
		return;
	size.ws_row = (unsigned short)value[0];
	size.ws_col = (unsigned short)value[1];
	ioctl(to, TIOCSWINSZ, &size);
}

bool hc_terminal_has_exited(pid_t pid)
{
	siginfo_t info = { 0 };

	/* WNOWAIT: the caller reaps, and reports how it ended. */
	return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

ssize_t hc_terminal_drain(int master, void *buf, size_t size)
{
	struct pollfd fd = { .fd = master, .events = POLLIN };

	/* A pty passes what the process wrote to the master through the kernel's flip buffer, asynchronously:
	 * just after the process ended, its last output may not be readable yet, and a non-blocking read would
	 * take "nothing now" for "nothing more". The peer is closed, so the master reads EIO (POLLHUP) once it
	 * is all there; the timeout only guards against a peer some other process still holds. */
	if (poll(&fd, 1, 1000) <= 0)
		return 0;
	return read(master, buf, size);
}

void hc_terminal_relay(int master, pid_t pid, const char *window_size_path)
{
	char buf[8192];
	struct termios saved, raw;
	bool local_tty = tcgetattr(0, &saved) == 0;
	sigset_t mask;
	hc_cleanup_close int sigfd = -1;
	struct pollfd fds[3];
	ssize_t n;

	/* SIGCHLD ends the relay and SIGWINCH resizes the pty; both arrive as reads on a signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (local_tty) {
		/* Keys go to the container's terminal as they are typed; its line discipline does the rest. */
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSADRAIN, &raw);
		copy_window_size(0, master);
	} else if (hc_has(window_size_path)) {
		/* A size written before SIGWINCH was blocked above found no listener: read it once now. */
		read_window_size(window_size_path, master);
	}

	fds[0] = (struct pollfd){ .fd = master, .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = 0, .events = POLLIN };
	fds[2] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
	/* Checked on every turn: a SIGCHLD that came before the mask was set is not queued on sigfd. */
	while (!hc_terminal_has_exited(pid)) {
		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0].revents) {
			n = read(master, buf, sizeof(buf));
			/* EIO: no process holds the pty any more. */
			if (n <= 0 || hc_write_all(1, buf, (size_t)n) < 0)
				fds[0].fd = -1;
		}
		if (fds[1].revents) {
			n = read(0, buf, sizeof(buf));
			if (n <= 0 || hc_write_all(master, buf, (size_t)n) < 0)
				fds[1].fd = -1;
		}
		if (fds[2].revents) {
			struct signalfd_siginfo info;

			if (read(sigfd, &info, sizeof(info)) == (ssize_t)sizeof(info) && info.ssi_signo == SIGWINCH) {
				if (local_tty)
					copy_window_size(0, master);
				else if (hc_has(window_size_path))
					read_window_size(window_size_path, master);
			}
		}
	}
	/* What the process wrote just before it ended. */
	while ((n = hc_terminal_drain(master, buf, sizeof(buf))) > 0)
		if (hc_write_all(1, buf, (size_t)n) < 0)
			break;
	if (local_tty)
		tcsetattr(0, TCSADRAIN, &saved);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
}
