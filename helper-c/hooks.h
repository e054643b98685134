/* OCI hooks that must run inside the container (createContainer, startContainer): run the commands the
 * spec gives, in order, each with the container's state on stdin. Which hooks, their environment and the
 * state's text are the shim's; this only runs them. */
#ifndef HC_HOOKS_H
#define HC_HOOKS_H

#include <sys/types.h>

#include "error.h"
#include "shim.pb.h"

/* Run every command of hooks; the first that fails to start, exits non-zero, is killed or runs past its
 * timeout fails the stage (err: stage, path = the hook's path, its stdout and stderr in the message).
 * host_pid goes into the state between state_before_pid and state_after_pid. */
int hc_hooks_run(const shim_v1_HookStage *hooks, shim_v1_Stage stage, pid_t host_pid, struct hc_error *err);

#endif
