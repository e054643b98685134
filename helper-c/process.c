#define _GNU_SOURCE
#include "process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel.h"
#include "procfs.h"
#include "terminal.h"
#include "util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int hc_cap_last(void)
{
	hc_cleanup_close int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	char buf[16];
	unsigned long last;
	ssize_t n;

	if (fd >= 0) {
		n = hc_read_full(fd, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			if (hc_parse_uint(buf, 63, &last) == 0)
				return (int)last;
		}
	}
	/* No /proc: ask the kernel one capability at a time. */
	for (last = 0; last < 63 && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0; last++)
		;
	return (int)last;
}

int hc_process_limits(const shim_v1_Process *process, struct hc_error *err)
{
	const shim_v1_Stage stage = shim_v1_Stage_STAGE_RLIMITS;

	for (pb_size_t i = 0; i < process->rlimits_count; i++) {
		const shim_v1_Rlimit *rl = &process->rlimits[i];
		struct rlimit limit = { .rlim_cur = rl->soft, .rlim_max = rl->hard };

		if (prlimit(0, (int)rl->resource, &limit, NULL) < 0)
			return hc_fail(err, stage, errno, NULL, "set rlimit %u", rl->resource);
	}
	if (process->has_oom_score_adj) {
		char value[16];
		size_t len = hc_format(value, sizeof(value), "%d", process->oom_score_adj);
		char path[32];

		/* By our pid, not "self" (a symlink), through a checked procfs (CVE-2025-52881, procfs.c). */
		hc_format(path, sizeof(path), "%d/oom_score_adj", (int)getpid());
		if (hc_procfs_write(path, value, len) < 0) {
			int error = errno;
			const char *why = hc_procfs_refusal(error);

			return hc_fail(err, stage, error, *why ? NULL : "/proc/self/oom_score_adj", "write oom_score_adj%s",
				       why);
		}
	}
	if (process->has_umask)
		umask((mode_t)(process->umask & 0777));
	return 0;
}

int hc_process_scheduling(const shim_v1_Spec *spec, struct hc_error *err)
{
	if (spec->has_scheduler) {
		const shim_v1_SchedulerAttr *want = &spec->scheduler;
		struct hc_sched_attr attr = {
			.size = sizeof(attr),
			.sched_policy = want->policy,
			.sched_flags = want->flags,
			.sched_nice = want->nice,
			.sched_priority = want->priority,
			.sched_runtime = want->runtime,
			.sched_deadline = want->deadline,
			.sched_period = want->period,
		};

		if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
			return hc_fail(err, shim_v1_Stage_STAGE_RLIMITS, errno, NULL, "sched_setattr policy %u", want->policy);
	}
	if (spec->io_priority != 0 && syscall(SYS_ioprio_set, HC_IOPRIO_WHO_PROCESS, 0, (int)spec->io_priority) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_RLIMITS, errno, NULL, "ioprio_set 0x%x", spec->io_priority);
	return 0;
}

/* linux.memoryPolicy (runc's setupMemoryPolicy). maxnode is one more than the mask's bits: the kernel drops
 * the last bit it is told of. */
int hc_process_memory_policy(const shim_v1_Spec *spec, struct hc_error *err)
{
	const pb_bytes_array_t *nodes = spec->memory_policy_nodes;
	unsigned long bits = nodes ? nodes->size * 8UL : 0;

	if (spec->has_memory_policy &&
	    syscall(SYS_set_mempolicy, (int)spec->memory_policy_mode, bits ? nodes->bytes : NULL, bits ? bits + 1 : 0) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_MEMORY_POLICY, errno, NULL, "set_mempolicy mode 0x%x",
			       spec->memory_policy_mode);
	return 0;
}

/* process.execCPUAffinity: sched_setaffinity(2) of pid (0: ourselves) to the mask given, when one is. */
int hc_process_cpu_affinity(pid_t pid, const pb_bytes_array_t *mask, struct hc_error *err)
{
	if (mask && mask->size > 0 && syscall(SYS_sched_setaffinity, pid, (size_t)mask->size, mask->bytes) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_CPU_AFFINITY, errno, NULL, "sched_setaffinity of pid %d", (int)pid);
	return 0;
}

int hc_process_session(const shim_v1_Process *process, struct hc_error *err)
{
	if (process->new_session && setsid() < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_TERMINAL, errno, NULL, "setsid");
	return 0;
}

