/* Messages between the helper's monitor (outside) and the process it sets up (inside), over a
 * SOCK_SEQPACKET socketpair. Each type has its own distinctive value so that a stray or corrupt message
 * reads as "expected X, got Y" instead of being taken for another. Both ends are close-on-exec: the
 * monitor reads EOF without an error message exactly when execve() succeeded. */
#ifndef HC_SYNC_H
#define HC_SYNC_H

#include <stdint.h>

#include "error.h"

enum hc_sync_type {
	/* monitor -> init: the pid is in its cgroups and the id maps are written; go on. */
	HC_SYNC_ACK = 0x41,
	/* init -> monitor: fully set up; value is unused. */
	HC_SYNC_READY = 0x42,
	/* init -> monitor: the init has written an ERROR frame; value is the exit code it will _exit with. */
	HC_SYNC_ERROR = 0x43,
	/* monitor -> init: READY is reported. The init writes no frame of its own until then, so the shim
	 * never reads a late STAGE or ERROR frame before READY. */
	HC_SYNC_REPORTED = 0x44,
	/* init -> monitor: the pty master rides along (SCM_RIGHTS), for the monitor to relay the process's
	 * terminal to its own stdio (Process.terminal without Spec.console_socket). */
	HC_SYNC_PTY = 0x45,
	/* intermediate -> monitor: value is the pid of the init it cloned with CLONE_PARENT (a user namespace
	 * joined by path with a new pid namespace: see run.c). */
	HC_SYNC_PID = 0x46,
	/* init -> monitor: make my idmapped mounts (idmap.c); answered by MOUNT_FD messages, then ACK. */
	HC_SYNC_IDMAP = 0x47,
	/* monitor -> init: one idmapped mount (SCM_RIGHTS), in the order the init uses them. */
	HC_SYNC_MOUNT_FD = 0x48,
	/* init -> monitor: the seccomp listener descriptor rides along (SCM_RIGHTS), for the monitor to hand to
	 * Spec.seccomp_listener_path from the host's side. */
	HC_SYNC_SECCOMP = 0x49,
	/* monitor -> init: the listener is handed over (or the monitor failed, and kills the init). */
	HC_SYNC_SECCOMP_DONE = 0x4a,
};

struct hc_sync_msg {
	uint32_t type;
	int32_t value;
	/* A descriptor that came with the message (close-on-exec), else -1. Not part of the bytes sent. */
	int fd;
};

/* Create the pair: *monitor_fd for the monitor, *child_fd for the child. */
int hc_sync_pair(int *monitor_fd, int *child_fd, struct hc_error *err);
int hc_sync_send(int fd, enum hc_sync_type type, int32_t value, shim_v1_Stage stage,
		 struct hc_error *err);
/* Send a message with a descriptor attached. */
int hc_sync_send_fd(int fd, enum hc_sync_type type, int passed_fd, shim_v1_Stage stage, struct hc_error *err);
/* 1 with a message, 0 on EOF, -1 on error (err filled). */
int hc_sync_recv(int fd, struct hc_sync_msg *msg, shim_v1_Stage stage, struct hc_error *err);
/* Receive exactly one message of this type; EOF or any other type is an error. */
int hc_sync_expect(int fd, enum hc_sync_type type, shim_v1_Stage stage, struct hc_error *err);
const char *hc_sync_name(uint32_t type);

#endif
