/* seccomp-loop: the cost of one syscall as a process inside a container sees it, filter included.
 *
 *   seccomp-loop ITERATIONS NAME...   prints "NAME ns_per_call" for each, then "mix ns_per_call"
 *
 * Each NAME is made ITERATIONS times in a tight loop through syscall(2) (never the vDSO), five rounds, the
 * fastest round kept (the least disturbed by the rest of the machine). "mix" cycles through all the NAMEs in
 * turn, so a filter cannot be measured on one warm branch only. Built static, run as the container's process. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct named { const char *name; long nr; long arg0; };
static const struct named table[] = {
	{ "getppid", SYS_getppid, 0 }, { "getpid", SYS_getpid, 0 }, { "gettid", SYS_gettid, 0 },
	{ "getuid", SYS_getuid, 0 }, { "getegid", SYS_getegid, 0 }, { "sched_yield", SYS_sched_yield, 0 },
	{ "umask", SYS_umask, 022 }, { "getpgrp", SYS_getpgrp, 0 }, { "geteuid", SYS_geteuid, 0 },
	{ "getgid", SYS_getgid, 0 }, { "close", SYS_close, -1 }, { "dup", SYS_dup, -1 },
	{ "getcwd", SYS_getcwd, 0 }, { "fcntl", SYS_fcntl, -1 }, { "personality", SYS_personality, 0xffffffff },
	{ "setns", SYS_setns, -1 }, { "sendto", SYS_sendto, -1 }, { "prctl", SYS_prctl, 0 },
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static const struct named *lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	fprintf(stderr, "seccomp-loop: unknown syscall %s\n", name);
	exit(2);
}

int main(int argc, char **argv)
{
	long iterations = argc > 1 ? atol(argv[1]) : 1000000;
	int count = argc - 2;
	const struct named *calls[32];

	if (count < 1 || count > 32)
		return 2;
	for (int i = 0; i < count; i++)
		calls[i] = lookup(argv[i + 2]);
	for (int i = 0; i <= count; i++) {
		double best = 1e30;
		for (int round = 0; round < 5; round++) {
			double start = now();
			if (i < count) {
				for (long n = 0; n < iterations; n++)
					syscall(calls[i]->nr, calls[i]->arg0, 0, 0, 0, 0, 0);
			} else {
				for (long n = 0; n < iterations; n++) {
					const struct named *call = calls[n % count];
					syscall(call->nr, call->arg0, 0, 0, 0, 0, 0);
				}
			}
			double elapsed = (now() - start) / iterations;
			if (elapsed < best)
				best = elapsed;
		}
		printf("%s %.1f\n", i < count ? calls[i]->name : "mix", best);
	}
	return 0;
}
