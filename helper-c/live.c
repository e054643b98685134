/* ACTION_LIVE_DEVICE and ACTION_LIVE_MOUNT: one change to a running container, told exactly what by the shim.
 *
 * Every container-side path is resolved in the init's root, /proc/PID/root, with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS): a symlink the container planted is followed as the container would follow it, inside
 * its root, and a link to /proc/1/root is refused. A device node is made through a descriptor of its parent
 * directory, which already lies on the container's own /dev mount: a mknod at the same path on the host's view
 * of the rootfs would land on a directory the container's /dev mount hides (seed 004). A mount has to be moved
 * in from inside the container's mount namespace: move_mount() only attaches below mounts of the caller's own.
 *
 * Half-way failures undo what this run did (a node made, a mount moved in, a target created), so a refused
 * change leaves nothing behind; the shim undoes its own part (the v1 devices rule). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "actions.h"
#include "error.h"
#include "kernel.h"
#include "mounts.h"
#include "report.h"
#include "util.h"

#define LIVE_DEVICE shim_v1_Stage_STAGE_LIVE_DEVICE
#define DEVICE_PROGRAM shim_v1_Stage_STAGE_DEVICE_PROGRAM
#define LIVE_MOUNT shim_v1_Stage_STAGE_LIVE_MOUNT

static int open_container_root(pid_t pid, shim_v1_Stage stage, struct hc_error *err)
{
	char path[64];
	int fd;

	hc_format(path, sizeof(path), "/proc/%d/root", (int)pid);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hc_fail(err, stage, errno, path, "open the container's root");
	return fd;
}

/* The parent directory of path (absolute, in the container), opened inside the root; *base points at the last
 * component. With make, missing directories on the way are made, as -v does (they stay: a directory is all
 * that is left); without, the parent must exist. */
static int open_parent_in_root(int rootfd, const char *path, const char **base, bool make, shim_v1_Stage stage,
			       struct hc_error *err)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t len;
	int fd;

	if (slash == NULL)
		return hc_fail(err, stage, EINVAL, path, "path must be absolute");
	len = (size_t)(slash - path);
	*base = slash + 1;
	if (**base == '\0' || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0)
		return hc_fail(err, stage, EINVAL, path, "path names no file");
	if (len >= sizeof(dir))
		return hc_fail(err, stage, ENAMETOOLONG, path, "open parent directory");
	memcpy(dir, path, len);
	dir[len] = '\0';
	fd = make ? hc_make_in_root(rootfd, len > 0 ? dir : "/", false)
		  : hc_open_in_root(rootfd, len > 0 ? dir : "/", O_PATH | O_DIRECTORY);
	if (fd < 0)
		return hc_fail(err, stage, errno, path, "open parent directory in the container");
	return fd;
}

/* --- device programs -------------------------------------------------------------------------------------- */

static int bpf(int cmd, void *attr, size_t size)
{
	return (int)syscall(SYS_bpf, cmd, attr, size);
}

static int load_device_program(const shim_v1_LiveDevice *live, struct hc_error *err)
{
	static char log[4096];
	struct hc_bpf_prog_load attr;
	size_t size = live->program->size;
	int fd;

	if (size == 0 || size % 8 != 0)
		return hc_fail(err, DEVICE_PROGRAM, EINVAL, live->program_cgroup, "device program of %lu bytes",
			       (unsigned long)size);
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = HC_BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.expected_attach_type = HC_BPF_CGROUP_DEVICE;
	attr.insn_cnt = (uint32_t)(size / 8);
	attr.insns = (uint64_t)(uintptr_t)live->program->bytes;
	attr.license = (uint64_t)(uintptr_t) "Apache-2.0";
	if (hc_has(live->program_name))
		hc_format(attr.prog_name, sizeof(attr.prog_name), "%s", live->program_name);
	fd = bpf(HC_BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd >= 0)
		return fd;
	/* Once more with the verifier's log, for the error message only. */
	attr.log_level = 1;
	attr.log_size = sizeof(log);
	attr.log_buf = (uint64_t)(uintptr_t)log;
	log[0] = '\0';
	fd = bpf(HC_BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd >= 0)
		return fd;
	log[sizeof(log) - 1] = '\0';
	if (strchr(log, '\n') != NULL)
		*strrchr(log, '\n') = '\0';
	return hc_fail(err, DEVICE_PROGRAM, errno, live->program_cgroup, "load device program%s%s",
		       log[0] != '\0' ? ": " : "", strrchr(log, '\n') != NULL ? strrchr(log, '\n') + 1 : log);
}

