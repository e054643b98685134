#define _GNU_SOURCE
#include "child.h"

#include <errno.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "hooks.h"
#include "init.h"
#include "process.h"
#include "report.h"
#include "seccomp.h"
#include "sync.h"
#include "terminal.h"
#include "util.h"

_Noreturn void hc_child_fail(int sync_fd, const struct hc_error *err)
{
	int code = hc_error_exit_code(err);
	struct hc_error ignored;

	/* A shim that stopped reading after READY (MONITOR_DETACH) must not turn this into a SIGPIPE death:
	 * the exit code below is the report then. We exit right after, so nothing inherits the SIG_IGN. */
	signal(SIGPIPE, SIG_IGN);
	hc_report_error(err);
	/* The monitor may be gone already (MONITOR_DETACH); the frame above is what counts. */
	hc_sync_send(sync_fd, HC_SYNC_ERROR, code, err->stage, &ignored);
	_exit(code);
}

/* Our pid as the host sees it, from the monitor's ACK: the pid the hooks' state names. */
static pid_t host_pid;

pid_t hc_child_begin(const char *name, int sync_fd)
{
	struct hc_error err;
	struct hc_sync_msg msg;
	int ret;

	prctl(PR_SET_NAME, name, 0, 0, 0);
	/* If the monitor dies during setup, nobody is left to report or clean up: die with it. Cleared
	 * before READY, since a detaching monitor exits right after. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* Sync step 1 (child): wait until we are in our cgroups and our id maps exist. A monitor that died
	 * before the line above shows up here as EOF. The ACK carries our host pid: in a new pid namespace
	 * getpid() says 1, and the hooks' state must name the process as the host sees it. */
	ret = hc_sync_recv(sync_fd, &msg, shim_v1_Stage_STAGE_CLONE, &err);
	if (ret == 0)
		hc_fail(&err, shim_v1_Stage_STAGE_CLONE, EPIPE, NULL, "sync: expected %s, got EOF", hc_sync_name(HC_SYNC_ACK));
	else if (ret > 0 && msg.type != HC_SYNC_ACK)
		hc_fail(&err, shim_v1_Stage_STAGE_CLONE, EPROTO, NULL, "sync: expected %s, got 0x%x",
			hc_sync_name(HC_SYNC_ACK), msg.type);
	if (ret <= 0 || msg.type != HC_SYNC_ACK)
		hc_child_fail(sync_fd, &err);
	if (msg.fd >= 0)
		close(msg.fd);
	host_pid = msg.value;
	return host_pid;
}

