/* ACTION_APPLY_NODES: the parts of unpacking an image layer that Node cannot do (mknod, setxattr, the owner
 * of a device node), done for a whole layer in one helper run. Every path is resolved inside the layer
 * directory with openat2(RESOLVE_IN_ROOT): a symlink the layer itself contains ("etc -> /etc") is followed
 * as the container would see it, inside the layer, and never reaches the host's files. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "actions.h"
#include "error.h"
#include "mounts.h"
#include "report.h"
#include "util.h"

#define APPLY shim_v1_Stage_STAGE_APPLY_NODES

/* Splits "a/b/c" into the parent "a/b" (opened inside the root) and the last component "c". */
static int open_parent(int rootfd, const char *path, char *parent, size_t size, const char **base)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		*base = path;
		return hc_open_in_root(rootfd, ".", O_PATH | O_DIRECTORY);
	}
	if ((size_t)(slash - path) + 1 > size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	*base = slash + 1;
	return hc_open_in_root(rootfd, parent[0] != '\0' ? parent : ".", O_PATH | O_DIRECTORY);
}

static int make_node(int rootfd, const shim_v1_FsNode *node, struct hc_error *err)
{
	static char parent[4096];
	hc_cleanup_close int dirfd = -1;
	hc_cleanup_close int fd = -1;
	char proc_path[64];
	const char *base;
	mode_t type = 0;

	switch (node->kind) {
	case shim_v1_FsNodeKind_FS_NODE_KIND_CHAR:
		type = S_IFCHR;
		break;
	case shim_v1_FsNodeKind_FS_NODE_KIND_BLOCK:
		type = S_IFBLK;
		break;
	case shim_v1_FsNodeKind_FS_NODE_KIND_FIFO:
		type = S_IFIFO;
		break;
	case shim_v1_FsNodeKind_FS_NODE_KIND_EXISTING:
	case shim_v1_FsNodeKind_FS_NODE_KIND_UNSPECIFIED:
		break;
	}

	if (type != 0) {
		dirfd = open_parent(rootfd, node->path, parent, sizeof(parent), &base);
		if (dirfd < 0)
			return hc_fail(err, APPLY, errno, node->path, "open parent directory");
		/* A layer may replace an entry a previous one of its own entries made. */
		if (unlinkat(dirfd, base, 0) < 0 && errno != ENOENT)
			return hc_fail(err, APPLY, errno, node->path, "replace entry");
		if (mknodat(dirfd, base, type | (node->mode & 07777), makedev(node->major, node->minor)) < 0)
			return hc_fail(err, APPLY, errno, node->path, "mknod");
		if (fchownat(dirfd, base, node->uid, node->gid, AT_SYMLINK_NOFOLLOW) < 0)
			return hc_fail(err, APPLY, errno, node->path, "chown");
		/* chown drops the set-id bits; the mode is set again after it, exactly. */
		if (fchmodat(dirfd, base, node->mode & 07777, 0) < 0)
			return hc_fail(err, APPLY, errno, node->path, "chmod");
	}
	if (node->xattrs_count == 0)
		return 0;
	fd = hc_open_in_root(rootfd, node->path, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return hc_fail(err, APPLY, errno, node->path, "open");
	/* An O_PATH descriptor takes no fsetxattr(); its /proc/self/fd link reaches the very inode, a symlink
	 * included, without resolving any path again. */
	hc_format(proc_path, sizeof(proc_path), "/proc/self/fd/%d", fd);
	for (pb_size_t i = 0; i < node->xattrs_count; i++) {
		const shim_v1_Xattr *xattr = &node->xattrs[i];
		const void *value = xattr->value != NULL ? (const void *)xattr->value->bytes : (const void *)"";
		size_t len = xattr->value != NULL ? xattr->value->size : 0;

		if (setxattr(proc_path, xattr->name, value, len, 0) < 0)
			return hc_fail(err, APPLY, errno, node->path, "set xattr %s", xattr->name);
	}
	return 0;
}

int hc_action_apply_nodes(const shim_v1_Spec *spec)
{
	hc_cleanup_close int rootfd = -1;
	struct hc_error err;
	mode_t saved;
	int ret = 0;

	rootfd = open(spec->layer_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		hc_fail(&err, APPLY, errno, spec->layer_dir, "open layer directory");
		hc_report_error(&err);
		return HC_EXIT_SETUP;
	}
	/* Modes are exact: the inherited umask must not take bits off them. */
	saved = umask(0);
	for (pb_size_t i = 0; i < spec->nodes_count && ret == 0; i++)
		ret = make_node(rootfd, &spec->nodes[i], &err);
	umask(saved);
	if (ret < 0) {
		hc_report_error(&err);
		return HC_EXIT_SETUP;
	}
	return 0;
}