static int apply_device_program(const shim_v1_LiveDevice *live, struct hc_error *err)
{
	hc_cleanup_close int cgroupfd = -1;
	hc_cleanup_close int progfd = -1;
	struct hc_bpf_prog_attach attr;

	if ((live->program == NULL || live->program->size == 0) && !live->detach_program)
		return 0;
	cgroupfd = open(live->program_cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgroupfd < 0)
		return hc_fail(err, DEVICE_PROGRAM, errno, live->program_cgroup, "open cgroup");
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgroupfd;
	attr.attach_type = HC_BPF_CGROUP_DEVICE;
	if (live->detach_program) {
		/* Without BPF_F_ALLOW_MULTI there is one program per cgroup, and detach takes it by type. */
		if (bpf(HC_BPF_PROG_DETACH, &attr, sizeof(attr)) < 0 && errno != ENOENT)
			return hc_fail(err, DEVICE_PROGRAM, errno, live->program_cgroup, "detach device program");
		return 0;
	}
	progfd = load_device_program(live, err);
	if (progfd < 0)
		return -1;
	attr.attach_bpf_fd = (uint32_t)progfd;
	/* No flags: the program replaces the one attached before (the single-program mode swaps it in one step,
	 * with no moment without a program), and no cgroup below may attach one of its own to override it. The
	 * attachment holds the program after our descriptor closes; it goes with the cgroup. */
	if (bpf(HC_BPF_PROG_ATTACH, &attr, sizeof(attr)) < 0)
		return hc_fail(err, DEVICE_PROGRAM, errno, live->program_cgroup, "attach device program");
	return 0;
}

/* --- device nodes ----------------------------------------------------------------------------------------- */

static bool same_node(const struct stat *st, const shim_v1_Device *node)
{
	return (st->st_mode & S_IFMT) == (node->mode & S_IFMT) && major(st->st_rdev) == node->major &&
	       minor(st->st_rdev) == node->minor;
}

int hc_action_live_device(const shim_v1_Spec *spec)
{
	const shim_v1_LiveDevice *live = &spec->live_device;
	const shim_v1_Device *node = &live->node;
	hc_cleanup_close int rootfd = -1;
	hc_cleanup_close int dirfd = -1;
	const char *base;
	struct hc_error err;
	struct stat st;
	mode_t saved;

	rootfd = open_container_root(spec->target_pid, LIVE_DEVICE, &err);
	if (rootfd < 0)
		goto fail;
	dirfd = open_parent_in_root(rootfd, node->path, &base, false, LIVE_DEVICE, &err);
	if (dirfd < 0)
		goto fail;

	if (live->remove) {
		/* Gone already (the container removed it): the rule is still to be revoked. */
		if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				goto program;
			hc_fail(&err, LIVE_DEVICE, errno, node->path, "find device node");
			goto fail;
		}
		if (!same_node(&st, node)) {
			hc_fail(&err, LIVE_DEVICE, EEXIST, node->path, "not the device node that was added (%u:%u)",
				node->major, node->minor);
			goto fail;
		}
		if (unlinkat(dirfd, base, 0) < 0) {
			hc_fail(&err, LIVE_DEVICE, errno, node->path, "remove device node");
			goto fail;
		}
program:
		if (apply_device_program(live, &err) < 0)
			goto fail;
		return 0;
	}

	/* Modes are exact: the inherited umask must not take bits off them. An entry already there (a file, a
	 * symlink the container planted) is never replaced: mknod does not follow a last-component symlink. */
	saved = umask(0);
	if (mknodat(dirfd, base, node->mode, makedev(node->major, node->minor)) < 0) {
		umask(saved);
		hc_fail(&err, LIVE_DEVICE, errno, node->path, errno == EEXIST ? "path exists in the container" : "mknod");
		goto fail;
	}
	umask(saved);
	if (fchownat(dirfd, base, node->uid, node->gid, AT_SYMLINK_NOFOLLOW) < 0) {
		hc_fail(&err, LIVE_DEVICE, errno, node->path, "chown device node");
		unlinkat(dirfd, base, 0);
		goto fail;
	}
	if (apply_device_program(live, &err) < 0) {
		unlinkat(dirfd, base, 0);
		goto fail;
	}
	return 0;

