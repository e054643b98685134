#define _GNU_SOURCE
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "idmap.h"
#include "kernel.h"
#include "report.h"
#include "util.h"

#define PROPAGATION_FLAGS (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)
/* The flags a bind mount only takes from a second, remounting call. */
#define PER_MOUNT_FLAGS \
	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)

int hc_open_in_root(int rootfd, const char *path, int flags)
{
	struct hc_open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = HC_RESOLVE_IN_ROOT | HC_RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/* A dangling symlink at buf's prefix ending in component: write its target in its place, the way the
 * kernel would follow it, so that what is created is what the link points to (inside the rootfs). */
static int splice_link(int parent, char *buf, char *component, const char *rest)
{
	char target[PATH_MAX];
	char next[PATH_MAX];
	size_t dir_len = (size_t)(component - buf);
	size_t len;
	ssize_t n = readlinkat(parent, component, target, sizeof(target) - 1);

	if (n < 0) {
		/* Not a symlink: whatever exists there could not be opened, and was not made by us. */
		if (errno == EINVAL)
			errno = ENOENT;
		return -1;
	}
	target[n] = '\0';
	if (target[0] == '/')
		dir_len = 0;
	memcpy(next, buf, dir_len);
	len = dir_len + hc_format(next + dir_len, sizeof(next) - dir_len, "%s/%s", target, rest);
	if (len + 1 >= sizeof(next)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, next, len + 1);
	return 0;
}

int hc_make_in_root(int rootfd, const char *path, bool as_file)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	int links = 0;
	int fd;

	fd = hc_open_in_root(rootfd, path, O_PATH);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);

restart:;
	/* Walk down one component at a time. Each prefix is resolved again from the rootfs (never from the
	 * previous directory's fd), so a symlink met on the way is followed inside the rootfs as it would
	 * be in the container. */
	hc_cleanup_close int parent = hc_open_in_root(rootfd, "/", O_PATH | O_DIRECTORY);
	char *component = buf;

	if (parent < 0)
		return -1;
	for (;;) {
		char *end;
		bool last;

		while (*component == '/')
			component++;
		if (*component == '\0')
			break;
		end = component + strcspn(component, "/");
		last = end[strspn(end, "/")] == '\0';
		*end = '\0';

		fd = hc_open_in_root(rootfd, buf, O_PATH);
		if (fd < 0 && errno == ENOENT) {
			if (last && as_file) {
				int created = openat(parent, component, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
						     0644);

				if (created >= 0)
					close(created);
				else if (errno != EEXIST)
					return -1;
			} else if (mkdirat(parent, component, 0755) < 0 && errno != EEXIST) {
				return -1;
			}
			fd = hc_open_in_root(rootfd, buf, O_PATH);
			if (fd < 0 && errno == ENOENT) {
				if (++links > 40) {
					errno = ELOOP;
					return -1;
				}
				if (splice_link(parent, buf, component, last ? "" : end + 1) < 0)
					return -1;
				hc_close_fdp(&parent);
				goto restart;
			}
		}
		if (fd < 0 || last)
			return fd;
		hc_close_fdp(&parent);
		parent = fd;
		*end = '/';
		component = end;
	}
	return hc_steal_fd(&parent);
}

void hc_fd_path(struct hc_fd_path *out, int fd)
{
	hc_format(out->path, sizeof(out->path), "/proc/self/fd/%d", fd);
}

static unsigned long locked_flags(const char *path)
{
	static const struct {
		unsigned long st, ms;
	} map[] = {
		{ ST_RDONLY, MS_RDONLY },     { ST_NOSUID, MS_NOSUID },	      { ST_NODEV, MS_NODEV },
		{ ST_NOEXEC, MS_NOEXEC },     { ST_NOATIME, MS_NOATIME },     { ST_NODIRATIME, MS_NODIRATIME },
		{ ST_RELATIME, MS_RELATIME },
	};
	struct statfs st;
	unsigned long flags = 0;

	if (statfs(path, &st) < 0)
		return 0;
	for (size_t i = 0; i < HC_ARRAY_SIZE(map); i++)
		if ((unsigned long)st.f_flags & map[i].st)
			flags |= map[i].ms;
	return flags;
}

