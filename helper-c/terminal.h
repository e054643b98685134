/* Process.terminal with Spec.console_socket: the process gets a pty from the container's devpts as its
 * stdio and controlling terminal, and the pty master goes to whoever listens on the console socket
 * (SCM_RIGHTS), as runc's --console-socket. */
#ifndef HC_TERMINAL_H
#define HC_TERMINAL_H

#include "error.h"
#include "shim.pb.h"

/* In the monitor, on the host: connect to the console socket. The descriptor is close-on-exec. */
int hc_terminal_connect(const char *path, struct hc_error *err);
/* In the child, inside the container, after setsid(): open /dev/ptmx, send the master over console_fd,
 * and make the peer our stdio and controlling terminal. Closes console_fd. */
int hc_terminal_setup(const shim_v1_Process *process, int console_fd, struct hc_error *err);

#endif