fail:
	hc_report_error(&err);
	return HC_EXIT_SETUP;
}

/* --- mounts ----------------------------------------------------------------------------------------------- */

static int mount_setattr_fd(int fd, bool recursive, const struct hc_mount_attr *attr)
{
	return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? HC_AT_RECURSIVE : 0), attr,
			    sizeof(*attr));
}

/* umount2() takes a path only. The host's /proc (opened before setns, still usable after) reaches the mount
 * through our own fd link, whatever the container's /proc shows. */
static int detach_mount_by_fd(int procfd, int fd)
{
	char link[32];

	if (fchdir(procfd) < 0)
		return -1;
	hc_format(link, sizeof(link), "self/fd/%d", fd);
	return umount2(link, MNT_DETACH);
}

static int join_mount_namespace(pid_t pid, struct hc_error *err)
{
	hc_cleanup_close int nsfd = -1;
	char path[64];

	hc_format(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return hc_fail(err, LIVE_MOUNT, errno, path, "open mount namespace");
	if (setns(nsfd, CLONE_NEWNS) < 0)
		return hc_fail(err, LIVE_MOUNT, errno, path, "join mount namespace");
	return 0;
}

static int remove_mount(const shim_v1_Spec *spec, int rootfd, int procfd, struct hc_error *err)
{
	const shim_v1_LiveMount *live = &spec->live_mount;
	hc_cleanup_close int fd = hc_open_in_root(rootfd, live->target, O_PATH | O_NOFOLLOW);
	struct stat st;

	if (fd < 0)
		return hc_fail(err, LIVE_MOUNT, errno, live->target, "open mount target in the container");
	if (fstat(fd, &st) == 0 && S_ISLNK(st.st_mode))
		return hc_fail(err, LIVE_MOUNT, ELOOP, live->target, "mount target is a symlink");
	if (join_mount_namespace(spec->target_pid, err) < 0)
		return -1;
	if (detach_mount_by_fd(procfd, fd) < 0)
		return hc_fail(err, LIVE_MOUNT, errno, live->target,
			       errno == EINVAL ? "unmount: not a mount point" : "unmount");
	return 0;
}

static int add_mount(const shim_v1_Spec *spec, int rootfd, int procfd, struct hc_error *err)
{
	const shim_v1_LiveMount *live = &spec->live_mount;
	hc_cleanup_close int tree = -1;
	hc_cleanup_close int dirfd = -1;
	hc_cleanup_close int target = -1;
	struct hc_mount_attr attr;
	struct stat source_st, target_st;
	const char *base;
	bool created = false;

	if (stat(live->source, &source_st) < 0)
		return hc_fail(err, LIVE_MOUNT, errno, live->source, "stat mount source");
	/* On the host, before anything of the container is touched: a detached copy, nobody else sees it. */
	tree = (int)syscall(SYS_open_tree, AT_FDCWD, live->source,
			    HC_OPEN_TREE_CLONE | O_CLOEXEC | (live->recursive ? HC_AT_RECURSIVE : 0));
	if (tree < 0)
		return hc_fail(err, LIVE_MOUNT, errno, live->source, "open_tree (clone) mount source");
	if (live->readonly) {
		/* Read-only before it is reachable in the container: there is no moment it could be written. */
		memset(&attr, 0, sizeof(attr));
		attr.attr_set = HC_MOUNT_ATTR_RDONLY;
		if (mount_setattr_fd(tree, live->recursive, &attr) < 0)
			return hc_fail(err, LIVE_MOUNT, errno, live->source, "mount_setattr read-only");
	}

	dirfd = open_parent_in_root(rootfd, live->target, &base, live->create_target, LIVE_MOUNT, err);
	if (dirfd < 0)
		return -1;
	target = hc_open_in_root(rootfd, live->target, O_PATH | O_NOFOLLOW);
	if (target < 0 && errno == ENOENT && live->create_target) {
		int made = S_ISDIR(source_st.st_mode)
				   ? mkdirat(dirfd, base, 0755)
				   : openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

		if (made < 0)
			return hc_fail(err, LIVE_MOUNT, errno, live->target, "create mount target");
		if (!S_ISDIR(source_st.st_mode))
			close(made);
		created = true;
		target = hc_open_in_root(rootfd, live->target, O_PATH | O_NOFOLLOW);
	}
	if (target < 0) {
		hc_fail(err, LIVE_MOUNT, errno, live->target, "open mount target in the container");
		goto undo_target;
	}
	if (fstat(target, &target_st) < 0) {
		hc_fail(err, LIVE_MOUNT, errno, live->target, "stat mount target");
		goto undo_target;
	}
	if (S_ISLNK(target_st.st_mode)) {
		hc_fail(err, LIVE_MOUNT, ELOOP, live->target, "mount target is a symlink");
		goto undo_target;
	}
	if (S_ISDIR(target_st.st_mode) != S_ISDIR(source_st.st_mode)) {
		hc_fail(err, LIVE_MOUNT, S_ISDIR(source_st.st_mode) ? ENOTDIR : EISDIR, live->target,
			"mount target exists as %s", S_ISDIR(target_st.st_mode) ? "a directory" : "a non-directory");
		goto undo_target;
	}

	/* Everything is open: from here on the paths are the container's. */
	if (join_mount_namespace(spec->target_pid, err) < 0)
		goto undo_target;
	if (syscall(SYS_move_mount, tree, "", target, "", HC_MOVE_MOUNT_F_EMPTY_PATH | HC_MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		hc_fail(err, LIVE_MOUNT, errno, live->target, "move_mount into the container");
		goto undo_target;
	}
	if (live->propagation != 0) {
		memset(&attr, 0, sizeof(attr));
		attr.propagation = live->propagation;
		if (mount_setattr_fd(tree, live->recursive, &attr) < 0) {
			hc_fail(err, LIVE_MOUNT, errno, live->target, "mount_setattr propagation 0x%lx",
				(unsigned long)live->propagation);
			detach_mount_by_fd(procfd, tree);
			goto undo_target;
		}
	}
	return 0;

undo_target:
	if (created)
		unlinkat(dirfd, base, S_ISDIR(source_st.st_mode) ? AT_REMOVEDIR : 0);
	return -1;
}

int hc_action_live_mount(const shim_v1_Spec *spec)
{
	hc_cleanup_close int rootfd = -1;
	hc_cleanup_close int procfd = -1;
	struct hc_error err;
	int ret;

	rootfd = open_container_root(spec->target_pid, LIVE_MOUNT, &err);
	if (rootfd < 0)
		goto fail;
	procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0) {
		hc_fail(&err, LIVE_MOUNT, errno, "/proc", "open the host's /proc");
		goto fail;
	}
	ret = spec->live_mount.remove ? remove_mount(spec, rootfd, procfd, &err) : add_mount(spec, rootfd, procfd, &err);
	if (ret == 0)
		return 0;
fail:
	hc_report_error(&err);
	return HC_EXIT_SETUP;
}
