/* The helper's one error model (crun's): a function that fails fills a struct hc_error and returns -1.
 * The caller either passes it up unchanged or reports it; it is sent to the shim as a STATUS_KIND_ERROR
 * frame, so the shim reads stage, errno and path as data and never parses prose. */
#ifndef HC_ERROR_H
#define HC_ERROR_H

#include "shim.pb.h"

/* Sized so that a whole ERROR frame stays below PIPE_BUF and is written atomically. */
#define HC_ERROR_MSG_MAX 512
#define HC_ERROR_PATH_MAX 3072

/* Exit codes of the helper when the process never ran its own code, as the shells and runc use them. */
#define HC_EXIT_SETUP 125
#define HC_EXIT_CANNOT_EXEC 126
#define HC_EXIT_NOT_FOUND 127

struct hc_error {
	shim_v1_Stage stage;
	/* Linux errno value, 0 when the failure had none (a malformed spec, say). */
	int errno_value;
	/* What was being done, lowercase: "mount proc", "spec: unknown field 9 in shim.v1.Mount". */
	char msg[HC_ERROR_MSG_MAX];
	/* The path involved, or empty. */
	char path[HC_ERROR_PATH_MAX];
};

/* Fill err and return -1. errnum is passed explicitly (usually errno) so that cleanup code running
 * between the failure and the report cannot change it. path may be NULL. */
__attribute__((format(printf, 5, 6))) int hc_fail(struct hc_error *err, shim_v1_Stage stage, int errnum,
						   const char *path, const char *fmt, ...);

/* The helper's exit code for a failure: 127 when the program was not found, 126 when it was found but
 * could not be executed, 125 for every failure before that. */
int hc_error_exit_code(const struct hc_error *err);

#endif
