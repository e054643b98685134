#define _GNU_SOURCE
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "idmap.h"
#include "kernel.h"
#include "mounts.h"
#include "util.h"

#define ROOTFS shim_v1_Stage_STAGE_ROOTFS

/* Propagation happens in three steps, in this order, because pivot_root(2) refuses (EINVAL) when the new
 * root's mount, its parent mount or the current root is shared, and a bind mount of an unbindable mount fails
 * (EINVAL) too:
 *  1. here, before anything is mounted: the whole tree gets the propagation asked for, so nothing the container
 *     mounts reaches the host's view, except that unbindable is deferred (slave meanwhile: the rootfs still has
 *     to be bound) and shared is applied now (the container's copies of the host's shared mounts stay their
 *     peers, so a shared volume propagates both ways, as runc does);
 *  2. hc_rootfs_isolate_parent(), for shared only: the mount holding the rootfs's parent directory and the
 *     namespace's / become private (those two mounts alone: the old root is taken away after pivot_root). The
 *     rootfs mounted below is then private as well, which is what pivot_root needs, and the overlay does not
 *     propagate to the host;
 *  3. hc_rootfs_final_propagation(), after pivot_root and after the last bind mount (the masks and read-only
 *     paths are binds, which an unbindable source refuses): the propagation asked for, applied to the new /,
 *     recursively. */
static unsigned long requested_propagation(const shim_v1_Spec *spec)
{
	return spec->rootfs.propagation != 0 ? (unsigned long)spec->rootfs.propagation : MS_PRIVATE;
}

int hc_rootfs_propagation(const shim_v1_Spec *spec, struct hc_error *err)
{
	unsigned long propagation = requested_propagation(spec);

	if (propagation == MS_UNBINDABLE)
		propagation = MS_SLAVE;
	if (mount(NULL, "/", NULL, MS_REC | propagation, NULL) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_PROPAGATION, errno, "/", "set propagation 0x%lx on /",
			       propagation);
	return 0;
}

/* The mount point (as listed in /proc/self/mountinfo, octal escapes undone) that holds path: the longest
 * listed mount point that is path or one of its ancestors. path must have no symlinks. */
static int find_mount_point(const char *path, char *out, size_t size)
{
	static char info[1 << 16];
	hc_cleanup_close int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	size_t best = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	/* A namespace with more mounts than this holds is cut short; "/" is always first, so something is found. */
	while (len + 1 < sizeof(info) && (n = read(fd, info + len, sizeof(info) - 1 - len)) > 0)
		len += (size_t)n;
	info[len] = '\0';
	hc_format(out, size, "/");
	for (char *line = info; *line != '\0';) {
		char *next = strchr(line, '\n');
		char point[PATH_MAX];
		size_t plen = 0;
		char *field = line;

		if (next != NULL)
			*next = '\0';
		/* Field 5 is the mount point. */
		for (int i = 0; i < 4 && field != NULL; i++) {
			field = strchr(field, ' ');
			if (field != NULL)
				field++;
		}
		for (const char *c = field; c != NULL && *c != ' ' && *c != '\0' && plen + 1 < sizeof(point); c++) {
			if (c[0] == '\\' && c[1] >= '0' && c[1] <= '3' && c[2] >= '0' && c[3] >= '0') {
				point[plen++] = (char)((c[1] - '0') * 64 + (c[2] - '0') * 8 + (c[3] - '0'));
				c += 3;
			} else {
				point[plen++] = *c;
			}
		}
		point[plen] = '\0';
		if (plen > 0 && plen >= best && strncmp(path, point, plen) == 0 &&
		    (path[plen] == '/' || path[plen] == '\0' || plen == 1)) {
			best = plen;
			hc_format(out, size, "%s", point);
		}
		line = next != NULL ? next + 1 : line + strlen(line);
	}
	return 0;
}

int hc_rootfs_isolate_parent(const shim_v1_Spec *spec, struct hc_error *err)
{
	char parent[PATH_MAX];
	char resolved[PATH_MAX];
	char point[PATH_MAX];
	char *slash;

	if (requested_propagation(spec) != MS_SHARED)
		return 0;
	hc_format(parent, sizeof(parent), "%s", spec->rootfs.path);
	slash = strrchr(parent, '/');
	if (slash != NULL)
		slash[slash == parent ? 1 : 0] = '\0';
	if (realpath(parent, resolved) == NULL)
		return hc_fail(err, shim_v1_Stage_STAGE_PROPAGATION, errno, parent, "resolve the rootfs's parent directory");
	if (find_mount_point(resolved, point, sizeof(point)) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_PROPAGATION, errno, "/proc/self/mountinfo", "read mountinfo");
	if (mount(NULL, point, NULL, MS_PRIVATE, NULL) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_PROPAGATION, errno, point,
			       "make the mount holding the rootfs private (shared rootfs propagation)");
	if (mount(NULL, "/", NULL, MS_PRIVATE, NULL) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_PROPAGATION, errno, "/",
			       "make / private (shared rootfs propagation)");
	return 0;
}

