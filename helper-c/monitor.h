/* The helper's first process, outside the container: it places the new process, acknowledges it, and
 * watches it to the end (MONITOR_WAIT) or until it is ready (MONITOR_DETACH). The numbered sync steps
 * here match the ones in child.c. */
#ifndef HC_MONITOR_H
#define HC_MONITOR_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "shim.pb.h"

/* clone() like fork(), with extra CLONE_NEW* flags. 0 in the child, the pid in the parent, -1 on error. */
pid_t hc_clone(unsigned long ns_flags);

/* MONITOR_BACKGROUND, before anything else: open Spec.log_path, fork (the first process _exits 0), setsid,
 * stdin from /dev/null, stdout and stderr to the log. Returns in the daemon; -1 with err on failure. */
int hc_monitor_daemonize(const shim_v1_Spec *spec, struct hc_error *err);

/* Sync step 1: put pid in Spec.cgroup_procs, write its id maps when it has a new user namespace, then
 * send ACK. Also makes the monitor deaf to the signals a terminal or the shim may send it. On failure
 * the child is killed and reaped, the error reported, and the helper's exit code returned (else 0). */
int hc_monitor_start(const shim_v1_Spec *spec, pid_t pid, int sync_fd, bool new_userns);

struct hc_attach;

/* MONITOR_BACKGROUND: what one run of a container's process shares with the runs before and after it. */
struct hc_monitor_run {
	/* How many times the process was started again before this run (written to Spec.pid_path). */
	unsigned restarts;
	/* Spec.attach_socket's server, or NULL. */
	struct hc_attach *attach;
	/* Set to the wait status once the started process has been reaped; left alone otherwise. */
	int *wait_status;
	/* Spec.log_records without a terminal: the container's stdin, stdout and stderr pipes (pipe2's read and
	 * write ends; stdin's are -1 without Spec.attach_stdin), which every run shares. NULL otherwise. */
	const int (*pipes)[2];
	/* The restart delay waited before this run, for Spec.pid_path. */
	unsigned delay_ms;
};

/* Sync steps 2 and 3 and the end: READY, STARTED, EXITED. Returns the helper's exit code. run: for
 * MONITOR_BACKGROUND, else NULL. *sync_fd is closed (and set to -1) once STARTED is out in the background:
 * the caller's copy must not close its number again, which by then may be an attach client's. */
int hc_monitor_wait(const shim_v1_Spec *spec, pid_t pid, int *sync_fd, const struct hc_monitor_run *run);

/* MONITOR_BACKGROUND: {"exitCode":...} to Spec.exit_status_path, atomically. */
void hc_monitor_write_exit_status(const shim_v1_Spec *spec, int wait_status);

/* Spec.pause_for_hooks: the descriptor the shim's HookResume frame comes on (main.c keeps the spec's open).
 * The init closes its copy at once; the monitor after the answer. */
void hc_monitor_set_resume_fd(int fd);
void hc_monitor_close_resume_fd(void);

/* The helper's exit code after reporting err from the monitor: kill and reap pid first when > 0. */
int hc_monitor_fail(pid_t pid, const struct hc_error *err);
/* Wait for a child of ours that ended (or is ending) by itself. */
void hc_monitor_reap(pid_t pid);
/* Reap a child that sent ERROR (it wrote its own frame): the exit code it chose. */
int hc_monitor_reap_failed(pid_t pid);

#endif