_Noreturn void hc_child_finish(const struct hc_child *child)
{
	const shim_v1_Process *process = &child->spec->process;
	const int sync_fd = child->sync_fd;
	const bool seccomp = hc_seccomp_wanted(child->spec);
	const bool seccomp_listener = seccomp && hc_has(child->spec->seccomp_listener_path);
	struct hc_error err;

	hc_report_stage(shim_v1_Stage_STAGE_RLIMITS);
	if (hc_process_limits(process, &err) < 0)
		hc_child_fail(sync_fd, &err);
	hc_report_stage(shim_v1_Stage_STAGE_TERMINAL);
	if (hc_process_session(process, &err) < 0)
		hc_child_fail(sync_fd, &err);
	/* After setsid(): only a session leader without a terminal can take the pty as its own. Before the
	 * user change: the pty is chowned to the user. */
	if (process->terminal && hc_terminal_setup(process, child->console_fd, sync_fd, &err) < 0)
		hc_child_fail(sync_fd, &err);
	/* process.consoleSize: the pty is our stdin now; its size is set before the program can ask for it. */
	if (process->terminal && child->spec->console_height > 0 && child->spec->console_width > 0) {
		struct winsize size = { .ws_row = (unsigned short)child->spec->console_height,
					.ws_col = (unsigned short)child->spec->console_width };

		if (ioctl(0, TIOCSWINSZ, &size) < 0) {
			hc_fail(&err, shim_v1_Stage_STAGE_TERMINAL, errno, NULL, "terminal: set console size");
			hc_child_fail(sync_fd, &err);
		}
	}
	/* process.scheduler and process.ioPriority: before the credentials, while CAP_SYS_NICE (a real-time
	 * policy, the RT io class) is still ours, as runc's init sets them before finalizeNamespace. */
	if (hc_process_scheduling(child->spec, &err) < 0)
		hc_child_fail(sync_fd, &err);
	/* Seccomp, when no_new_privs is off: the kernel lets only a holder of CAP_SYS_ADMIN install a filter
	 * then, so it goes in before the capabilities are dropped (as runc does), and every syscall from here
	 * to execve() must pass it. */
	if (seccomp && !process->no_new_privileges) {
		hc_report_stage(shim_v1_Stage_STAGE_SECCOMP);
		if (hc_seccomp_install(child->spec, sync_fd, &err) < 0)
			hc_child_fail(sync_fd, &err);
	}
	hc_report_stage(shim_v1_Stage_STAGE_CAPABILITIES);
	if (hc_process_credentials(process, child->cap_last, &err) < 0)
		hc_child_fail(sync_fd, &err);
	/* Before the chdir: a descriptor of the host still open then (inherited, or leaked by a caller)
	 * would let a cwd of /proc/self/fd/N resolve to it (CVE-2024-21626). Ours stay until execve(). */
	hc_report_stage(shim_v1_Stage_STAGE_CLOSE_FDS);
	if (hc_process_close_fds(process, (const int[]){ hc_report_fd(), sync_fd, child->fifo_fd }, 3, &err) < 0)
		hc_child_fail(sync_fd, &err);
	/* After the user change, so the directory is checked with the process's own permissions. */
	hc_report_stage(shim_v1_Stage_STAGE_CWD);
	if (hc_process_cwd(process, &err) < 0)
		hc_child_fail(sync_fd, &err);
	/* Before READY, as runc looks the program up before it waits on its exec FIFO: a missing or
	 * non-executable program fails create (its message reaching the caller), not start. After the cwd
	 * and the user change, which a relative name and the permission to search PATH depend on. */
	hc_report_stage(shim_v1_Stage_STAGE_LOOKUP);
	if (hc_process_find(process, &err) < 0)
		hc_child_fail(sync_fd, &err);
	/* linux.personality. The persona is inherited by what we exec (and by the startContainer hooks). */
	if (child->spec->has_personality) {
		hc_report_stage(shim_v1_Stage_STAGE_PERSONALITY);
		if (personality(child->spec->personality) < 0) {
			hc_fail(&err, shim_v1_Stage_STAGE_PERSONALITY, errno, NULL, "personality 0x%x",
				child->spec->personality);
			hc_child_fail(sync_fd, &err);
		}
	}

	/* linux.memoryPolicy, last before READY as runc's init sets it; inherited across execve. */
	if (hc_process_memory_policy(child->spec, &err) < 0)
		hc_child_fail(sync_fd, &err);

	/* Seccomp with no_new_privs and a listener: the last moment the monitor is sure to be there to hand
	 * the listener on (a detaching monitor leaves after READY). */
	if (seccomp_listener && process->no_new_privileges) {
		hc_report_stage(shim_v1_Stage_STAGE_SECCOMP);
		if (hc_seccomp_install(child->spec, sync_fd, &err) < 0)
			hc_child_fail(sync_fd, &err);
	}

	/* Sync step 2 (child): READY. */
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	if (hc_sync_send(sync_fd, HC_SYNC_READY, 0, shim_v1_Stage_STAGE_WAIT_START, &err) < 0)
		hc_child_fail(sync_fd, &err);
	/* Sync step 3 (child): wait until READY has been reported before writing any frame of our own. */
	if (hc_sync_expect(sync_fd, HC_SYNC_REPORTED, shim_v1_Stage_STAGE_WAIT_START, &err) < 0)
		hc_child_fail(sync_fd, &err);
	/* A detached shim stopped reading at READY: a debug frame now would meet a closed pipe and SIGPIPE
	 * would kill the init (SIG_IGN is no way out: it would be inherited across execve). */
	if (child->spec->monitor == shim_v1_Monitor_MONITOR_DETACH)
		hc_report_set_debug(false);

	if (child->fifo_fd >= 0 && child->spec->start_container_hooks.commands_count == 0) {
		hc_report_stage(shim_v1_Stage_STAGE_WAIT_START);
		if (hc_process_wait_start(child->fifo_fd, &err) < 0)
			hc_child_fail(sync_fd, &err);
	} else if (child->spec->start_container_hooks.commands_count > 0) {
		/* startContainer hooks: after start and before the program, inside the container, as the
		 * process's user (runc runs them at this same point, after its exec FIFO). `shim start` holds
		 * the FIFO open until we answer on it: "0" when they succeeded, else "E" and the ERROR frame,
		 * since it stopped reading the status pipe at READY and must still fail with the hook's words.
		 * We then exit, which stops the container. */
		hc_cleanup_close int start_fd = -1;

		if (child->fifo_fd >= 0) {
			hc_report_stage(shim_v1_Stage_STAGE_WAIT_START);
			start_fd = hc_process_open_start(child->fifo_fd, &err);
			if (start_fd < 0)
				hc_child_fail(sync_fd, &err);
		}
		hc_report_stage(shim_v1_Stage_STAGE_START_CONTAINER_HOOKS);
		if (hc_hooks_run(&child->spec->start_container_hooks, shim_v1_Stage_STAGE_START_CONTAINER_HOOKS,
				 host_pid, &err) < 0) {
			hc_report_error_on(start_fd, "E", &err);
			hc_child_fail(sync_fd, &err);
		}
		if (start_fd >= 0 && hc_write_all(start_fd, "0", 1) < 0) {
			hc_fail(&err, shim_v1_Stage_STAGE_WAIT_START, errno, NULL, "write start fifo");
			hc_child_fail(sync_fd, &err);
		}
	}
	/* After the start FIFO: until `start`, the container's PID 1 is the waiting init itself. */
	if (child->spec->init_reaper) {
		hc_report_stage(shim_v1_Stage_STAGE_INIT);
		if (hc_init_fork(process->terminal, &err) < 0)
			hc_child_fail(sync_fd, &err);
	}
	hc_report_stage(shim_v1_Stage_STAGE_EXEC);
	/* Seccomp with no_new_privs and no listener: as late as possible, so that the filter sees none of
	 * our own syscalls but execve() itself. */
	if (seccomp && !seccomp_listener && process->no_new_privileges && hc_seccomp_install(child->spec, sync_fd, &err) < 0)
		hc_child_fail(sync_fd, &err);
	/* Sync step 4 (child): on success execve() closes our end of the socket, which the monitor reads
	 * as "started". */
	hc_process_exec(process, &err);
	hc_child_fail(sync_fd, &err);
}