int hc_remount_bind(const char *path, unsigned long flags)
{
	unsigned long kept;

	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | flags, NULL) == 0)
		return 0;
	if (errno != EPERM)
		return -1;
	kept = locked_flags(path);
	/* Keep a locked atime mode rather than mixing two. */
	if (kept & (MS_NOATIME | MS_RELATIME))
		flags &= ~(unsigned long)(MS_NOATIME | MS_RELATIME | MS_STRICTATIME);
	if ((flags | kept) == flags) {
		errno = EPERM;
		return -1;
	}
	return mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | flags | kept, NULL);
}

static bool is_bind(const shim_v1_Mount *m)
{
	return (m->flags & MS_BIND) || (m->fstype != NULL && strcmp(m->fstype, "bind") == 0);
}

static int apply_one(const shim_v1_Mount *m, int rootfd, struct hc_error *err);

/* The kernel refused the filesystem (sysfs, in a user namespace that does not own the network namespace):
 * bind the host's instead, recursively, with the same per-mount flags. */
static int apply_fallback_bind(const shim_v1_Mount *m, int rootfd, struct hc_error *err)
{
	shim_v1_Mount bind = *m;

	bind.source = m->fallback_bind_source;
	bind.fstype = (char *)"bind";
	bind.flags = MS_BIND | MS_REC | (m->flags & PER_MOUNT_FLAGS);
	bind.data = NULL;
	bind.fallback_bind_source = NULL;
	hc_report_stage(shim_v1_Stage_STAGE_MOUNTS);
	return apply_one(&bind, rootfd, err);
}

