/* ACTION_COPY_IN and ACTION_COPY_OUT (docker cp). The container's paths are resolved inside its root with
 * openat2(RESOLVE_IN_ROOT), and COPY_IN then chroots to that root before it unpacks anything, so neither a
 * symlink the container holds ("etc -> /etc") nor a name in the archive ("../x") reaches the host. COPY_OUT
 * runs the shim's tar in the resolved directory; tar archives symlinks as links and does not follow them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "actions.h"
#include "error.h"
#include "mounts.h"
#include "report.h"
#include "rootfs.h"
#include "util.h"

#define COPY shim_v1_Stage_STAGE_COPY
#define BLOCK 512

/* The container's root: its running init's, or (a stopped container) its overlay, mounted in a mount
 * namespace of our own that goes away with this process. */
static int open_root(const shim_v1_Spec *spec, struct hc_error *err)
{
	int fd;

	if (hc_has(spec->copy.root)) {
		fd = open(spec->copy.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return hc_fail(err, COPY, errno, spec->copy.root, "copy: open the container's root");
		return fd;
	}
	if (unshare(CLONE_NEWNS) < 0)
		return hc_fail(err, COPY, errno, NULL, "copy: unshare the mount namespace");
	if (hc_rootfs_propagation(spec, err) < 0 || hc_rootfs_mount(spec, &fd, err) < 0)
		return -1;
	return fd;
}

/* "/a/b/c" -> parent "/a/b" (or "/"), base "c". -1 when there is no last component ("/"). */
static int split_path(const char *path, char *parent, size_t size, const char **base)
{
	size_t len = strlen(path);
	const char *slash;

	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len + 1 > size)
		return -1;
	memcpy(parent, path, len);
	parent[len] = '\0';
	slash = strrchr(parent, '/');
	if (slash == NULL || slash[1] == '\0')
		return -1;
	*base = path + (slash - parent) + 1;
	parent[slash - parent] = '\0';
	if (parent[0] == '\0')
		memcpy(parent, "/", 2);
	return 0;
}

/* --- COPY_IN: a tar reader ----------------------------------------------------------------------------- */

struct entry {
	char name[PATH_MAX];
	char link[PATH_MAX];
	char type;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	unsigned long long size;
	long long mtime;
	unsigned major, minor;
};

static unsigned long long parse_number(const unsigned char *field, size_t len)
{
	unsigned long long value = 0;

	/* GNU base-256 for values that do not fit in octal. */
	if (field[0] & 0x80) {
		value = field[0] & 0x3f;
		for (size_t i = 1; i < len; i++)
			value = value << 8 | field[i];
		return value;
	}
	for (size_t i = 0; i < len && (field[i] == ' ' || (field[i] >= '0' && field[i] <= '7')); i++)
		if (field[i] != ' ')
			value = value * 8 + (unsigned)(field[i] - '0');
	return value;
}

static int read_block(unsigned char *block)
{
	ssize_t n = hc_read_full(0, block, BLOCK);

	if (n < 0)
		return -1;
	if (n != BLOCK) {
		errno = EPIPE;
		return -1;
	}
	return 0;
}

