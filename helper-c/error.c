#define _GNU_SOURCE
#include "error.h"

#include <errno.h>
#include <stdarg.h>

#include "util.h"

int hc_fail(struct hc_error *err, shim_v1_Stage stage, int errnum, const char *path, const char *fmt, ...)
{
	va_list ap;

	err->stage = stage;
	err->errno_value = errnum;
	va_start(ap, fmt);
	hc_vformat(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	hc_format(err->path, sizeof(err->path), "%s", path != NULL ? path : "");
	return -1;
}

int hc_error_exit_code(const struct hc_error *err)
{
	/* LOOKUP is the same failure found earlier (before READY): the same codes. */
	if (err->stage != shim_v1_Stage_STAGE_EXEC && err->stage != shim_v1_Stage_STAGE_LOOKUP)
		return HC_EXIT_SETUP;
	if (err->errno_value == ENOENT || err->errno_value == ENOTDIR)
		return HC_EXIT_NOT_FOUND;
	return HC_EXIT_CANNOT_EXEC;
}
