/* seccomp-dump PID: the seccomp filter the kernel holds for a process, as raw struct sock_filter bytes on
 * stdout (PTRACE_SECCOMP_GET_FILTER, CAP_SYS_ADMIN). The bench reads both runtimes' programs this way, so
 * libseccomp's is the one runc really installed, ENOSYS stub and all. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

int main(int argc, char **argv)
{
	pid_t pid = argc > 1 ? atoi(argv[1]) : 0;
	if (pid <= 0 || ptrace(PTRACE_SEIZE, pid, 0, 0) < 0 || ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0) {
		perror("seccomp-dump: attach");
		return 1;
	}
	waitpid(pid, NULL, __WALL);
	long count = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, NULL);
	if (count < 0) {
		perror("seccomp-dump: PTRACE_SECCOMP_GET_FILTER");
		return 1;
	}
	struct sock_filter *program = calloc((size_t)count, sizeof(*program));
	if (ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, program) != count) {
		perror("seccomp-dump: PTRACE_SECCOMP_GET_FILTER");
		return 1;
	}
	ptrace(PTRACE_DETACH, pid, 0, 0);
	fwrite(program, sizeof(*program), (size_t)count, stdout);
	return 0;
}
