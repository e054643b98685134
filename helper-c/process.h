/* The process's own attributes, set inside the container after the mounts: limits, session, credentials
 * and capabilities, working directory, inherited descriptors; then the start FIFO and execve(). Shared by
 * ACTION_RUN_CONTAINER and ACTION_EXEC. */
#ifndef HC_PROCESS_H
#define HC_PROCESS_H

#include "error.h"
#include <sys/types.h>

#include "shim.pb.h"

/* The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap). Read by the monitor
 * on the host, since the container may have no /proc. */
int hc_cap_last(void);

/* rlimits, oom_score_adj and umask. */
int hc_process_limits(const shim_v1_Process *process, struct hc_error *err);
/* Spec.scheduler (sched_setattr) and Spec.io_priority (ioprio_set), each only when set. Stage RLIMITS. */
int hc_process_scheduling(const shim_v1_Spec *spec, struct hc_error *err);
/* Spec.has_memory_policy: set_mempolicy(2). Stage MEMORY_POLICY. */
int hc_process_memory_policy(const shim_v1_Spec *spec, struct hc_error *err);
/* A Spec.exec_cpu_affinity_* mask for pid (0: the caller); an empty one leaves it. Stage CPU_AFFINITY. */
int hc_process_cpu_affinity(pid_t pid, const pb_bytes_array_t *mask, struct hc_error *err);
/* setsid() when process.new_session. */
int hc_process_session(const shim_v1_Process *process, struct hc_error *err);
/* The bounding set, user and groups, the other capability sets, no_new_privs. */
int hc_process_credentials(const shim_v1_Process *process, int cap_last, struct hc_error *err);
/* chdir(process.cwd), or / when it is empty. */
int hc_process_cwd(const shim_v1_Process *process, struct hc_error *err);
/* Close every descriptor from 3 + preserve_fds up except `keep` (at most 8), and mark those close-on-exec. */
int hc_process_close_fds(const shim_v1_Process *process, const int *keep, size_t nkeep, struct hc_error *err);

/* In the monitor, before the child leaves the host's view: the host-side handles it needs later, each
 * only when the spec asks for it. The start FIFO (FINISH_WAIT_FOR_START) is held as O_PATH, which does not
 * block on a FIFO, and reopened for writing through /proc/self/fd once its host path is out of sight; the
 * console socket (process.terminal with console_socket) is connected where its path is. Unused ones stay
 * -1. 0, or -1 with err filled (and whatever was opened left for the caller's cleanup). */
int hc_process_open_host_handles(const shim_v1_Spec *spec, int *fifo_fd, int *console_fd, struct hc_error *err);
/* FINISH_WAIT_FOR_START, in the child: block opening the FIFO (held as an O_PATH fd) for writing until `shim start`
 * opens it for reading, then write one byte. */
int hc_process_wait_start(int fifo_fd, struct hc_error *err);
/* The first half of that: block until `shim start` opens the FIFO, and return our writing end. */
int hc_process_open_start(int fifo_fd, struct hc_error *err);
/* Find process.args[0] as runc does before it waits on its exec FIFO (exec.LookPath, in the container's
 * root, as the process's user, from its cwd), so that a missing or non-executable program fails create, not
 * start. Stage LOOKUP; path = args[0]; errno ENOENT when a bare name is in no PATH entry. */
int hc_process_find(const shim_v1_Process *process, struct hc_error *err);
/* execve() what hc_process_find() found, or else process.args searching the PATH of process.env. Returns
 * only on failure (stage EXEC). */
int hc_process_exec(const shim_v1_Process *process, struct hc_error *err);

#endif
