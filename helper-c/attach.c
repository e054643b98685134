#define _GNU_SOURCE
#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "terminal.h"
#include "util.h"

#define ATTACH shim_v1_Stage_STAGE_ATTACH

void hc_attach_init(struct hc_attach *attach)
{
	memset(attach, 0, sizeof(*attach));
	attach->listen_fd = -1;
	attach->owner_fd = -1;
}

int hc_attach_listen(struct hc_attach *attach, const char *path, bool wait_first, struct hc_error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	hc_cleanup_close int fd = -1;
	hc_cleanup_close int dir_fd = -1;
	const char *name = strrchr(path, '/');
	mode_t old_umask;
	int ret;

	/* sun_path holds 107 bytes, and a state root plus a 64-character id can pass that. Then the socket is
	 * bound through the directory's descriptor, /proc/self/fd/N/NAME, as conmon binds its attach socket;
	 * the client connects the same way (src/cli/attach-client.ts). */
	if (strlen(path) < sizeof(addr.sun_path)) {
		memcpy(addr.sun_path, path, strlen(path) + 1);
	} else {
		char dir[PATH_MAX];

		if (name == NULL || (size_t)(name - path) >= sizeof(dir))
			return hc_fail(err, ATTACH, ENAMETOOLONG, path, "attach socket");
		memcpy(dir, path, name - path);
		dir[name - path] = '\0';
		dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dir_fd < 0)
			return hc_fail(err, ATTACH, errno, path, "attach socket: open its directory");
		/* hc_format truncates: a result that fills the buffer may have lost its end. */
		if (hc_format(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d%s", dir_fd, name) >= sizeof(addr.sun_path) - 1)
			return hc_fail(err, ATTACH, ENAMETOOLONG, path, "attach socket");
	}
	attach->clients = calloc(HC_ATTACH_MAX_CLIENTS, sizeof(*attach->clients));
	if (attach->clients == NULL)
		return hc_fail(err, ATTACH, errno, path, "attach socket: clients");
	for (size_t i = 0; i < HC_ATTACH_MAX_CLIENTS; i++)
		attach->clients[i].fd = -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return hc_fail(err, ATTACH, errno, path, "attach socket");
	if (unlink(path) < 0 && errno != ENOENT)
		return hc_fail(err, ATTACH, errno, path, "attach socket: remove the old one");
	/* Made 0600 from the start: no moment in which another user could connect to the terminal. */
	old_umask = umask(0177);
	ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_umask);
	if (ret < 0)
		return hc_fail(err, ATTACH, errno, path, "attach socket: bind");
	if (listen(fd, HC_ATTACH_MAX_CLIENTS) < 0)
		return hc_fail(err, ATTACH, errno, path, "attach socket: listen");
	attach->listen_fd = hc_steal_fd(&fd);
	attach->wait_first = wait_first;
	return 0;
}

static void drop_client(struct hc_attach_client *client)
{
	hc_close_fdp(&client->fd);
	client->have = 0;
}

void hc_attach_close_fds(struct hc_attach *attach)
{
	hc_close_fdp(&attach->listen_fd);
	hc_close_fdp(&attach->owner_fd);
	for (size_t i = 0; i < (attach->clients != NULL ? HC_ATTACH_MAX_CLIENTS : 0); i++)
		hc_close_fdp(&attach->clients[i].fd);
}