int hc_rootfs_final_propagation(const shim_v1_Spec *spec, struct hc_error *err)
{
	unsigned long propagation = requested_propagation(spec);

	/* Private and slave were applied whole in step 1 and still hold. */
	if (propagation != MS_SHARED && propagation != MS_UNBINDABLE)
		return 0;
	if (mount(NULL, "/", NULL, MS_REC | propagation, NULL) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_PROPAGATION, errno, "/", "set propagation 0x%lx on the new /",
			       propagation);
	return 0;
}

/* The classic mount(2) takes the options as one page; a path with ',' or ':' in it cannot be written
 * there at all. Either case goes through fsconfig(), which takes each layer whole ("lowerdir+", 6.8+). */
static bool overlay_fits_classic(const shim_v1_Rootfs *rootfs, char *data, size_t size)
{
	size_t len = hc_format(data, size, "lowerdir=");

	for (pb_size_t i = 0; i < rootfs->lower_dirs_count; i++) {
		if (strpbrk(rootfs->lower_dirs[i], ",:\\") != NULL)
			return false;
		len += hc_format(data + len, size - len, "%s%s", i > 0 ? ":" : "", rootfs->lower_dirs[i]);
	}
	if (hc_has(rootfs->upper_dir)) {
		if (strpbrk(rootfs->upper_dir, ",\\") != NULL || strpbrk(rootfs->work_dir, ",\\") != NULL)
			return false;
		len += hc_format(data + len, size - len, ",upperdir=%s,workdir=%s", rootfs->upper_dir, rootfs->work_dir);
	}
	return len + 1 < size;
}

int hc_fs_fail(int fsfd, struct hc_error *err, const char *path, const char *what)
{
	int saved = errno;
	char log[256];
	ssize_t n;

	/* The kernel keeps its reason in the fs context: "e overlay: failed to resolve ...". */
	n = read(fsfd, log, sizeof(log) - 1);
	if (n > 0) {
		log[n] = '\0';
		if (log[n - 1] == '\n')
			log[n - 1] = '\0';
		return hc_fail(err, ROOTFS, saved, path, "mount overlay: %s (%s)", what, log);
	}
	return hc_fail(err, ROOTFS, saved, path, "mount overlay: %s", what);
}

static int fs_set(int fsfd, const char *key, const char *value)
{
	return (int)syscall(SYS_fsconfig, fsfd, HC_FSCONFIG_SET_STRING, key, value, 0);
}

/* Rootfs.idmap_layers: the overlay was made by the monitor's worker (idmap.c), with the host's privileges, so
 * that its superblock belongs to the host's user namespace and it reads the layers' trusted.overlay.*
 * attributes (opaque directories, whiteouts); an overlay mounted in the container's user namespace could
 * only read user.* ones. It comes as a detached mount, and the mount point as a descriptor too, since its
 * path may run through directories the container's root may not search. The mount's own descriptor is
 * then the rootfs. */
