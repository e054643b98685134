/* shim-helper SPEC_FD STATUS_FD: read one Spec frame, do what it says, report with Status frames.
 * (shim-helper --launch NODE ARG...: launch.c.)
 * All policy is in the spec; see proto/shim.proto for the contract. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "actions.h"
#include "error.h"
#include "launch.h"
#include "monitor.h"
#include "report.h"
#include "self-clone.h"
#include "spec.h"
#include "util.h"

static int parse_fd(const char *arg, int *fd)
{
	unsigned long value;

	if (hc_parse_uint(arg, INT_MAX, &value) < 0)
		return -1;
	*fd = (int)value;
	return 0;
}

/* Spec.stdin_null: fd 0 becomes /dev/null, as Node's spawn would have given it. */
static int null_stdin(struct hc_error *err)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_READ_SPEC, errno, "/dev/null", "stdin: open");
	/* A caller that closed our stdin: the open took fd 0 itself, and only its close-on-exec must go. */
	if (fd == 0)
		return fcntl(0, F_SETFD, 0) < 0 ? hc_fail(err, shim_v1_Stage_STAGE_READ_SPEC, errno, "/dev/null", "stdin: fcntl") : 0;
	if (dup2(fd, 0) < 0) {
		int saved = errno;

		close(fd);
		return hc_fail(err, shim_v1_Stage_STAGE_READ_SPEC, saved, "/dev/null", "stdin: dup2");
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	/* Static: decoded once, shared by both processes after clone(), never freed. */
	static shim_v1_Spec spec = shim_v1_Spec_init_zero;
	struct hc_error err;
	int spec_fd = 3;
	int status_fd = 4;

	/* dist/shim's start of Node for `create` (launch.c): before everything else, and nothing of the helper's
	 * own work happens in this process. */
	if (argc > 3 && strcmp(argv[1], "--launch") == 0 && strchr(argv[0], '/') != NULL)
		return hc_launch(argv[0], argv + 2);
	if (argc > 3 || (argc > 1 && parse_fd(argv[1], &spec_fd) < 0) ||
	    (argc > 2 && parse_fd(argv[2], &status_fd) < 0)) {
		static const char usage[] = "usage: shim-helper [SPEC_FD [STATUS_FD]]\n";

		/* No status descriptor to report on: this is for a human. */
		hc_write_all(2, usage, sizeof(usage) - 1);
		return HC_EXIT_SETUP;
	}
	hc_report_init(status_fd);
	/* First, before anything of the spec is read: the spec and status pipes survive the re-exec. */
	if (hc_self_clone(argv, &err) < 0) {
		hc_report_error(&err);
		return hc_error_exit_code(&err);
	}
	/* The status pipe must reach neither the container's process nor anything it runs. */
	if (fcntl(status_fd, F_SETFD, FD_CLOEXEC) < 0) {
		static const char bad[] = "shim-helper: status descriptor is not open\n";

		hc_write_all(2, bad, sizeof(bad) - 1);
		return HC_EXIT_SETUP;
	}

	if (hc_spec_read(spec_fd, &spec, &err) < 0) {
		close(spec_fd);
		hc_report_error(&err);
		return hc_error_exit_code(&err);
	}
	/* With pause_for_hooks the shim answers the pause on the same descriptor (monitor.c); close-on-exec,
	 * so neither the container nor a hook ever holds it. */
	if (spec.action == shim_v1_Action_ACTION_RUN_CONTAINER && spec.pause_for_hooks &&
	    fcntl(spec_fd, F_SETFD, FD_CLOEXEC) == 0)
		hc_monitor_set_resume_fd(spec_fd);
	else
		close(spec_fd);
	hc_report_set_debug(spec.debug);
	if (spec.stdin_null && null_stdin(&err) < 0) {
		hc_report_error(&err);
		return hc_error_exit_code(&err);
	}
	if (hc_spec_validate(&spec, &err) < 0) {
		hc_report_error(&err);
		return hc_error_exit_code(&err);
	}

	switch (spec.action) {
	case shim_v1_Action_ACTION_RUN_CONTAINER:
		return hc_action_run(&spec);
	case shim_v1_Action_ACTION_EXEC:
		return hc_action_exec(&spec);
	case shim_v1_Action_ACTION_APPLY_NODES:
		return hc_action_apply_nodes(&spec);
	case shim_v1_Action_ACTION_COPY_IN:
	case shim_v1_Action_ACTION_COPY_OUT:
		return hc_action_copy(&spec);
	case shim_v1_Action_ACTION_LIVE_DEVICE:
		return hc_action_live_device(&spec);
	case shim_v1_Action_ACTION_LIVE_MOUNT:
		return hc_action_live_mount(&spec);
	case shim_v1_Action_ACTION_UNSPECIFIED:
		break;
	}
	/* hc_spec_validate() refused anything else. */
	return HC_EXIT_SETUP;
}
