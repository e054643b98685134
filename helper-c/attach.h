/* The background monitor's terminal server (Spec.attach_socket): it keeps the pty master of a `run -d -t`
 * container, so that the terminal outlives any one `shim attach` and its output is logged while nobody
 * watches. Clients come and go over a unix socket; the framing is in proto/shim.proto (attach_socket). */
#ifndef HC_ATTACH_H
#define HC_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#define HC_ATTACH_MAX_CLIENTS 8
/* The largest payload of one client frame (a client sends longer input as several frames). */
#define HC_ATTACH_MAX_PAYLOAD 4096

struct hc_attach_client {
	int fd;
	size_t have;
	unsigned char buf[3 + HC_ATTACH_MAX_PAYLOAD];
};

struct hc_attach {
	int listen_fd;
	/* attach_wait_first: the pty is not read before the first client came. */
	bool wait_first;
	bool seen_client;
	/* With wait_first: a pidfd of the shim that will attach (run -it, start -a), or -1. The first client is
	 * waited for as long as that shim lives, however slow a loaded machine makes it; without one, 10 s. */
	int owner_fd;
	/* HC_ATTACH_MAX_CLIENTS of them, allocated by hc_attach_listen: a monitor without a terminal pays
	 * nothing for them (its resident size is measured, see README). NULL until then. */
	struct hc_attach_client *clients;
};

/* What hc_attach_serve moves: the container's terminal, or (Spec.log_records without one) its stdio pipes. */
struct hc_attach_io {
	/* Clients' input goes here: the pty master, the stdin pipe (Spec.attach_stdin), or -1. */
	int input;
	/* stdout and stderr: the pty master and -1, or the two pipes. */
	int output[2];
	bool tty;
	/* Spec.log_records: the log gets one record per line (attach.c says how); else the raw bytes. */
	bool records;
	/* hc_attach_serve's own: the process has ended, its last output is being read. */
	bool draining;
};

void hc_attach_init(struct hc_attach *attach);
/* Bind and listen on path (an old socket file there is replaced), mode 0600, close-on-exec. */
int hc_attach_listen(struct hc_attach *attach, const char *path, bool wait_first, struct hc_error *err);
/* Until pid has exited (it is not reaped here): the output to log_fd (and a terminal's to every client),
 * clients' input (and a terminal's window sizes) to io->input, new clients accepted. Best effort: a client
 * that fails is dropped. */
void hc_attach_serve(struct hc_attach *attach, struct hc_attach_io *io, pid_t pid, int log_fd);
/* Disconnect every client: they read EOF, and their sockets are closed once they closed theirs (or after
 * a second). */
void hc_attach_drop_clients(struct hc_attach *attach);
/* In a child process: close our copies of the descriptors, touching no socket's state. */
void hc_attach_close_fds(struct hc_attach *attach);

#endif
