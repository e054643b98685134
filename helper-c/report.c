#define _GNU_SOURCE
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pb_encode.h>

#include "util.h"

static int status_fd = -1;
static bool debug_on;
static struct timespec started;

void hc_report_init(int fd)
{
	status_fd = fd;
	clock_gettime(CLOCK_MONOTONIC, &started);
}

int hc_report_fd(void)
{
	return status_fd;
}

void hc_report_set_debug(bool debug)
{
	debug_on = debug;
}

void hc_report_close(void)
{
	hc_close_fdp(&status_fd);
}

static uint64_t elapsed_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - started.tv_sec) * 1000000000ULL + (uint64_t)now.tv_nsec -
	       (uint64_t)started.tv_nsec;
}

/* Encode behind a 4-byte little-endian length and send it in one write(). A frame that cannot be sent is
 * dropped: the shim is gone or the pipe is broken, and nobody is left to tell. */
static void send_status(shim_v1_Status *status)
{
	pb_byte_t frame[PIPE_BUF];
	pb_ostream_t out = pb_ostream_from_buffer(frame + 4, sizeof(frame) - 4);
	ssize_t n;

	if (status_fd < 0)
		return;
	status->elapsed_ns = elapsed_ns();
	if (!pb_encode(&out, shim_v1_Status_fields, status))
		return;
	frame[0] = (pb_byte_t)(out.bytes_written & 0xff);
	frame[1] = (pb_byte_t)((out.bytes_written >> 8) & 0xff);
	frame[2] = (pb_byte_t)((out.bytes_written >> 16) & 0xff);
	frame[3] = (pb_byte_t)((out.bytes_written >> 24) & 0xff);
	do
		n = write(status_fd, frame, out.bytes_written + 4);
	while (n < 0 && errno == EINTR);
}

void hc_report_stage(shim_v1_Stage stage)
{
	shim_v1_Status status = shim_v1_Status_init_zero;

	if (!debug_on)
		return;
	status.kind = shim_v1_StatusKind_STATUS_KIND_STAGE;
	status.stage = stage;
	send_status(&status);
}

/* Field 22 of /proc/PID/stat, or 0. Field 2 (comm) is in parentheses and may hold spaces and ')', so the
 * count starts after the last ')'. */
uint64_t hc_read_start_time(pid_t pid)
{
	char path[32], buf[1024];
	hc_cleanup_close int fd = -1;
	ssize_t n;
	char *p;
	int field;

	hc_format(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	/* p + 2 is field 3. */
	for (p += 2, field = 3; field < 22 && *p != '\0'; p++)
		if (*p == ' ')
			field++;
	return field == 22 ? strtoull(p, NULL, 10) : 0;
}

void hc_report_pid(shim_v1_StatusKind kind, pid_t pid)
{
	shim_v1_Status status = shim_v1_Status_init_zero;

	status.kind = kind;
	status.pid = (int32_t)pid;
	status.pid_start_time = hc_read_start_time(pid);
	send_status(&status);
}

void hc_report_exited(pid_t pid, int wait_status)
{
	shim_v1_Status status = shim_v1_Status_init_zero;

	status.kind = shim_v1_StatusKind_STATUS_KIND_EXITED;
	status.stage = shim_v1_Stage_STAGE_WAIT;
	status.pid = (int32_t)pid;
	if (WIFSIGNALED(wait_status)) {
		status.term_signal = WTERMSIG(wait_status);
		status.core_dumped = WCOREDUMP(wait_status) != 0;
	} else {
		status.exit_code = WEXITSTATUS(wait_status);
	}
	send_status(&status);
}

void hc_report_error(const struct hc_error *err)
{
	shim_v1_Status status = shim_v1_Status_init_zero;

	status.kind = shim_v1_StatusKind_STATUS_KIND_ERROR;
	status.stage = err->stage;
	status.has_error = true;
	status.error.stage = err->stage;
	status.error.errno_value = err->errno_value;
	/* The encoder only reads these; the casts drop const for nanopb's char * fields. */
	status.error.message = (char *)err->msg;
	status.error.path = err->path[0] != '\0' ? (char *)err->path : NULL;
	send_status(&status);
}
