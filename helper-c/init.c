#define _GNU_SOURCE
#include "init.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel.h"

static _Noreturn void reap_and_forward(pid_t child, const sigset_t *all)
{
	/* Nothing of the setup stays open in PID 1: the sync socket must read EOF when the child's execve
	 * succeeds, and the status pipe must close when the child's does. */
	syscall(SYS_close_range, 3U, ~0U, 0);
	prctl(PR_SET_NAME, "init", 0, 0, 0);
	for (;;) {
		siginfo_t info;
		int signo = sigwaitinfo(all, &info);

		if (signo < 0)
			continue;
		if (signo != SIGCHLD) {
			/* A PID 1 gets only the signals it handles; these are blocked and taken here, so every
			 * one of them (SIGTERM from `stop` first of all) reaches the program. */
			kill(child, signo);
			continue;
		}
		for (;;) {
			int status;
			pid_t pid = waitpid(-1, &status, WNOHANG);

			if (pid <= 0)
				break;
			if (pid == child)
				_exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
		}
	}
}

int hc_init_fork(bool terminal, struct hc_error *err)
{
	sigset_t all, old;
	pid_t pid;

	/* Blocked before the fork: a signal sent between the fork and sigwaitinfo() waits, it is not lost. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return hc_fail(err, shim_v1_Stage_STAGE_INIT, errno, NULL, "init: fork");
	}
	if (pid > 0)
		reap_and_forward(pid, &all);
	/* Its own group, in the foreground of the terminal: the keys' signals (^C, ^Z) go to it alone, not
	 * twice (once from the terminal, once forwarded). SIGTTOU is still blocked here, as tcsetpgrp from
	 * a background group needs. */
	setpgid(0, 0);
	if (terminal)
		tcsetpgrp(0, getpid());
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}
