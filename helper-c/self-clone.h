/* The helper runs from a sealed in-memory copy of itself, never from the file on the host (CVE-2019-5736). */
#ifndef HC_SELF_CLONE_H
#define HC_SELF_CLONE_H

#include "error.h"

/* Unless already running from a sealed memfd, copy /proc/self/exe into one, seal it and re-exec from it
 * with the same argv and environment (descriptors without close-on-exec, the spec and status pipes, stay
 * open). Returns 0 when already cloned; on failure -1 with err filled; otherwise does not return. */
int hc_self_clone(char **argv, struct hc_error *err);

#endif
