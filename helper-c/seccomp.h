/* The seccomp filter the shim compiled (Spec.seccomp_filter): installed by the process itself, and, for
 * SCMP_ACT_NOTIFY, its listener handed to the agent at Spec.seccomp_listener_path by the monitor. */
#ifndef HC_SECCOMP_H
#define HC_SECCOMP_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "shim.pb.h"

static inline bool hc_seccomp_wanted(const shim_v1_Spec *spec)
{
	return spec->seccomp_filter != NULL && spec->seccomp_filter->size > 0;
}

/* seccomp(SECCOMP_SET_MODE_FILTER, Spec.seccomp_flags, filter) in the calling process. With
 * SECCOMP_FILTER_FLAG_NEW_LISTENER, the listener goes to the monitor over sync_fd (which hands it on) and is
 * closed here once the monitor says it is delivered. */
int hc_seccomp_install(const shim_v1_Spec *spec, int sync_fd, struct hc_error *err);

/* Monitor side: connect to Spec.seccomp_listener_path and send the state JSON (with pid) and listener_fd. */
int hc_seccomp_send_listener(const shim_v1_Spec *spec, pid_t pid, int listener_fd, struct hc_error *err);

/* Spec checks: a whole number of instructions, at most BPF_MAXINSNS; a listener path iff NEW_LISTENER. */
int hc_seccomp_validate(const shim_v1_Spec *spec, struct hc_error *err);

#endif