void hc_attach_drop_clients(struct hc_attach *attach)
{
	const size_t count = attach->clients != NULL ? HC_ATTACH_MAX_CLIENTS : 0;
	struct pollfd fds[HC_ATTACH_MAX_CLIENTS];
	bool waiting = false;

	/* EOF first, and the socket closed only once the client has closed its end (or after a second): a
	 * client still writing (a window size, a key) to a socket we had closed would get EPIPE, and could
	 * lose the output it has not read yet with it. */
	for (size_t i = 0; i < count; i++) {
		if (attach->clients[i].fd >= 0)
			shutdown(attach->clients[i].fd, SHUT_WR);
	}
	for (int turns = 0; turns < 20; turns++) {
		nfds_t n = 0;

		waiting = false;
		for (size_t i = 0; i < count; i++) {
			fds[n++] = (struct pollfd){ .fd = attach->clients[i].fd, .events = POLLIN };
			waiting = waiting || attach->clients[i].fd >= 0;
		}
		if (!waiting || poll(fds, n, 50) < 0)
			break;
		for (size_t i = 0; i < count; i++) {
			unsigned char discard[512];

			if (fds[i].revents && recv(attach->clients[i].fd, discard, sizeof(discard), MSG_DONTWAIT) <= 0)
				drop_client(&attach->clients[i]);
		}
	}
	for (size_t i = 0; i < count; i++)
		drop_client(&attach->clients[i]);
}

static void accept_client(struct hc_attach *attach)
{
	int fd = accept4(attach->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	for (size_t i = 0; i < (attach->clients != NULL ? HC_ATTACH_MAX_CLIENTS : 0); i++) {
		if (attach->clients[i].fd < 0) {
			attach->clients[i].fd = fd;
			attach->clients[i].have = 0;
			attach->seen_client = true;
			return;
		}
	}
	/* Full: the newcomer reads EOF at once. */
	close(fd);
}

/* Output goes to every client without waiting for any: a client that cannot take it now is dropped
 * rather than let stall the container's terminal (or the others). */
static void broadcast(struct hc_attach *attach, const char *buf, size_t len)
{
	for (size_t i = 0; i < (attach->clients != NULL ? HC_ATTACH_MAX_CLIENTS : 0); i++) {
		struct hc_attach_client *client = &attach->clients[i];
		size_t done = 0;

		while (client->fd >= 0 && done < len) {
			ssize_t n = send(client->fd, buf + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				drop_client(client);
				break;
			}
			done += (size_t)n;
		}
	}
}

/* Whole frames are acted on; a partial one waits for the rest. */
static void read_client(struct hc_attach_client *client, const struct hc_attach_io *io)
{
	ssize_t n = recv(client->fd, client->buf + client->have, sizeof(client->buf) - client->have, MSG_DONTWAIT);
	size_t at = 0;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		drop_client(client);
		return;
	}
	client->have += (size_t)n;
	while (client->have - at >= 3) {
		unsigned char type = client->buf[at];
		size_t len = client->buf[at + 1] | (size_t)client->buf[at + 2] << 8;
		const unsigned char *payload = client->buf + at + 3;

		if (len > HC_ATTACH_MAX_PAYLOAD || (type != 'd' && type != 'w')) {
			drop_client(client);
			return;
		}
		if (client->have - at < 3 + len)
			break;
		if (type == 'd' && io->input >= 0) {
			/* The stdin pipe is non-blocking: a container that reads no input loses it rather than
			 * stall its own log. */
			hc_write_all(io->input, payload, len);
		} else if (type == 'w' && len == 4 && io->tty) {
			struct winsize size = { .ws_row = (unsigned short)(payload[0] | payload[1] << 8),
						.ws_col = (unsigned short)(payload[2] | payload[3] << 8) };

			/* The kernel sends SIGWINCH to the terminal's foreground process group. */
			ioctl(io->input, TIOCSWINSZ, &size);
		}
		at += 3 + len;
	}
	memmove(client->buf, client->buf + at, client->have - at);
	client->have -= at;
}

/* Spec.log_records: one record per line, "<Unix time in ns> <stdout|stderr> <F|P> <line>\n" (CRI's layout
 * with the time as a number); P: the line goes on in the next record. One writev each: O_APPEND keeps a
 * record whole. */
static void write_records(int log_fd, int stream, const char *buf, size_t len)
{
	struct timespec now;
	char head[40];
	size_t head_len;

	clock_gettime(CLOCK_REALTIME, &now);
	head_len = hc_format(head, sizeof(head), "%llu %s ",
			     (unsigned long long)now.tv_sec * 1000000000ULL + (unsigned long long)now.tv_nsec,
			     stream == 0 ? "stdout" : "stderr");
	while (len > 0) {
		const char *newline = memchr(buf, '\n', len);
		size_t line = newline != NULL ? (size_t)(newline - buf) : len;
		struct iovec record[] = { { head, head_len }, { newline != NULL ? "F " : "P ", 2 },
					  { (void *)buf, line }, { "\n", 1 } };

		writev(log_fd, record, 4);
		line += newline != NULL;
		buf += line;
		len -= line;
	}
}

