#define _GNU_SOURCE
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
/* For rename() only: no stdio stream is used, so none is linked in. */
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "idmap.h"
#include "namespaces.h"
#include "process.h"
#include "report.h"
#include "seccomp.h"
#include "spec.h"
#include "sync.h"
#include "terminal.h"
#include "util.h"

/* Spec.pause_for_hooks: the spec descriptor, kept open for the shim's HookResume frame; else -1. */
static int resume_fd = -1;

void hc_monitor_set_resume_fd(int fd)
{
	resume_fd = fd;
}

void hc_monitor_close_resume_fd(void)
{
	hc_close_fdp(&resume_fd);
}

/* Sync steps H2 and H3 (monitor): the init paused before pivot_root (H1, run.c). Report PAUSED with its
 * pid, which the shim needs for the state it hands its prestart and createRuntime hooks, and wait for its
 * answer on the spec descriptor. H3: RESUME to the init when the shim says proceed; otherwise the caller
 * kills the init (its mounts go with its mount namespace). */
static int pause_for_hooks(pid_t pid, int sync_fd, struct hc_error *err)
{
	const shim_v1_Stage stage = shim_v1_Stage_STAGE_HOOKS;
	bool proceed = false;

	if (resume_fd < 0)
		return hc_fail(err, stage, EPROTO, NULL, "sync: %s without Spec.pause_for_hooks", hc_sync_name(HC_SYNC_HOOKS));
	hc_report_pid(shim_v1_StatusKind_STATUS_KIND_PAUSED, pid);
	if (hc_spec_read_resume(resume_fd, &proceed, err) < 0)
		return -1;
	hc_monitor_close_resume_fd();
	if (!proceed)
		return hc_fail(err, stage, 0, NULL, "stopped by the shim while paused for hooks");
	return hc_sync_send(sync_fd, HC_SYNC_RESUME, 0, stage, err);
}

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

