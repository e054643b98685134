/* shim-helper --launch NODE ARG...: how dist/shim starts Node for `create` and `exec`, so that Node need not
 * fork itself to start the helper.
 *
 * Node starts a program by forking its whole process (libuv's uv_spawn), and waits until the child has
 * exec'd: with the ~50 MB of a Node that has loaded the planner, that fork, the pipes' stream objects and
 * node:child_process itself cost `create` about 20 ms on the benchmark host, where forking this small static
 * binary costs well under one. podman and conmon run `create` once per container (and `exec` for each podman
 * exec), so here the order is turned
 * round: this process (the launcher) makes the pipes and starts both, Node (the shim, as it would have been
 * run) and the helper (`shim-helper SPEC_FD STATUS_FD`, exactly as Node would have spawned it), and then only
 * waits. Node finds its ends of the pipes in SHIM_HELPER_LAUNCHED (src/helper/launched-helper.ts) and uses
 * them instead of spawning; if it does not (another verb after all, a failure before the helper was needed,
 * a helper it must spawn its own way) it never writes the spec, and the helper reads end of file and exits.
 *
 * No policy here, and nothing of the container: the launcher holds no descriptor of it and runs none of its
 * code; the helper it starts re-execs itself from a sealed copy (self-clone.c) as ever. The container's init
 * is the helper's child, so when the helper exits it goes to the caller's subreaper (conmon), as before.
 *
 * What the launcher says to Node, on the report pipe: the helper's pid (4 bytes, little-endian), at once;
 * then its wait status (4 bytes) once it has ended. The launcher exits as Node does, once Node is gone: the
 * same code, or the same signal. (Not earlier, on an exit code Node could send: Node, outliving the process
 * its caller waited for, would become one more child of the caller's subreaper, which runc never hands it.)
 * Anything that fails before Node runs (a pipe, a fork) falls back to exec'ing Node plainly, which then
 * spawns the helper itself. */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

#define LAUNCHED_ENV "SHIM_HELPER_LAUNCHED"

/* Keep fd across the exec that follows (the pipes are made close-on-exec, so each process keeps only its
 * own ends). */
static int keep_on_exec(int fd)
{
	return fcntl(fd, F_SETFD, 0);
}

static void put_le32(unsigned char *out, uint32_t value)
{
	out[0] = (unsigned char)value;
	out[1] = (unsigned char)(value >> 8);
	out[2] = (unsigned char)(value >> 16);
	out[3] = (unsigned char)(value >> 24);
}

/* As libuv does for every child Node spawns: default dispositions and nothing blocked. An ignored signal or a
 * blocked mask survives exec, and the helper (and the container's process after it) must not take over
 * whatever the caller had set for itself (a Go caller's ignored SIGPIPE, a blocked SIGTERM). */
static void reset_signals(void)
{
	sigset_t none;

	for (int sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Signals sent to the launcher go on to Node, which does with them what it always did (exec forwards them to
 * the container's process; create dies of them): the caller knows only the launcher's pid. Not the ones the
 * terminal sends (SI_KERNEL): those reach Node's process group, which is ours, by themselves. */
static volatile pid_t forward_to;

static void forward_signal(int sig, siginfo_t *info, void *context)
{
	(void)context;
	if (info->si_code != SI_KERNEL && forward_to > 0)
		kill(forward_to, sig);
}

static void forward_signals(pid_t node)
{
	static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	struct sigaction action = { .sa_sigaction = forward_signal, .sa_flags = SA_SIGINFO | SA_RESTART };

	forward_to = node;
	sigemptyset(&action.sa_mask);
	for (size_t i = 0; i < HC_ARRAY_SIZE(forwarded); i++)
		sigaction(forwarded[i], &action, NULL);
}

static pid_t wait_for(pid_t pid, int *status)
{
	pid_t got;

	do
		got = waitpid(pid, status, 0);
	while (got < 0 && errno == EINTR);
	return got;
}

/* Exit as the child did: its code, or its signal raised on ourselves (uncaught, so the caller sees the same
 * signal death; a core dump is not repeated). */
static int exit_like(int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		signal(sig, SIG_DFL);
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		kill(getpid(), sig);
		return 128 + sig;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int hc_launch(const char *helper_path, char **node_argv)
{
	int spec[2] = { -1, -1 }, status[2] = { -1, -1 }, report[2] = { -1, -1 };
	pid_t node, helper;
	int node_status = 0, helper_status = 0;
	unsigned char word[4];

	if (pipe2(spec, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC) < 0 || pipe2(report, O_CLOEXEC) < 0)
		goto plain;

	node = fork();
	if (node < 0)
		goto plain;
	if (node == 0) {
		/* "SPEC_FD STATUS_FD REPORT_FD HELPER": Node's ends, and the helper binary they lead to (Node uses
		 * them only when that is the helper it would have spawned itself). */
		static char env[64 + 4096];

		hc_format(env, sizeof(env), "%s=%d %d %d %s", LAUNCHED_ENV, spec[1], status[0], report[0], helper_path);
		if (keep_on_exec(spec[1]) < 0 || keep_on_exec(status[0]) < 0 || keep_on_exec(report[0]) < 0 ||
		    putenv(env) != 0)
			unsetenv(LAUNCHED_ENV);
		/* Node must not outlive the launcher that its caller waits for (a caller's timeout kills only us). */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		execv(node_argv[0], node_argv);
		_exit(127);
	}

	forward_signals(node);
	helper = fork();
	if (helper == 0) {
		/* As Node's spawn did (detached): a session of its own, so a Ctrl-C at the caller's terminal
		 * reaches the shim and not the helper halfway through its work. */
		static char spec_arg[16], status_arg[16];
		char *helper_argv[] = { (char *)helper_path, spec_arg, status_arg, NULL };

		setsid();
		reset_signals();
		hc_format(spec_arg, sizeof(spec_arg), "%d", spec[0]);
		hc_format(status_arg, sizeof(status_arg), "%d", status[1]);
		if (keep_on_exec(spec[0]) == 0 && keep_on_exec(status[1]) == 0)
			execv(helper_path, helper_argv);
		_exit(HC_EXIT_SETUP);
	}

	/* Only the report pipe's write end stays here: Node sees end of file on the others as soon as the
	 * helper (and whatever holds its status descriptor: the init, until its execve) is done with them. */
	close(spec[0]);
	close(spec[1]);
	close(status[0]);
	close(status[1]);
	close(report[0]);
	/* Node may be gone (or never read): a write to the pipe then fails with EPIPE instead of killing us. */
	signal(SIGPIPE, SIG_IGN);
	/* pid 0: there is no helper (fork failed); Node then spawns its own. */
	put_le32(word, helper > 0 ? (uint32_t)helper : 0);
	hc_write_all(report[1], word, sizeof(word));
	if (helper > 0 && wait_for(helper, &helper_status) == helper) {
		put_le32(word, (uint32_t)helper_status);
		hc_write_all(report[1], word, sizeof(word));
	}
	close(report[1]);
	if (wait_for(node, &node_status) != node)
		return 1;
	return exit_like(node_status);

plain:
	execv(node_argv[0], node_argv);
	return 127;
}
