/* The helper's second process, which becomes the container's init (ACTION_RUN_CONTAINER) or the new
 * process in a running container (ACTION_EXEC). The numbered sync steps match monitor.c. Every function
 * here ends the process on failure: it reports its own ERROR frame, tells the monitor, and _exits. */
#ifndef HC_CHILD_H
#define HC_CHILD_H

#include <sys/types.h>

#include "error.h"
#include "shim.pb.h"

/* What the child holds besides the spec. */
struct hc_child {
	const shim_v1_Spec *spec;
	/* Its end of the sync socket pair. */
	int sync_fd;
	/* FINISH_WAIT_FOR_START: the start FIFO as O_PATH, else -1. */
	int fifo_fd;
	/* Process.terminal: the connected console socket, else -1. */
	int console_fd;
	/* From hc_cap_last(), read on the host. */
	int cap_last;
};

/* Name the process (for ps), and wait for the monitor's ACK (sync step 1). Returns our host pid. */
pid_t hc_child_begin(const char *name, int sync_fd);

/* Steps j to p, once the process sits in its final namespaces and root: limits, session and terminal,
 * credentials, cwd, descriptors, READY, the start FIFO, execve. Never returns. */
_Noreturn void hc_child_finish(const struct hc_child *child);

/* Report err, tell the monitor, _exit with the code that goes with it. */
_Noreturn void hc_child_fail(int sync_fd, const struct hc_error *err);

#endif