void hc_monitor_reap(pid_t pid)
{
	reap(pid);
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

/* process.oomScoreAdj under a new user namespace, from here where CAP_SYS_RESOURCE still counts. */
static int write_oom_score_adj(pid_t pid, int32_t value, struct hc_error *err)
{
	char path[48], text[16];
	size_t len = hc_format(text, sizeof(text), "%d", (int)value);

	hc_format(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	if (hc_write_file(path, text, len) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_OOM_SCORE_ADJ, errno, path, "write oom_score_adj");
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
	/* exec's final affinity, right after the cgroup (whose cpuset would otherwise narrow it), as runc. */
	if (hc_process_cpu_affinity(pid, spec->exec_cpu_affinity_final, &err) < 0 ||
	    (spec->has_monitor_oom_score_adj && write_oom_score_adj(pid, spec->monitor_oom_score_adj, &err) < 0))
		return hc_monitor_fail(pid, &err);
	if (new_userns) {
		hc_report_stage(shim_v1_Stage_STAGE_USER_MAPPING);
		if (hc_ns_write_id_maps(spec, pid, &err) < 0)
			return hc_monitor_fail(pid, &err);
	}
	/* The ACK carries the child's pid as we (the host) see it; see hc_child_begin(). */
	if (hc_sync_send(sync_fd, HC_SYNC_ACK, (int32_t)pid, shim_v1_Stage_STAGE_CLONE, &err) < 0)
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

int hc_monitor_reap_failed(pid_t pid)
{
	return child_failed(pid);
}

int hc_monitor_daemonize(const shim_v1_Spec *spec, struct hc_error *err)
{
	const shim_v1_Stage stage = shim_v1_Stage_STAGE_READ_SPEC;
	hc_cleanup_close int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	hc_cleanup_close int log_fd = -1;
	pid_t pid;

	if (null_fd < 0)
		return hc_fail(err, stage, errno, "/dev/null", "background: open");
	/* Opened before the fork, so that a bad log path is reported by a helper the shim still waits on. */
	log_fd = open(spec->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log_fd < 0)
		return hc_fail(err, stage, errno, spec->log_path, "background: open log");
	pid = fork();
	if (pid < 0)
		return hc_fail(err, stage, errno, NULL, "background: fork");
	/* The first process leaves at once: the shim's wait for it ends, and the monitor below is re-parented
	 * to the caller's subreaper (or init). Its frames still reach the shim through the inherited status
	 * descriptor. */
	if (pid > 0)
		_exit(0);
	/* One fork is enough: the monitor never opens a terminal (a terminal needs a console socket here),
	 * so a session leader cannot acquire one by accident. setsid() takes it out of the shim's process
	 * group and terminal, so neither a Ctrl-C nor a hangup there reaches it. */
	if (setsid() < 0)
		return hc_fail(err, stage, errno, NULL, "background: setsid");
	/* The container's stdout and stderr go straight to the log file, without a relay: the monitor copies
	 * nothing and stays small, and the log keeps filling even if the monitor dies. The cost is docker's
	 * per-line stream and time tags, which a plain file cannot carry. */
	if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
		return hc_fail(err, stage, errno, NULL, "background: redirect stdio");
	/* Hold no directory of the shim's busy. */
	if (chdir("/") < 0)
		return hc_fail(err, stage, errno, "/", "background: chdir");
	return 0;
}

/* Written through PATH.tmp renamed over PATH: a reader sees no file or the whole line, never half of it.
 * Nobody is left to report a failure to: the shim then finds no file. */
static void write_json_atomically(const char *path, const char *line, size_t len)
{
	char temporary[4096];
	hc_cleanup_close int fd = -1;

	if (hc_format(temporary, sizeof(temporary), "%s.tmp", path) + 1 >= sizeof(temporary))
		return;
	fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (hc_write_all(fd, line, len) < 0 || fsync(fd) < 0 || rename(temporary, path) < 0)
		unlink(temporary);
}

void hc_monitor_write_exit_status(const shim_v1_Spec *spec, int status)
{
	char line[256];
	struct timespec now;
	size_t len;

	clock_gettime(CLOCK_REALTIME, &now);
	len = hc_format(line, sizeof(line),
			"{\"exitCode\":%d,\"termSignal\":%d,\"coreDumped\":%s,\"finishedSec\":%lld,\"finishedNsec\":%ld}\n",
			WIFEXITED(status) ? WEXITSTATUS(status) : 0, WIFSIGNALED(status) ? WTERMSIG(status) : 0,
			WIFSIGNALED(status) && WCOREDUMP(status) ? "true" : "false", (long long)now.tv_sec,
			(long)now.tv_nsec);
	write_json_atomically(spec->exit_status_path, line, len);
}

/* After each start: a restarted container's init has a new pid, which the shim reads here. */
static void write_pid_file(const shim_v1_Spec *spec, pid_t pid, const struct hc_monitor_run *run)
{
	char line[256];
	size_t len;

	if (!hc_has(spec->pid_path) || run == NULL)
		return;
	/* The monitor's own pid too: the shim's look at the init's parent finds nothing once a short-lived
	 * init has been reaped. */
	len = hc_format(line, sizeof(line),
			"{\"pid\":%d,\"startTime\":%llu,\"restarts\":%u,\"delayMs\":%u,\"monitorPid\":%d,\"monitorStartTime\":%llu}\n",
			(int)pid, (unsigned long long)hc_read_start_time(pid), run->restarts, run->delay_ms, (int)getpid(),
			(unsigned long long)hc_read_start_time(getpid()));
	write_json_atomically(spec->pid_path, line, len);
}

int hc_monitor_wait(const shim_v1_Spec *spec, pid_t pid, int *sync_fd, const struct hc_monitor_run *run)
{
	const shim_v1_Stage stage = shim_v1_Stage_STAGE_WAIT;
	struct hc_sync_msg msg;
	struct hc_error err;
	hc_cleanup_close int master = -1;
	bool idmapped = false;
	int ret;
	int status;

	/* Sync step 2 (monitor): READY, or ERROR after the child reported its own failure; before them,
	 * IDMAP when the child wants its idmapped mounts (idmap.c), PTY when we are to relay its terminal, and
	 * SECCOMP when its filter's listener is to be handed on, HOOKS when the shim has hooks
	 * to run (steps H2, H3). */
	for (;;) {
		ret = hc_sync_recv(*sync_fd, &msg, stage, &err);
		if (ret > 0 && msg.type == HC_SYNC_HOOKS) {
			if (pause_for_hooks(pid, *sync_fd, &err) < 0)
				return hc_monitor_fail(pid, &err);
			continue;
		}
		if (ret > 0 && msg.type == HC_SYNC_IDMAP && !idmapped && master < 0) {
			idmapped = true;
			ret = hc_idmap_serve(spec, pid, *sync_fd, &err);
			if (ret < 0)
				return hc_monitor_fail(pid, &err);
			if (ret > 0) {
				kill(pid, SIGKILL);
				reap(pid);
				return ret;
			}
			continue;
		}
		if (ret > 0 && msg.type == HC_SYNC_SECCOMP && msg.fd >= 0) {
			hc_cleanup_close int listener = msg.fd;

			if (hc_seccomp_send_listener(spec, pid, listener, &err) < 0 ||
			    hc_sync_send(*sync_fd, HC_SYNC_SECCOMP_DONE, 0, stage, &err) < 0)
				return hc_monitor_fail(pid, &err);
			continue;
		}
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
	if (hc_sync_send(*sync_fd, HC_SYNC_REPORTED, 0, stage, &err) < 0)
		return hc_monitor_fail(pid, &err);
	/* MONITOR_DETACH: leave now, like `runc create`; the process is re-parented to the caller's
	 * subreaper and the shim watches it from there. */
	if (spec->monitor == shim_v1_Monitor_MONITOR_DETACH)
		return 0;

	/* Sync step 4 (monitor): the child's end is close-on-exec, so EOF without a message means
	 * execve() succeeded (after the start FIFO was opened, with FINISH_WAIT_FOR_START). */
	ret = hc_sync_recv(*sync_fd, &msg, stage, &err);
	if (ret < 0)
		return hc_monitor_fail(pid, &err);
	if (ret > 0) {
		if (msg.type == HC_SYNC_ERROR)
			return child_failed(pid);
		hc_fail(&err, stage, EPROTO, NULL, "sync: expected EOF or %s, got 0x%x", hc_sync_name(HC_SYNC_ERROR),
			msg.type);
		return hc_monitor_fail(pid, &err);
	}
	write_pid_file(spec, pid, run);
	hc_report_pid(shim_v1_StatusKind_STATUS_KIND_STARTED, pid);

	if (spec->monitor == shim_v1_Monitor_MONITOR_BACKGROUND) {
		/* The shim returned after STARTED; the status pipe must not outlive that. */
		hc_close_fdp(sync_fd);
		hc_report_close();
		/* Its stdout is the log (hc_monitor_daemonize). */
		if (run != NULL && (master >= 0 || run->pipes != NULL)) {
			struct hc_attach_io io = { master, { master, -1 }, true, spec->log_records, false };

			if (master < 0)
				io = (struct hc_attach_io){ run->pipes[0][1], { run->pipes[1][0], run->pipes[2][0] }, false,
							    true, false };
			hc_attach_serve(run->attach, &io, pid, 1);
		}
		status = reap(pid);
		if (run != NULL)
			*run->wait_status = status;
		return exit_code_of(status);
	}
	if (master >= 0)
		hc_terminal_relay(master, pid, spec->window_size_path);
	status = reap(pid);
	hc_report_exited(pid, status);
	return exit_code_of(status);
}