static int capset_sets(const shim_v1_Capabilities *caps)
{
	struct hc_cap_header header = { HC_LINUX_CAPABILITY_VERSION_3, 0 };
	struct hc_cap_data data[2];

	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(caps->effective >> (32 * i));
		data[i].permitted = (uint32_t)(caps->permitted >> (32 * i));
		data[i].inheritable = (uint32_t)(caps->inheritable >> (32 * i));
	}
	return (int)syscall(SYS_capset, &header, data);
}

int hc_process_credentials(const shim_v1_Process *process, int cap_last, struct hc_error *err)
{
	const shim_v1_Capabilities *caps = &process->capabilities;
	const bool with_caps = process->has_capabilities;
	const shim_v1_Stage cap_stage = shim_v1_Stage_STAGE_CAPABILITIES;
	const shim_v1_Stage user_stage = shim_v1_Stage_STAGE_USER;

	if (with_caps) {
		/* Shrinking the bounding set needs CAP_SETPCAP, which we hold only until the user changes. */
		for (int cap = 0; cap <= cap_last; cap++)
			if (!(caps->bounding & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
				return hc_fail(err, cap_stage, errno, NULL, "drop capability %d from the bounding set", cap);
		/* Without this, setresuid() away from root would empty the permitted set before capset. */
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			return hc_fail(err, cap_stage, errno, NULL, "set keepcaps");
	}

	/* Groups before the gid, the gid before the uid: each step needs the privilege the next removes.
	 * Raw syscalls: musl's wrappers would try to broadcast to threads this process does not have. */
	if (syscall(SYS_setgroups, (size_t)process->additional_gids_count, process->additional_gids) < 0) {
		/* A user namespace with setgroups denied refuses even clearing the list; there is nothing
		 * more to clear then, so only a wanted list is an error. */
		if (!(errno == EPERM && process->additional_gids_count == 0))
			return hc_fail(err, user_stage, errno, NULL, "setgroups");
	}
	if (syscall(SYS_setresgid, process->gid, process->gid, process->gid) < 0)
		return hc_fail(err, user_stage, errno, NULL, "setresgid %u", process->gid);
	if (syscall(SYS_setresuid, process->uid, process->uid, process->uid) < 0)
		return hc_fail(err, user_stage, errno, NULL, "setresuid %u", process->uid);

	if (with_caps) {
		/* After setresuid(): a uid change clears the effective set, so the sets are written now. */
		if (capset_sets(caps) < 0)
			return hc_fail(err, cap_stage, errno, NULL, "capset");
		/* Ambient needs each capability in both permitted and inheritable, so it comes last. */
		for (int cap = 0; cap <= cap_last; cap++)
			if ((caps->ambient & (1ULL << cap)) &&
			    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
				return hc_fail(err, cap_stage, errno, NULL, "raise ambient capability %d", cap);
	}
	if (process->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_NO_NEW_PRIVS, errno, NULL, "set no_new_privs");
	return 0;
}

int hc_process_cwd(const shim_v1_Process *process, struct hc_error *err)
{
	const char *cwd = hc_has(process->cwd) ? process->cwd : "/";

	char where[PATH_MAX];
	long len;

	if (chdir(cwd) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_CWD, errno, cwd, "chdir");
	/* A cwd through a magic link (/proc/self/fd/N of a host directory, CVE-2024-21626) lands outside
	 * our root; the kernel then answers getcwd with "(unreachable)..." instead of an absolute path. The
	 * raw syscall, since that answer is what we need to see. */
	len = syscall(SYS_getcwd, where, sizeof(where));
	if (len < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_CWD, errno, cwd, "getcwd after chdir");
	if (where[0] != '/')
		return hc_fail(err, shim_v1_Stage_STAGE_CWD, 0, cwd,
			       "working directory %s is outside the container's root", cwd);
	return 0;
}

static int cloexec_from_proc(int first)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;
	int dir_fd;

	if (dir == NULL)
		return -1;
	dir_fd = dirfd(dir);
	while ((entry = readdir(dir)) != NULL) {
		unsigned long fd;

		if (hc_parse_uint(entry->d_name, INT_MAX, &fd) < 0 || (int)fd < first || (int)fd == dir_fd)
			continue;
		if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF) {
			closedir(dir);
			return -1;
		}
	}
	closedir(dir);
	return 0;
}

static int close_from_proc(int first, const int *keep, size_t nkeep)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;
	int dir_fd;

	if (dir == NULL)
		return -1;
	dir_fd = dirfd(dir);
	while ((entry = readdir(dir)) != NULL) {
		unsigned long fd;
		bool kept = false;

		if (hc_parse_uint(entry->d_name, INT_MAX, &fd) < 0 || (int)fd < first || (int)fd == dir_fd)
			continue;
		for (size_t i = 0; i < nkeep; i++)
			kept = kept || keep[i] == (int)fd;
		if (!kept)
			close((int)fd);
	}
	closedir(dir);
	return 0;
}

