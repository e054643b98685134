#define _GNU_SOURCE
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* How much of a failed hook's stdout and stderr goes into the error: the whole ERROR frame must stay
 * below PIPE_BUF (error.h). */
#define OUTPUT_SHOWN 160

static int make_memfd(const char *name)
{
	return (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC);
}

/* The state on stdin as a file rather than a pipe: a state with many annotations may be larger than a
 * pipe holds, and nobody would be left to feed it while we wait. */
static int state_memfd(const shim_v1_HookStage *hooks, pid_t host_pid)
{
	hc_cleanup_close int fd = make_memfd("shim-hook-state");
	char pid_text[16];
	size_t pid_len = hc_format(pid_text, sizeof(pid_text), "%d", (int)host_pid);
	const pb_bytes_array_t *before = hooks->state_before_pid;
	const pb_bytes_array_t *after = hooks->state_after_pid;

	if (fd < 0)
		return -1;
	if ((before != NULL && hc_write_all(fd, before->bytes, before->size) < 0) ||
	    hc_write_all(fd, pid_text, pid_len) < 0 ||
	    (after != NULL && hc_write_all(fd, after->bytes, after->size) < 0) || lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	return hc_steal_fd(&fd);
}

/* The first bytes a hook wrote, without the trailing newline, for the error message. */
static void read_output(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	if (n < 0)
		n = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
}

/* Block until pid ends or timeout_sec passes (0: no limit). 1 when it ended (reaped into *status), 0 on
 * timeout (killed and reaped), -1 on error. A pidfd is what lets poll() wait on a process with a timeout,
 * without a signal handler or a thread. */
static int wait_with_timeout(pid_t pid, uint32_t timeout_sec, int *status)
{
	if (timeout_sec > 0) {
		hc_cleanup_close int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
		int ready;

		if (pidfd < 0)
			return -1;
		do
			ready = poll(&pfd, 1, timeout_sec > INT32_MAX / 1000 ? -1 : (int)(timeout_sec * 1000));
		while (ready < 0 && errno == EINTR);
		if (ready < 0)
			return -1;
		if (ready == 0) {
			kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return 0;
		}
	}
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return 1;
}

static int run_one(const shim_v1_HookCommand *hook, unsigned index, const shim_v1_HookStage *hooks,
		   shim_v1_Stage stage, pid_t host_pid, struct hc_error *err)
{
	hc_cleanup_close int state_fd = state_memfd(hooks, host_pid);
	hc_cleanup_close int out_fd = make_memfd("shim-hook-stdout");
	hc_cleanup_close int err_fd = make_memfd("shim-hook-stderr");
	hc_cleanup_close int exec_read = -1;
	hc_cleanup_close int exec_write = -1;
	char *default_args[] = { hook->path, NULL };
	char **args = hook->args_count > 0 ? hook->args : default_args;
	char stdout_text[OUTPUT_SHOWN], stderr_text[OUTPUT_SHOWN];
	int exec_errno = 0;
	int status = 0;
	int pipe_fds[2];
	ssize_t n;
	pid_t pid;
	int ended;

	if (state_fd < 0 || out_fd < 0 || err_fd < 0)
		return hc_fail(err, stage, errno, hook->path, "hook #%u: memfd for its stdio", index);
	/* Close-on-exec: it closes unread when execve() succeeds, and carries errno when it does not. */
	if (pipe2(pipe_fds, O_CLOEXEC) < 0)
		return hc_fail(err, stage, errno, hook->path, "hook #%u: pipe", index);
	exec_read = pipe_fds[0];
	exec_write = pipe_fds[1];

	pid = fork();
	if (pid < 0)
		return hc_fail(err, stage, errno, hook->path, "hook #%u: fork", index);
	if (pid == 0) {
		/* dup2() leaves the copies without close-on-exec; everything else of ours has it. */
		if (dup2(state_fd, 0) >= 0 && dup2(out_fd, 1) >= 0 && dup2(err_fd, 2) >= 0)
			execve(hook->path, args, hook->env);
		exec_errno = errno;
		hc_write_all(exec_write, &exec_errno, sizeof(exec_errno));
		_exit(127);
	}
	hc_close_fdp(&exec_write);
	do
		n = read(exec_read, &exec_errno, sizeof(exec_errno));
	while (n < 0 && errno == EINTR);

	ended = wait_with_timeout(pid, hook->timeout_sec, &status);
	if (ended < 0) {
		int saved = errno;

		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return hc_fail(err, stage, saved, hook->path, "hook #%u: wait", index);
	}
	if (n == (ssize_t)sizeof(exec_errno))
		return hc_fail(err, stage, exec_errno, hook->path, "hook #%u: exec", index);
	if (ended == 0)
		return hc_fail(err, stage, 0, hook->path, "hook #%u: hook ran past specified timeout of %us", index,
			       hook->timeout_sec);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	read_output(out_fd, stdout_text, sizeof(stdout_text));
	read_output(err_fd, stderr_text, sizeof(stderr_text));
	/* Worded as runc words it (Go's exec.ExitError: "exit status N", "signal: N"). */
	if (WIFSIGNALED(status))
		return hc_fail(err, stage, 0, hook->path, "hook #%u: signal: %d, stdout: %s, stderr: %s", index,
			       WTERMSIG(status), stdout_text, stderr_text);
	return hc_fail(err, stage, 0, hook->path, "hook #%u: exit status %d, stdout: %s, stderr: %s", index,
		       WEXITSTATUS(status), stdout_text, stderr_text);
}

int hc_hooks_run(const shim_v1_HookStage *hooks, shim_v1_Stage stage, pid_t host_pid, struct hc_error *err)
{
	for (pb_size_t i = 0; i < hooks->commands_count; i++)
		if (run_one(&hooks->commands[i], (unsigned)i, hooks, stage, host_pid, err) < 0)
			return -1;
	return 0;
}
