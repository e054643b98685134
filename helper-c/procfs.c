/* CVE-2025-52881: runc's writes into procfs (sysctls, the LSM labels under /proc/self/attr) went by path, through
 * the container's /proc. Whoever controls the container's mount table (the config's mounts, a bind over a file
 * of /proc, a tmpfs posing as /proc, a racing process sharing the mounts) could then send the write elsewhere:
 * into /proc/sys/kernel/core_pattern, which is the host's, and so out of the container.
 *
 * The same defence as runc's internal/pathrs procfs handle, in three steps:
 *   1. A procfs of our own: fsopen("proc") + fsmount() gives a mount that is in no mount table, so no one can
 *      have mounted anything over its files. The kernel refuses a new procfs in a user namespace whose /proc
 *      has mounts on it (mount_too_revealing(): masked paths are such mounts); only then the current /proc is
 *      used, and steps 2 and 3 still hold for it.
 *   2. fstatfs() must say PROC_SUPER_MAGIC and fstat() the procfs root inode: a tmpfs is not procfs.
 *   3. openat2() beneath that root with RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS: a bind mount over the file, or a
 *      symlink on the way, fails the open (EXDEV, ELOOP) instead of moving the write. */
#define _GNU_SOURCE
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel.h"
#include "util.h"

#define PROC_SUPER_MAGIC 0x9fa0
#define PROC_ROOT_INO 1

static int open_private_proc(void)
{
	hc_cleanup_close int fsfd = (int)syscall(SYS_fsopen, "proc", HC_FSOPEN_CLOEXEC);

	if (fsfd < 0 || syscall(SYS_fsconfig, fsfd, HC_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -1;
	return (int)syscall(SYS_fsmount, fsfd, HC_FSMOUNT_CLOEXEC, 0);
}

int hc_procfs_write(const char *path, const char *value, size_t len)
{
	struct hc_open_how how = {
		.flags = O_WRONLY | O_CLOEXEC,
		.resolve = HC_RESOLVE_BENEATH | HC_RESOLVE_NO_XDEV | HC_RESOLVE_NO_SYMLINKS,
	};
	hc_cleanup_close int proc = open_private_proc();
	hc_cleanup_close int fd = -1;
	struct statfs fs;
	struct stat st;
	ssize_t n;

	if (proc < 0)
		proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (proc < 0)
		return -1;
	if (fstatfs(proc, &fs) < 0 || fstat(proc, &st) < 0)
		return -1;
	if (fs.f_type != PROC_SUPER_MAGIC || st.st_ino != PROC_ROOT_INO) {
		errno = EXDEV;
		return -1;
	}
	fd = (int)syscall(SYS_openat2, proc, path, &how, sizeof(how));
	if (fd < 0)
		return -1;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n >= 0 && (size_t)n != len)
		errno = EIO;
	return n >= 0 && (size_t)n == len ? 0 : -1;
}

const char *hc_procfs_refusal(int error)
{
	if (error == EXDEV)
		return " (refused: its /proc file is not on procfs, or a mount covers it)";
	if (error == ELOOP)
		return " (refused: a symlink is on the way to its /proc file)";
	return "";
}