static int apply_one(const shim_v1_Mount *m, int rootfd, struct hc_error *err)
{
	const shim_v1_Stage stage = shim_v1_Stage_STAGE_MOUNTS;
	bool bind = is_bind(m);
	bool as_file = false;
	hc_cleanup_close int fd = -1;
	hc_cleanup_close int mounted = -1;
	/* An idmapped mount, made by the monitor's worker (idmap.c): its source is never looked up from here,
	 * where the container's root may not search the host's directories. */
	hc_cleanup_close int tree = bind && m->uid_mappings_count > 0 ? hc_idmap_take(m->target, err) : -1;
	struct hc_fd_path at;

	if (bind && m->uid_mappings_count > 0 && tree < 0)
		return -1;
	if (bind) {
		struct stat st;

		if ((tree >= 0 ? fstat(tree, &st) : stat(m->source, &st)) < 0)
			return hc_fail(err, stage, errno, m->target, "bind mount: stat source %s", m->source);
		as_file = !S_ISDIR(st.st_mode);
	}
	fd = hc_make_in_root(rootfd, m->target, as_file);
	if (fd < 0)
		return hc_fail(err, stage, errno, m->target, "resolve mount target");
	hc_fd_path(&at, fd);

	if (tree >= 0) {
		/* Attached here, inside the container's namespaces. */
		if (syscall(SYS_move_mount, tree, "", fd, "", HC_MOVE_MOUNT_F_EMPTY_PATH | HC_MOVE_MOUNT_T_EMPTY_PATH) < 0)
			return hc_fail(err, stage, errno, m->target, "attach idmapped mount of %s", m->source);
	} else if (bind) {
		if (mount(m->source, at.path, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
			return hc_fail(err, stage, errno, m->target, "bind mount %s", m->source);
	} else {
		/* Propagation bits would turn mount(2) into a propagation change; they have their own field. */
		unsigned long flags = (unsigned long)m->flags & ~(unsigned long)PROPAGATION_FLAGS;

		if (mount(hc_has(m->source) ? m->source : "none", at.path, m->fstype, flags, m->data) < 0) {
			if (errno == EPERM && hc_has(m->fallback_bind_source))
				return apply_fallback_bind(m, rootfd, err);
			return hc_fail(err, stage, errno, m->target, "mount %s", hc_has(m->fstype) ? m->fstype : "(no type)");
		}
	}

	if (!(bind && (m->flags & PER_MOUNT_FLAGS)) && m->propagation == 0)
		return 0;
	/* /proc/self/fd/N still names the directory under the new mount; the new mount itself is reached
	 * by resolving the target again. */
	mounted = hc_open_in_root(rootfd, m->target, O_PATH);
	if (mounted < 0)
		return hc_fail(err, stage, errno, m->target, "resolve mount target after mounting");
	hc_fd_path(&at, mounted);
	if (bind && (m->flags & PER_MOUNT_FLAGS) &&
	    hc_remount_bind(at.path, (unsigned long)m->flags & PER_MOUNT_FLAGS) < 0)
		return hc_fail(err, stage, errno, m->target, "remount bind mount with flags 0x%lx",
			       (unsigned long)m->flags & PER_MOUNT_FLAGS);
	if (m->propagation != 0 && mount(NULL, at.path, NULL, (unsigned long)m->propagation, NULL) < 0)
		return hc_fail(err, stage, errno, m->target, "set mount propagation 0x%lx",
			       (unsigned long)m->propagation);
	return 0;
}

int hc_mounts_apply(const shim_v1_Spec *spec, int rootfd, struct hc_error *err)
{
	for (pb_size_t i = 0; i < spec->mounts_count; i++)
		if (apply_one(&spec->mounts[i], rootfd, err) < 0)
			return -1;
	return 0;
}

/* CVE-2025-31133: a file is masked by binding /dev/null over it, and /dev/null is the container's. Taken by path,
 * a /dev/null that an image, a createContainer hook or a process sharing the container's /dev has swapped for a
 * symlink (to /proc/sys/kernel/core_pattern, say) makes the "mask" a writable bind of that file, at a path
 * that readonly_paths does not cover. So /dev/null is opened once, without following a symlink, and used only
 * if fstat() shows the null device (char 1:3): any node of that number reads empty and drops writes, wherever
 * it lies. The mount then goes from that descriptor to a descriptor of the target (open_tree + move_mount): no
 * path is resolved again between the check and the mount. */
static int open_dev_null(struct hc_error *err)
{
	hc_cleanup_close int fd = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_MASK_PATHS, errno, "/dev/null", "mask paths: open /dev/null");
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return hc_fail(err, shim_v1_Stage_STAGE_MASK_PATHS, ENODEV, "/dev/null",
			       "mask paths: /dev/null is not the null device (char 1:3), refusing to bind it");
	return hc_steal_fd(&fd);
}

int hc_mounts_mask_paths(const shim_v1_Spec *spec, struct hc_error *err)
{
	hc_cleanup_close int null_node = -1;

	for (pb_size_t i = 0; i < spec->masked_paths_count; i++) {
		const char *path = spec->masked_paths[i];
		hc_cleanup_close int target = open(path, O_PATH | O_CLOEXEC);
		hc_cleanup_close int tree = -1;
		struct stat st;
		int ret;

		if (target < 0 || fstat(target, &st) < 0) {
			if (errno == ENOENT)
				continue;
			return hc_fail(err, shim_v1_Stage_STAGE_MASK_PATHS, errno, path, "mask path: open");
		}
		if (S_ISDIR(st.st_mode)) {
			ret = mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL);
		} else {
			if (null_node < 0 && (null_node = open_dev_null(err)) < 0)
				return -1;
			/* A detached bind of the checked node, attached onto the target's descriptor. */
			tree = (int)syscall(SYS_open_tree, null_node, "", HC_OPEN_TREE_CLONE | HC_OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
			ret = tree < 0 ? -1 : (int)syscall(SYS_move_mount, tree, "", target, "",
							  HC_MOVE_MOUNT_F_EMPTY_PATH | HC_MOVE_MOUNT_T_EMPTY_PATH);
		}
		if (ret < 0)
			return hc_fail(err, shim_v1_Stage_STAGE_MASK_PATHS, errno, path, "mask path: mount %s",
				       S_ISDIR(st.st_mode) ? "tmpfs" : "/dev/null");
	}
	return 0;
}

int hc_mounts_readonly_paths(const shim_v1_Spec *spec, struct hc_error *err)
{
	for (pb_size_t i = 0; i < spec->readonly_paths_count; i++) {
		const char *path = spec->readonly_paths[i];

		/* A read-only bind mount is made in two steps: bind the path onto itself, then remount. */
		if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			return hc_fail(err, shim_v1_Stage_STAGE_READONLY_PATHS, errno, path, "readonly path: bind");
		}
		if (hc_remount_bind(path, MS_RDONLY | MS_REC) < 0)
			return hc_fail(err, shim_v1_Stage_STAGE_READONLY_PATHS, errno, path,
				       "readonly path: remount read-only");
	}
	return 0;
}
