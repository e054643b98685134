/* Spec.init_reaper (docker run --init): the container's PID 1 is a few lines of the helper's own code
 * instead of the user's program, so that orphans are reaped and signals reach the program (a PID 1 without
 * a handler ignores SIGTERM). No binary is put in the container: the helper is already there, in memory. */
#ifndef HC_INIT_H
#define HC_INIT_H

#include <stdbool.h>

#include "error.h"

/* Fork. Returns 0 in the child, which goes on to execve the process, in a process group of its own that is
 * the terminal's foreground group when there is one. The parent never returns: it closes every descriptor
 * above 2, then forwards each signal it receives to the child and reaps every process that ends; when the
 * child ends it exits with the child's code (128+N for signal N). -1 with err if the fork fails. */
int hc_init_fork(bool terminal, struct hc_error *err);

#endif
