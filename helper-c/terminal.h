/* Process.terminal: the process gets a pty from the container's devpts as its stdio and controlling
 * terminal. The pty master goes to whoever listens on Spec.console_socket (SCM_RIGHTS), as runc's
 * --console-socket; without one it goes to the monitor, which relays it to and from its own stdio. */
#ifndef HC_TERMINAL_H
#define HC_TERMINAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "shim.pb.h"

/* In the monitor, on the host: connect to the console socket. The descriptor is close-on-exec. */
int hc_terminal_connect(const char *path, struct hc_error *err);
/* In the child, inside the container, after setsid(): open /dev/ptmx, send the master over console_fd
 * (closed afterwards), or to the monitor over sync_fd when console_fd is -1, and make the peer our stdio
 * and controlling terminal. */
int hc_terminal_setup(const shim_v1_Process *process, int console_fd, int sync_fd, struct hc_error *err);
/* In the monitor, once the process runs: copy stdin to the pty and the pty to stdout until the process
 * has exited (it is not reaped here), with the local terminal, if stdin is one, in raw mode and its size
 * passed on; when stdin is no terminal, a SIGWINCH sizes the pty from window_size_path ("ROWS COLS"), if
 * given. Best effort: a relay that breaks only ends the copying. */
void hc_terminal_relay(int master, pid_t pid, const char *window_size_path);
/* After the process ended: the next piece of its last output, waiting for it to reach the master; 0 or -1
 * when there is no more. */
ssize_t hc_terminal_drain(int master, void *buf, size_t size);
/* pid has exited (WNOWAIT: it is left for the caller to reap). */
bool hc_terminal_has_exited(pid_t pid);

#endif