/* Really closed, not only close-on-exec: until execve() a descriptor that is merely marked is still open,
 * and a directory of the host among them is a way out of the root for anything that resolves
 * /proc/self/fd/N before then, our own chdir(process.cwd) first of all (CVE-2024-21626). */
static int close_strays(int first, const int *keep, size_t nkeep)
{
	int sorted[8];
	size_t n = 0;
	unsigned lo = (unsigned)first;

	for (size_t i = 0; i < nkeep && n < HC_ARRAY_SIZE(sorted); i++) {
		size_t j;

		if (keep[i] < first)
			continue;
		for (j = n++; j > 0 && sorted[j - 1] > keep[i]; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = keep[i];
	}
	for (size_t i = 0; i <= n; i++) {
		unsigned hi = i < n ? (unsigned)sorted[i] : ~0U;

		if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0) < 0)
			return (errno == ENOSYS || errno == EINVAL) ? close_from_proc(first, keep, nkeep) : -1;
		if (i < n)
			lo = hi + 1;
	}
	return 0;
}

int hc_process_close_fds(const shim_v1_Process *process, const int *keep, size_t nkeep, struct hc_error *err)
{
	unsigned first = 3 + process->preserve_fds;

	if (close_strays((int)first, keep, nkeep) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_CLOSE_FDS, errno, NULL, "close descriptors from %u", first);
	/* What is left above the preserved ones is ours (status, sync, start FIFO), needed until execve(). */
	if (syscall(SYS_close_range, first, ~0U, HC_CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	if ((errno == ENOSYS || errno == EINVAL) && cloexec_from_proc((int)first) == 0)
		return 0;
	return hc_fail(err, shim_v1_Stage_STAGE_CLOSE_FDS, errno, NULL, "close descriptors from %u", first);
}

int hc_process_open_host_handles(const shim_v1_Spec *spec, int *fifo_fd, int *console_fd, struct hc_error *err)
{
	if (spec->finish == shim_v1_Finish_FINISH_WAIT_FOR_START) {
		*fifo_fd = open(spec->start_fifo, O_PATH | O_CLOEXEC);
		if (*fifo_fd < 0)
			return hc_fail(err, shim_v1_Stage_STAGE_WAIT_START, errno, spec->start_fifo, "open start fifo");
	}
	if (spec->process.terminal && hc_has(spec->console_socket)) {
		*console_fd = hc_terminal_connect(spec->console_socket, err);
		if (*console_fd < 0)
			return -1;
	}
	return 0;
}

int hc_process_open_start(int fifo_fd, struct hc_error *err)
{
	char path[32];
	int fd;

	/* Opened through /proc/self/fd: the FIFO's host path is not reachable from inside the container. */
	hc_format(path, sizeof(path), "/proc/self/fd/%d", fifo_fd);
	do
		fd = open(path, O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_WAIT_START, errno, path, "open start fifo");
	return fd;
}

int hc_process_wait_start(int fifo_fd, struct hc_error *err)
{
	hc_cleanup_close int fd = hc_process_open_start(fifo_fd, err);

	if (fd < 0)
		return -1;
	if (hc_write_all(fd, "0", 1) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_WAIT_START, errno, NULL, "write start fifo");
	return 0;
}

static const char *env_path(char *const *env)
{
	for (; *env != NULL; env++)
		if (strncmp(*env, "PATH=", 5) == 0)
			return *env + 5;
	return DEFAULT_PATH;
}

/* What hc_process_find() found: the path hc_process_exec() runs. Empty until then (and for a process whose
 * program was never looked up), when hc_process_exec() searches the PATH itself. */
static char found_program[PATH_MAX];

/* Go's findExecutable(), which runc's exec.LookPath() uses: stat() follows links; a file that is not a
 * directory and has any execute bit counts. The bits, not access(): runc's check, so that exactly what
 * runc refuses at create is refused here (whether this user may run it is execve()'s to say, at start). */
static int executable_file(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode) || (st.st_mode & 0111) == 0) {
		errno = EACCES;
		return -1;
	}
	return 0;
}

