/* Status frames to the shim. Every frame goes out in one write() below PIPE_BUF, so frames written by the
 * helper's two processes (the monitor outside, the init inside) never interleave. */
#ifndef HC_REPORT_H
#define HC_REPORT_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "shim.pb.h"

/* Remember the status descriptor and the start time (CLOCK_MONOTONIC) that elapsed_ns counts from. */
void hc_report_init(int status_fd);
void hc_report_set_debug(bool debug);
/* Close the status descriptor: a background monitor reports nothing after STARTED, and must not keep the
 * shim's pipe open while it waits for the container. Later frames are dropped. */
void hc_report_close(void);
/* Field 22 of /proc/PID/stat (clock ticks since boot), or 0. */
uint64_t hc_read_start_time(pid_t pid);
/* The status descriptor, which the child keeps open until its execve(). */
int hc_report_fd(void);

/* A STATUS_KIND_STAGE frame, only with Spec.debug: without it this costs one branch. */
void hc_report_stage(shim_v1_Stage stage);
/* STATUS_KIND_READY or STATUS_KIND_STARTED with the host pid. */
void hc_report_pid(shim_v1_StatusKind kind, pid_t pid);
/* STATUS_KIND_EXITED from a waitpid() status. */
void hc_report_exited(pid_t pid, int wait_status);
void hc_report_error(const struct hc_error *err);

#endif