static void copy_output(struct hc_attach *attach, const struct hc_attach_io *io, int stream, int log_fd, bool *open)
{
	char buf[8192];
	ssize_t n;

	/* The pty waits for its asynchronous last output (hc_terminal_drain); a pipe has it all at once. */
	if (!*open)
		return;
	if (io->tty) {
		n = io->draining ? hc_terminal_drain(io->output[0], buf, sizeof(buf)) : read(io->output[0], buf, sizeof(buf));
	} else {
		struct pollfd ready = { .fd = io->output[stream], .events = POLLIN };

		n = poll(&ready, 1, 0) > 0 ? read(io->output[stream], buf, sizeof(buf)) : 0;
		if (n <= 0 && !io->draining)
			return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN) && !io->draining)
		return;
	/* EIO: no process holds the pty any more; drained: nothing more now. */
	if (n <= 0) {
		*open = false;
		return;
	}
	if (io->records)
		write_records(log_fd, stream, buf, (size_t)n);
	else
		hc_write_all(log_fd, buf, (size_t)n);
	if (io->tty)
		broadcast(attach, buf, (size_t)n);
}

void hc_attach_serve(struct hc_attach *attach, struct hc_attach_io *io, pid_t pid, int log_fd)
{
	struct pollfd fds[4 + HC_ATTACH_MAX_CLIENTS];
	hc_cleanup_close int sigfd = -1;
	bool open[2] = { io->output[0] >= 0, io->output[1] >= 0 };
	sigset_t mask;

	/* SIGCHLD ends the serving; it arrives as a read on a signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	io->draining = false;
	/* Checked on every turn: a SIGCHLD that came before the mask was set is not queued on sigfd. */
	while (!hc_terminal_has_exited(pid)) {
		bool read_output = !attach->wait_first || attach->seen_client;
		nfds_t n = 0;

		fds[n++] = (struct pollfd){ .fd = read_output && open[0] ? io->output[0] : -1, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = read_output && open[1] ? io->output[1] : -1, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = attach->listen_fd, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		for (size_t i = 0; i < (attach->clients != NULL ? HC_ATTACH_MAX_CLIENTS : 0); i++)
			fds[n++] = (struct pollfd){ .fd = attach->clients[i].fd, .events = POLLIN };
		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int stream = 0; stream < 2; stream++)
			if (fds[stream].revents)
				copy_output(attach, io, stream, log_fd, &open[stream]);
		if (fds[2].revents)
			accept_client(attach);
		if (fds[3].revents) {
			struct signalfd_siginfo info;

			while (read(sigfd, &info, sizeof(info)) > 0)
				;
		}
		for (size_t i = 0; i < (attach->clients != NULL ? HC_ATTACH_MAX_CLIENTS : 0); i++)
			if (fds[4 + i].revents && attach->clients[i].fd >= 0)
				read_client(&attach->clients[i], io);
	}
	/* A `run -it` whose process ended before its shim attached: what it wrote waits in the pty for that
	 * first client (which the shim is about to be), for a while. */
	if (attach->wait_first && !attach->seen_client) {
		struct pollfd first[2] = { { .fd = attach->listen_fd, .events = POLLIN },
					   { .fd = attach->owner_fd, .events = POLLIN } };

		if (poll(first, 2, attach->owner_fd >= 0 ? -1 : 10000) > 0 && first[0].revents)
			accept_client(attach);
	}
	/* What the process wrote just before it ended. */
	io->draining = true;
	for (int stream = 0; stream < 2; stream++)
		while (open[stream])
			copy_output(attach, io, stream, log_fd, &open[stream]);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
}