static int attach_prepared_overlay(const shim_v1_Rootfs *rootfs, int *rootfd, struct hc_error *err)
{
	hc_cleanup_close int mfd = hc_idmap_take(rootfs->path, err);
	hc_cleanup_close int target = mfd < 0 ? -1 : hc_idmap_take(rootfs->path, err);

	if (mfd < 0 || target < 0)
		return -1;
	if (syscall(SYS_move_mount, mfd, "", target, "", HC_MOVE_MOUNT_F_EMPTY_PATH | HC_MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return hc_fail(err, ROOTFS, errno, rootfs->path, "attach idmapped overlay");
	*rootfd = hc_steal_fd(&mfd);
	return 0;
}

static int mount_overlay_fsconfig(const shim_v1_Rootfs *rootfs, struct hc_error *err)
{
	hc_cleanup_close int fsfd = -1;
	hc_cleanup_close int mfd = -1;

	fsfd = (int)syscall(SYS_fsopen, "overlay", HC_FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return hc_fail(err, ROOTFS, errno, rootfs->path, "mount overlay: fsopen");
	for (pb_size_t i = 0; i < rootfs->lower_dirs_count; i++)
		if (fs_set(fsfd, "lowerdir+", rootfs->lower_dirs[i]) < 0)
			return hc_fs_fail(fsfd, err, rootfs->lower_dirs[i], "lowerdir+");
	if (hc_has(rootfs->upper_dir)) {
		if (fs_set(fsfd, "upperdir", rootfs->upper_dir) < 0)
			return hc_fs_fail(fsfd, err, rootfs->upper_dir, "upperdir");
		if (fs_set(fsfd, "workdir", rootfs->work_dir) < 0)
			return hc_fs_fail(fsfd, err, rootfs->work_dir, "workdir");
	}
	if (syscall(SYS_fsconfig, fsfd, HC_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return hc_fs_fail(fsfd, err, rootfs->path, "create");
	mfd = (int)syscall(SYS_fsmount, fsfd, HC_FSMOUNT_CLOEXEC, 0);
	if (mfd < 0)
		return hc_fs_fail(fsfd, err, rootfs->path, "fsmount");
	if (syscall(SYS_move_mount, mfd, "", AT_FDCWD, rootfs->path, HC_MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return hc_fail(err, ROOTFS, errno, rootfs->path, "mount overlay: move_mount");
	return 0;
}

/* In a user namespace, the rootfs came opened from the monitor's worker (idmap.c): a copy of its mount tree
 * (open_tree, recursive as a bind with MS_REC, so locked mounts below stay covered) is attached over it,
 * and that copy's descriptor is the rootfs. No path is walked as the container's root. */
static int bind_rootfs_from_fd(const shim_v1_Rootfs *rootfs, int *rootfd, struct hc_error *err)
{
	hc_cleanup_close int dir = hc_idmap_take(rootfs->path, err);
	hc_cleanup_close int tree = -1;

	if (dir < 0)
		return -1;
	tree = (int)syscall(SYS_open_tree, dir, "", HC_OPEN_TREE_CLONE | HC_OPEN_TREE_CLOEXEC | HC_AT_RECURSIVE | AT_EMPTY_PATH);
	if (tree < 0)
		return hc_fail(err, ROOTFS, errno, rootfs->path, "bind mount rootfs: open_tree");
	if (syscall(SYS_move_mount, tree, "", dir, "", HC_MOVE_MOUNT_F_EMPTY_PATH | HC_MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return hc_fail(err, ROOTFS, errno, rootfs->path, "bind mount rootfs: move_mount");
	*rootfd = hc_steal_fd(&tree);
	return 0;
}

int hc_rootfs_mount(const shim_v1_Spec *spec, int *rootfd, struct hc_error *err)
{
	const shim_v1_Rootfs *rootfs = &spec->rootfs;
	char data[4096];

	if (rootfs->idmap_layers && rootfs->lower_dirs_count > 0)
		return attach_prepared_overlay(rootfs, rootfd, err);
	if (rootfs->lower_dirs_count > 0) {
		if (overlay_fits_classic(rootfs, data, sizeof(data))) {
			if (mount("overlay", rootfs->path, "overlay", 0, data) < 0)
				return hc_fail(err, ROOTFS, errno, rootfs->path, "mount overlay");
		} else if (mount_overlay_fsconfig(rootfs, err) < 0) {
			return -1;
		}
	} else if (hc_idmap_rootfs_by_fd(spec)) {
		return bind_rootfs_from_fd(rootfs, rootfd, err);
	} else if (mount(rootfs->path, rootfs->path, NULL, MS_BIND | MS_REC, NULL) < 0) {
		return hc_fail(err, ROOTFS, errno, rootfs->path, "bind mount rootfs");
	}
	/* Opened after mounting, so the descriptor is the new mount's root, not the directory beneath. */
	*rootfd = open(rootfs->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*rootfd < 0)
		return hc_fail(err, ROOTFS, errno, rootfs->path, "open rootfs");
	return 0;
}

int hc_rootfs_pivot(const shim_v1_Spec *spec, int rootfd, struct hc_error *err)
{
	const shim_v1_Stage stage = shim_v1_Stage_STAGE_PIVOT_ROOT;
	const char *path = spec->rootfs.path;

	if (fchdir(rootfd) < 0)
		return hc_fail(err, stage, errno, path, "chdir to rootfs");
	if (spec->rootfs.no_pivot) {
		/* For a rootfs on ramfs, which pivot_root refuses. The host's mounts stay below, hidden. */
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
			return hc_fail(err, stage, errno, path, "move rootfs onto /");
		if (chroot(".") < 0)
			return hc_fail(err, stage, errno, path, "chroot");
	} else {
		hc_cleanup_close int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (oldroot < 0)
			return hc_fail(err, stage, errno, "/", "open the old root");
		/* pivot_root(".", ".") stacks the old root on top of the new one at the same place (runc's
		 * trick), so no directory has to be made for it inside the rootfs. */
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			return hc_fail(err, stage, errno, path, "pivot_root");
		/* Our cwd is still the new root's directory, under the stacked old root: a propagation change
		 * on "." there would make the container's own mounts slaves (a shared volume would no longer
		 * reach the host). The old root's own descriptor names it exactly, as runc does. */
		if (fchdir(oldroot) < 0)
			return hc_fail(err, stage, errno, "/", "chdir to the old root");
		/* The old root must not pass our unmount on to the host if it was shared with it. */
		if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
			return hc_fail(err, stage, errno, path, "make old root a slave");
		if (umount2(".", MNT_DETACH) < 0)
			return hc_fail(err, stage, errno, path, "detach old root");
	}
	if (chdir("/") < 0)
		return hc_fail(err, stage, errno, "/", "chdir to new root");
	return 0;
}

int hc_rootfs_readonly(const shim_v1_Spec *spec, struct hc_error *err)
{
	if (!spec->rootfs.readonly)
		return 0;
	if (hc_remount_bind("/", MS_RDONLY) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_READONLY_PATHS, errno, "/", "remount / read-only");
	return 0;
}