/* The data of a GNU long name or link ('L', 'K'), NUL-terminated. */
static int read_long_text(unsigned long long size, char *out, size_t out_size)
{
	unsigned char block[BLOCK];
	unsigned long long done = 0;

	/* Not size + 1 > out_size: a base-256 size of 2^64 - 1 wraps that to 0 and the copy runs past out. */
	if (size >= out_size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	while (done < size) {
		size_t take = size - done < BLOCK ? (size_t)(size - done) : BLOCK;

		if (read_block(block) < 0)
			return -1;
		memcpy(out + done, block, take);
		done += take;
	}
	out[size] = '\0';
	return 0;
}

static int skip_data(unsigned long long size)
{
	unsigned char block[BLOCK];

	for (unsigned long long blocks = size / BLOCK + (size % BLOCK != 0); blocks > 0; blocks--)
		if (read_block(block) < 0)
			return -1;
	return 0;
}

/* A pax header ('x'): path and linkpath override the entry's own. Each record is "LEN key=value\n" with LEN
 * counting the whole record; one that ends before its key, past the header's data or without its newline is
 * refused (EINVAL), as GNU tar does: a LEN of 1 once sent memchr() past the end of the text. */
static int read_pax(unsigned long long size, struct entry *next, bool *has_name, bool *has_link)
{
	static char text[65536];
	char *p, *end;

	if (read_long_text(size, text, sizeof(text)) < 0)
		return -1;
	for (p = text, end = text + size; p < end;) {
		char *space = memchr(p, ' ', (size_t)(end - p));
		unsigned long len = strtoul(p, NULL, 10);
		char *key, *value, *record_end;

		if (space == NULL || len <= (size_t)(space - p) + 1 || len > (size_t)(end - p) || p[len - 1] != '\n') {
			errno = EINVAL;
			return -1;
		}
		record_end = p + len;
		key = space + 1;
		value = memchr(key, '=', (size_t)(record_end - 1 - key));
		if (value != NULL) {
			size_t value_len = (size_t)(record_end - 1 - (value + 1));

			*value++ = '\0';
			if (strcmp(key, "path") == 0 && value_len < sizeof(next->name)) {
				memcpy(next->name, value, value_len);
				next->name[value_len] = '\0';
				*has_name = true;
			} else if (strcmp(key, "linkpath") == 0 && value_len < sizeof(next->link)) {
				memcpy(next->link, value, value_len);
				next->link[value_len] = '\0';
				*has_link = true;
			}
		}
		p = record_end;
	}
	return 0;
}

/* Relative, without "." components, never "..": the name as it will be created below the directory. The
 * first component becomes `rename` when given. Empty when nothing is left (the archive's "./"). */
static int clean_name(char *name, const char *rename)
{
	char out[PATH_MAX];
	size_t len = 0;
	bool first = true;

	/* A name of only "/" and "." parts (the archive's top, "./") cleans to "": without this, the copy below
	 * took out[0] from whatever an earlier call left on the stack, and an entry ".x" then "/." became "..".
	 * fuzz-tar found it (test/helper/fuzz-crashes/tar-dot-after-dotname.tar). */
	out[0] = '\0';
	for (char *part = strtok(name, "/"); part != NULL; part = strtok(NULL, "/")) {
		const char *use = part;

		if (strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0) {
			errno = EINVAL;
			return -1;
		}
		if (first && rename != NULL)
			use = rename;
		first = false;
		if (len + strlen(use) + 2 > sizeof(out)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		len += hc_format(out + len, sizeof(out) - len, "%s%s", len > 0 ? "/" : "", use);
	}
	memcpy(name, out, len + 1);
	return 0;
}

static int write_file(const struct entry *e)
{
	unsigned char block[BLOCK];
	unsigned long long left = e->size;
	hc_cleanup_close int fd = -1;

	/* An entry of another type there is replaced; O_NOFOLLOW: a symlink at the name is never written
	 * through (it was just removed; one that appears meanwhile makes this fail). */
	unlink(e->name);
	fd = open(e->name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (left > 0) {
		size_t take = left < BLOCK ? (size_t)left : BLOCK;

		if (read_block(block) < 0 || hc_write_all(fd, block, take) < 0)
			return -1;
		left -= take;
	}
	return 0;
}

static int make_entry(const shim_v1_Spec *spec, struct entry *e, struct hc_error *err)
{
	const shim_v1_DockerCopy *copy = &spec->copy;
	uid_t uid = copy->keep_owners ? e->uid : copy->uid;
	gid_t gid = copy->keep_owners ? e->gid : copy->gid;
	struct timespec times[2] = { { e->mtime, 0 }, { e->mtime, 0 } };
	struct stat st;

	switch (e->type) {
	case '0':
	case '\0':
	case '7':
		if (write_file(e) < 0)
			return hc_fail(err, COPY, errno, e->name, "copy: write file");
		break;
	case '5':
		if (mkdir(e->name, 0700) < 0 && !(errno == EEXIST && lstat(e->name, &st) == 0 && S_ISDIR(st.st_mode)))
			return hc_fail(err, COPY, errno, e->name, "copy: make directory");
		break;
	case '2':
		unlink(e->name);
		if (symlink(e->link, e->name) < 0)
			return hc_fail(err, COPY, errno, e->name, "copy: make symlink");
		break;
	case '1': {
		char target[PATH_MAX];

		memcpy(target, e->link, sizeof(target));
		if (clean_name(target, NULL) < 0)
			return hc_fail(err, COPY, errno, e->link, "copy: hard link target");
		unlink(e->name);
		if (link(target, e->name) < 0)
			return hc_fail(err, COPY, errno, e->name, "copy: make hard link");
		return skip_data(e->size) < 0 ? hc_fail(err, COPY, errno, e->name, "copy: read archive") : 0;
	}
	case '3':
	case '4':
	case '6':
		unlink(e->name);
		if (mknod(e->name, (e->type == '3' ? S_IFCHR : e->type == '4' ? S_IFBLK : S_IFIFO) | 0600,
			  makedev(e->major, e->minor)) < 0)
			return hc_fail(err, COPY, errno, e->name, "copy: make node");
		break;
	default:
		/* Unknown kinds are skipped, as tar does. */
		return skip_data(e->size) < 0 ? hc_fail(err, COPY, errno, e->name, "copy: read archive") : 0;
	}
	if (fchownat(AT_FDCWD, e->name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return hc_fail(err, COPY, errno, e->name, "copy: chown");
	/* After chown, which clears the set-id bits; symlinks have no mode of their own. */
	if (e->type != '2' && fchmodat(AT_FDCWD, e->name, e->mode & 07777, 0) < 0)
		return hc_fail(err, COPY, errno, e->name, "copy: chmod");
	utimensat(AT_FDCWD, e->name, times, AT_SYMLINK_NOFOLLOW);
	return 0;
}

/* The archive's entry being unpacked. */
static struct entry current;

/* The next entry's header into `current`, after the GNU long-name and pax headers that come before it: 1, or 0 at the
 * archive's end. The entry's data, if any, is still to be read. Apart from the data this is everything of
 * the archive the helper parses (helper-c/fuzz/fuzz-tar.c feeds it hostile archives). */
static int read_header(const char *rename, struct hc_error *err)
{
	unsigned char block[BLOCK];
	bool has_name = false, has_link = false;

	for (;;) {
		bool zero = true;

		if (read_block(block) < 0)
			return hc_fail(err, COPY, errno, NULL, "copy: read archive");
		for (size_t i = 0; i < BLOCK && zero; i++)
			zero = block[i] == 0;
		if (zero)
			return 0;
		current.type = (char)block[156];
		current.size = parse_number(block + 124, 12);
		if (current.type == 'L' || current.type == 'K') {
			if (read_long_text(current.size, current.type == 'L' ? current.name : current.link, PATH_MAX) < 0)
				return hc_fail(err, COPY, errno, NULL, "copy: read a long name");
			*(current.type == 'L' ? &has_name : &has_link) = true;
			continue;
		}
		if (current.type == 'x') {
			if (read_pax(current.size, &current, &has_name, &has_link) < 0)
				return hc_fail(err, COPY, errno, NULL, "copy: read a pax header");
			continue;
		}
		if (current.type == 'g') {
			if (skip_data(current.size) < 0)
				return hc_fail(err, COPY, errno, NULL, "copy: read archive");
			continue;
		}
		if (!has_name) {
			/* ustar: prefix "/" name. */
			char prefix[156] = { 0 }, name[101] = { 0 };

			memcpy(prefix, block + 345, 155);
			memcpy(name, block, 100);
			hc_format(current.name, sizeof(current.name), "%s%s%s", prefix, prefix[0] ? "/" : "", name);
		}
		if (!has_link) {
			memcpy(current.link, block + 157, 100);
			current.link[100] = '\0';
		}
		current.mode = (mode_t)parse_number(block + 100, 8);
		current.uid = (uid_t)parse_number(block + 108, 8);
		current.gid = (gid_t)parse_number(block + 116, 8);
		current.mtime = (long long)parse_number(block + 136, 12);
		current.major = (unsigned)parse_number(block + 329, 8);
		current.minor = (unsigned)parse_number(block + 337, 8);
		if (clean_name(current.name, rename) < 0)
			return hc_fail(err, COPY, errno, current.name, "copy: refused name in the archive");
		return 1;
	}
}

static int unpack(const shim_v1_Spec *spec, const char *rename, struct hc_error *err)
{
	int ret;

	while ((ret = read_header(rename, err)) > 0) {
		if (current.name[0] == '\0') {
			if (skip_data(current.type == '5' ? 0 : current.size) < 0)
				return hc_fail(err, COPY, errno, NULL, "copy: read archive");
			continue;
		}
		/* A regular file's data, padding included, is read by write_file. */
		if (make_entry(spec, &current, err) < 0)
			return -1;
	}
	return ret;
}

static int copy_in(const shim_v1_Spec *spec, struct hc_error *err)
{
	char parent[PATH_MAX];
	const char *base = NULL;
	const char *rename = NULL;
	hc_cleanup_close int rootfd = -1;
	hc_cleanup_close int dirfd = -1;

	rootfd = open_root(spec, err);
	if (rootfd < 0)
		return -1;
	dirfd = hc_open_in_root(rootfd, spec->copy.container_path, O_RDONLY | O_DIRECTORY);
	if (dirfd < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			return hc_fail(err, COPY, errno, spec->copy.container_path, "copy: open in the container");
		/* Not a directory: its parent gets the archive, whose top entry takes this name. */
		if (split_path(spec->copy.container_path, parent, sizeof(parent), &base) < 0)
			return hc_fail(err, COPY, EINVAL, spec->copy.container_path, "copy: destination");
		dirfd = hc_open_in_root(rootfd, parent, O_RDONLY | O_DIRECTORY);
		if (dirfd < 0)
			return hc_fail(err, COPY, errno, parent, "copy: open the destination's directory in the container");
		rename = base;
	}
	/* From here the container's root is ours: nothing below can name a host path. */
	if (fchdir(rootfd) < 0 || chroot(".") < 0)
		return hc_fail(err, COPY, errno, NULL, "copy: chroot into the container's root");
	if (fchdir(dirfd) < 0)
		return hc_fail(err, COPY, errno, spec->copy.container_path, "copy: chdir");
	umask(0);
	return unpack(spec, rename, err);
}

static int copy_out(const shim_v1_Spec *spec, struct hc_error *err)
{
	char parent[PATH_MAX];
	const char *base = NULL;
	hc_cleanup_close int rootfd = -1;
	hc_cleanup_close int dirfd = -1;

	rootfd = open_root(spec, err);
	if (rootfd < 0)
		return -1;
	if (split_path(spec->copy.container_path, parent, sizeof(parent), &base) < 0)
		return hc_fail(err, COPY, EINVAL, spec->copy.container_path, "copy: source");
	dirfd = hc_open_in_root(rootfd, parent, O_RDONLY | O_DIRECTORY);
	if (dirfd < 0)
		return hc_fail(err, COPY, errno, parent, "copy: open the source's directory in the container");
	if (fchdir(dirfd) < 0)
		return hc_fail(err, COPY, errno, parent, "copy: chdir");
	/* The last component is named here, not resolved: tar archives a symlink as a link. */
	if (faccessat(dirfd, base, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return hc_fail(err, COPY, errno, spec->copy.container_path, "copy: source");
	hc_report_close();
	execv(spec->process.args[0], spec->process.args);
	return hc_fail(err, COPY, errno, spec->process.args[0], "copy: exec");
}

int hc_action_copy(const shim_v1_Spec *spec)
{
	struct hc_error err;
	int ret = spec->action == shim_v1_Action_ACTION_COPY_IN ? copy_in(spec, &err) : copy_out(spec, &err);

	if (ret < 0) {
		hc_report_error(&err);
		return hc_error_exit_code(&err);
	}
	return 0;
}
