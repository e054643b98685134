#define _GNU_SOURCE
#include "devices.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "mounts.h"
#include "util.h"

/* Open (creating it if missing) the directory that holds path inside the rootfs, and point *base at the
 * last component of path. */
static int open_parent(int rootfd, const char *path, const char **base, shim_v1_Stage stage,
		       struct hc_error *err)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t len = (size_t)(slash - path);
	int fd;

	*base = slash + 1;
	if (**base == '\0' || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0)
		return hc_fail(err, stage, EINVAL, path, "path names no file");
	if (len >= sizeof(dir))
		return hc_fail(err, stage, ENAMETOOLONG, path, "create parent directory");
	memcpy(dir, path, len);
	dir[len] = '\0';
	fd = hc_make_in_root(rootfd, len > 0 ? dir : "/", false);
	if (fd < 0)
		return hc_fail(err, stage, errno, path, "create parent directory");
	return fd;
}

static int make_node(const shim_v1_Device *dev, int rootfd, struct hc_error *err)
{
	const shim_v1_Stage stage = shim_v1_Stage_STAGE_DEVICES;
	hc_cleanup_close int dirfd = -1;
	const char *base;
	dev_t number = makedev(dev->major, dev->minor);

	dirfd = open_parent(rootfd, dev->path, &base, stage, err);
	if (dirfd < 0)
		return -1;
	if (mknodat(dirfd, base, dev->mode, number) < 0) {
		/* An image may ship its own /dev entries; ours replace them. */
		if (errno != EEXIST || unlinkat(dirfd, base, 0) < 0 || mknodat(dirfd, base, dev->mode, number) < 0)
			return hc_fail(err, stage, errno, dev->path, "mknod");
	}
	if (fchownat(dirfd, base, dev->uid, dev->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return hc_fail(err, stage, errno, dev->path, "chown device");
	return 0;
}

static int bind_node(const shim_v1_Device *dev, int rootfd, struct hc_error *err)
{
	hc_cleanup_close int fd = -1;
	struct hc_fd_path at;

	/* A user namespace may not mknod; the host's node is bound onto an empty file instead. */
	fd = hc_make_in_root(rootfd, dev->path, true);
	if (fd < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_DEVICES, errno, dev->path, "create device file");
	hc_fd_path(&at, fd);
	if (mount(dev->path, at.path, NULL, MS_BIND, NULL) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_DEVICES, errno, dev->path, "bind mount host device");
	return 0;
}

int hc_devices_create(const shim_v1_Spec *spec, int rootfd, struct hc_error *err)
{
	mode_t saved;
	int ret = 0;

	if (spec->devices_count == 0)
		return 0;
	/* Device modes are exact: the inherited umask must not take bits off them. */
	saved = umask(0);
	for (pb_size_t i = 0; i < spec->devices_count && ret == 0; i++) {
		const shim_v1_Device *dev = &spec->devices[i];

		ret = dev->bind_from_host ? bind_node(dev, rootfd, err) : make_node(dev, rootfd, err);
	}
	umask(saved);
	return ret;
}

int hc_symlinks_create(const shim_v1_Spec *spec, int rootfd, struct hc_error *err)
{
	for (pb_size_t i = 0; i < spec->symlinks_count; i++) {
		const shim_v1_Symlink *link = &spec->symlinks[i];
		hc_cleanup_close int dirfd = -1;
		const char *base;

		dirfd = open_parent(rootfd, link->path, &base, shim_v1_Stage_STAGE_DEVICES, err);
		if (dirfd < 0)
			return -1;
		if (symlinkat(link->target, dirfd, base) < 0 && errno != EEXIST)
			return hc_fail(err, shim_v1_Stage_STAGE_DEVICES, errno, link->path, "symlink to %s",
				       link->target);
	}
	return 0;
}
