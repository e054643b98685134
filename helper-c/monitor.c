#define _GNU_SOURCE
#include "monitor.h"

#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "namespaces.h"
#include "report.h"
#include "sync.h"
#include "terminal.h"
#include "util.h"

pid_t hc_clone(unsigned long ns_flags)
{
	/* The raw syscall with no new stack behaves like fork(), and unlike fork() it can create the pid
	 * and user namespaces the child must be born in. */
	return (pid_t)syscall(SYS_clone, SIGCHLD | ns_flags, NULL, NULL, NULL, NULL);
}

static int reap(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

int hc_monitor_fail(pid_t pid, const struct hc_error *err)
{
	/* Everything the child mounted lives in its own mount namespace and goes with it. */
	if (pid > 0) {
		kill(pid, SIGKILL);
		reap(pid);
	}
	hc_report_error(err);
	return hc_error_exit_code(err);
}

static void ignore_signals(void)
{
	/* The shim forwards signals to the container itself; the monitor has to outlive the process to
	 * report how it ended. SIGPIPE: a frame the shim is no longer there to read is dropped. */
	static const int ignored[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGTSTP, SIGPIPE };
	struct sigaction sa = { .sa_handler = SIG_IGN };

	for (size_t i = 0; i < HC_ARRAY_SIZE(ignored); i++)
		sigaction(ignored[i], &sa, NULL);
}

static int place_in_cgroups(const shim_v1_Spec *spec, pid_t pid, struct hc_error *err)
{
	char value[16];
	size_t len = hc_format(value, sizeof(value), "%d", (int)pid);

	for (pb_size_t i = 0; i < spec->cgroup_procs_count; i++)
		if (hc_write_file(spec->cgroup_procs[i], value, len) < 0)
			return hc_fail(err, shim_v1_Stage_STAGE_CGROUP, errno, spec->cgroup_procs[i], "write cgroup.procs");
	return 0;
}

int hc_monitor_start(const shim_v1_Spec *spec, pid_t pid, int sync_fd, bool new_userns)
{
	struct hc_error err;

	ignore_signals();
	/* Sync step 1 (monitor): the child is blocked until ACK, so it runs nothing of its own before it
	 * is in its cgroups, and it unshares its cgroup namespace only after, so that it is rooted there. */
	if (spec->cgroup_procs_count > 0) {
		hc_report_stage(shim_v1_Stage_STAGE_CGROUP);
		if (place_in_cgroups(spec, pid, &err) < 0)
			return hc_monitor_fail(pid, &err);
	}
	if (new_userns) {
		hc_report_stage(shim_v1_Stage_STAGE_USER_MAPPING);
		if (hc_ns_write_id_maps(spec, pid, &err) < 0)
			return hc_monitor_fail(pid, &err);
	}
	if (hc_sync_send(sync_fd, HC_SYNC_ACK, 0, shim_v1_Stage_STAGE_CLONE, &err) < 0)
		return hc_monitor_fail(pid, &err);
	return 0;
}

static int exit_code_of(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* The child sent ERROR: it has written its own frame and _exits with the code it sent. */
static int child_failed(pid_t pid)
{
	int status = reap(pid);

	return WIFEXITED(status) ? WEXITSTATUS(status) : HC_EXIT_SETUP;
}

int hc_monitor_wait(const shim_v1_Spec *spec, pid_t pid, int sync_fd)
{
	const shim_v1_Stage stage = shim_v1_Stage_STAGE_WAIT;
	struct hc_sync_msg msg;
	struct hc_error err;
	hc_cleanup_close int master = -1;
	int ret;
	int status;

	/* Sync step 2 (monitor): READY, or ERROR after the child reported its own failure; before them,
	 * PTY when we are to relay its terminal. */
	for (;;) {
		ret = hc_sync_recv(sync_fd, &msg, stage, &err);
		if (ret <= 0 || msg.type != HC_SYNC_PTY || msg.fd < 0 || master >= 0)
			break;
		master = msg.fd;
	}
	if (ret < 0)
		return hc_monitor_fail(pid, &err);
	if (ret == 0) {
		status = reap(pid);
		hc_fail(&err, stage, 0, NULL, "container process died during setup (%s %d)",
			WIFSIGNALED(status) ? "signal" : "exit code",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		return hc_monitor_fail(0, &err);
	}
	if (msg.type == HC_SYNC_ERROR)
		return child_failed(pid);
	if (msg.type != HC_SYNC_READY) {
		hc_fail(&err, stage, EPROTO, NULL, "sync: expected %s, got 0x%x", hc_sync_name(HC_SYNC_READY), msg.type);
		return hc_monitor_fail(pid, &err);
	}
	hc_report_pid(shim_v1_StatusKind_STATUS_KIND_READY, pid);

	/* Sync step 3 (monitor): READY is out; the child may now write frames of its own. */
	if (hc_sync_send(sync_fd, HC_SYNC_REPORTED, 0, stage, &err) < 0)
		return hc_monitor_fail(pid, &err);
	/* MONITOR_DETACH: leave now, like `runc create`; the process is re-parented to the caller's
	 * subreaper and the shim watches it from there. */
	if (spec->monitor == shim_v1_Monitor_MONITOR_DETACH)
		return 0;

	/* Sync step 4 (monitor): the child's end is close-on-exec, so EOF without a message means
	 * execve() succeeded (after the start FIFO was opened, with FINISH_WAIT_FOR_START). */
	ret = hc_sync_recv(sync_fd, &msg, stage, &err);
	if (ret < 0)
		return hc_monitor_fail(pid, &err);
	if (ret > 0) {
		if (msg.type == HC_SYNC_ERROR)
			return child_failed(pid);
		hc_fail(&err, stage, EPROTO, NULL, "sync: expected EOF or %s, got 0x%x", hc_sync_name(HC_SYNC_ERROR),
			msg.type);
		return hc_monitor_fail(pid, &err);
	}
	hc_report_pid(shim_v1_StatusKind_STATUS_KIND_STARTED, pid);

	if (master >= 0)
		hc_terminal_relay(master, pid);
	status = reap(pid);
	hc_report_exited(pid, status);
	return exit_code_of(status);
}