int hc_process_find(const shim_v1_Process *process, struct hc_error *err)
{
	const shim_v1_Stage stage = shim_v1_Stage_STAGE_LOOKUP;
	const char *file = process->args[0];
	size_t file_len = strlen(file);
	const char *dirs;

	/* A name with a slash is taken as it is (relative ones from the cwd, which is set by now). Its errno
	 * goes to the shim: stat's own (ENOENT, ENOTDIR, ELOOP) or EACCES for "not an executable file". */
	if (strchr(file, '/') != NULL) {
		if (file_len >= sizeof(found_program))
			return hc_fail(err, stage, ENAMETOOLONG, file, "look up program");
		if (executable_file(file) < 0)
			return hc_fail(err, stage, errno, file, "look up program");
		memcpy(found_program, file, file_len + 1);
		return 0;
	}
	/* As exec.LookPath(): the first PATH entry holding an executable file wins; an empty entry is the cwd.
	 * Nothing found is ENOENT whatever the entries said: runc's "executable file not found in $PATH". */
	for (dirs = env_path(process->env);; dirs++) {
		size_t dir_len = strcspn(dirs, ":");

		if (dir_len + 1 + file_len < sizeof(found_program)) {
			/* Go's filepath.Join(".", file) is file itself: the kernel then resolves it from the cwd. */
			if (dir_len == 0) {
				memcpy(found_program, file, file_len + 1);
			} else {
				memcpy(found_program, dirs, dir_len);
				found_program[dir_len] = '/';
				memcpy(found_program + dir_len + 1, file, file_len + 1);
			}
			if (executable_file(found_program) == 0)
				return 0;
		}
		dirs += dir_len;
		if (*dirs == '\0')
			break;
	}
	found_program[0] = '\0';
	return hc_fail(err, stage, ENOENT, file, "look up program in PATH");
}

int hc_process_exec(const shim_v1_Process *process, struct hc_error *err)
{
	const char *file = process->args[0];
	size_t file_len = strlen(file);
	const char *dirs;
	bool seen_eacces = false;
	int last_errno = ENOENT;

	if (found_program[0] != '\0') {
		execve(found_program, process->args, process->env);
		return hc_fail(err, shim_v1_Stage_STAGE_EXEC, errno, file, "exec %s", found_program);
	}
	if (strchr(file, '/') != NULL) {
		execve(file, process->args, process->env);
		return hc_fail(err, shim_v1_Stage_STAGE_EXEC, errno, file, "exec");
	}
	/* As execvpe(): try each PATH entry; an EACCES is remembered, since a later entry may still hold a
	 * program we can run, and reported only if none does. */
	for (dirs = env_path(process->env);; dirs++) {
		char candidate[PATH_MAX];
		size_t dir_len = strcspn(dirs, ":");

		if (dir_len + 1 + file_len < sizeof(candidate)) {
			if (dir_len == 0) {
				memcpy(candidate, file, file_len + 1);
			} else {
				memcpy(candidate, dirs, dir_len);
				candidate[dir_len] = '/';
				memcpy(candidate + dir_len + 1, file, file_len + 1);
			}
			execve(candidate, process->args, process->env);
			switch (errno) {
			case EACCES:
				seen_eacces = true;
				break;
			case ENOENT:
			case ENOTDIR:
			case ENAMETOOLONG:
				break;
			default:
				/* Found but cannot run it (ENOEXEC, ETXTBSY, ...): stop, like execvpe. */
				return hc_fail(err, shim_v1_Stage_STAGE_EXEC, errno, file, "exec %s", candidate);
			}
		}
		dirs += dir_len;
		if (*dirs == '\0')
			break;
	}
	last_errno = seen_eacces ? EACCES : ENOENT;
	return hc_fail(err, shim_v1_Stage_STAGE_EXEC, last_errno, file, "exec");
}
