/* libFuzzer harness: the Status frame encoder (report.c) with what fills it: hc_fail()'s formatting of a
 * message and a path from hostile text (a container's path names, say), then hc_report_error(),
 * hc_report_error_on() and hc_report_exited() onto a memfd as the status descriptor. Each frame is read back
 * as the shim reads it: one 4-byte little-endian length, a Status that decodes, the same stage, errno, message
 * and path, and the whole frame within PIPE_BUF (one atomic write, never interleaved with the other process's).
 *
 * Input: kind selector (1 byte), stage (4), errno or wait status (4), then "path\0message" as raw bytes. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pb_decode.h>

#include "error.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int status_fd = -1;

/* The one frame the encoder wrote, after `prefix`, decoded into *status. */
static void read_back(const char *prefix, shim_v1_Status *status)
{
	static unsigned char buf[2 * PIPE_BUF];
	size_t skip = strlen(prefix);
	off_t end = lseek(status_fd, 0, SEEK_CUR);
	uint32_t len;
	pb_istream_t in;

	if (end < 0 || (size_t)end > PIPE_BUF || (size_t)end < skip + 4 ||
	    pread(status_fd, buf, (size_t)end, 0) != end || memcmp(buf, prefix, skip) != 0)
		__builtin_trap();
	len = (uint32_t)buf[skip] | (uint32_t)buf[skip + 1] << 8 | (uint32_t)buf[skip + 2] << 16 |
	      (uint32_t)buf[skip + 3] << 24;
	if (skip + 4 + len != (size_t)end)
		__builtin_trap();
	in = pb_istream_from_buffer(buf + skip + 4, len);
	if (!pb_decode(&in, shim_v1_Status_fields, status))
		__builtin_trap();
}

static void rewind_status(void)
{
	if (ftruncate(status_fd, 0) < 0 || lseek(status_fd, 0, SEEK_SET) != 0)
		__builtin_trap();
}

static bool same_text(const char *decoded, const char *sent)
{
	return sent[0] == '\0' ? decoded == NULL || decoded[0] == '\0' : decoded != NULL && strcmp(decoded, sent) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	shim_v1_Status status = shim_v1_Status_init_zero;
	struct hc_error err;
	uint32_t stage, value;
	char *text, *message;
	unsigned selector;

	if (size < 9)
		return 0;
	if (status_fd < 0) {
		status_fd = memfd_create("status", MFD_CLOEXEC);
		if (status_fd < 0)
			__builtin_trap();
		hc_report_init(status_fd);
	}
	selector = data[0];
	memcpy(&stage, data + 1, 4);
	memcpy(&value, data + 5, 4);
	/* The path, then the message: C strings, as every caller's are. */
	text = calloc(1, size - 9 + 2);
	memcpy(text, data + 9, size - 9);
	message = text + strlen(text) + 1;
	rewind_status();

	if (selector % 3 == 2) {
		int wait_status = (int)value;

		hc_report_exited(1234, wait_status);
		read_back("", &status);
		if (status.kind != shim_v1_StatusKind_STATUS_KIND_EXITED || status.pid != 1234 ||
		    (WIFSIGNALED(wait_status) ? status.term_signal != WTERMSIG(wait_status)
					       : status.exit_code != WEXITSTATUS(wait_status)))
			__builtin_trap();
	} else {
		const char *prefix = selector % 3 == 1 ? "E" : "";

		hc_fail(&err, (shim_v1_Stage)stage, (int)value, text[0] != '\0' ? text : NULL, "%s", message);
		/* Truncated, never overrun: the formatted message is a prefix of what was given. */
		if (strncmp(err.msg, message, strlen(err.msg)) != 0 || strlen(err.msg) >= sizeof(err.msg) ||
		    strncmp(err.path, text, strlen(err.path)) != 0)
			__builtin_trap();
		if (prefix[0] != '\0')
			hc_report_error_on(status_fd, prefix, &err);
		else
			hc_report_error(&err);
		read_back(prefix, &status);
		if (status.kind != shim_v1_StatusKind_STATUS_KIND_ERROR || !status.has_error ||
		    (uint32_t)status.stage != stage || (uint32_t)status.error.stage != stage ||
		    status.error.errno_value != (int32_t)value || !same_text(status.error.message, err.msg) ||
		    !same_text(status.error.path, err.path))
			__builtin_trap();
	}
	pb_release(shim_v1_Status_fields, &status);
	free(text);
	return 0;
}
