#define _GNU_SOURCE
#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel.h"
#include "monitor.h"
#include "namespaces.h"
#include "report.h"
#include "rootfs.h"
#include "spec.h"
#include "sync.h"
#include "util.h"

#define IDMAP shim_v1_Stage_STAGE_IDMAP

/* --- monitor side ---------------------------------------------------------------------------------- */

static bool same_maps(const shim_v1_IdMapping *a, pb_size_t a_count, const shim_v1_IdMapping *b, pb_size_t b_count)
{
	if (a_count != b_count)
		return false;
	for (pb_size_t i = 0; i < a_count; i++)
		if (a[i].container_id != b[i].container_id || a[i].host_id != b[i].host_id || a[i].size != b[i].size)
			return false;
	return true;
}

/* A user namespace holding these maps, for a mount whose maps differ from the container's: a child is born
 * in a new one, we write its maps, open its /proc/PID/ns/user and let it go (the descriptor keeps the
 * namespace). The child only waits for EOF on a pipe. */
static int make_userns(const shim_v1_IdMapping *uids, pb_size_t uid_count, const shim_v1_IdMapping *gids,
		       pb_size_t gid_count, struct hc_error *err)
{
	int pipefd[2];
	char path[64];
	pid_t pid;
	int fd = -1;
	int saved;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return hc_fail(err, IDMAP, errno, NULL, "mapping user namespace: pipe");
	pid = hc_clone(CLONE_NEWUSER);
	if (pid < 0) {
		saved = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return hc_fail(err, IDMAP, saved, NULL, "mapping user namespace: clone");
	}
	if (pid == 0) {
		char byte;

		close(pipefd[1]);
		while (read(pipefd[0], &byte, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(pipefd[0]);
	if (hc_ns_write_maps(pid, uids, uid_count, gids, gid_count, err) == 0) {
		hc_format(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			hc_fail(err, IDMAP, errno, path, "mapping user namespace: open");
	}
	close(pipefd[1]);
	hc_monitor_reap(pid);
	return fd;
}

/* A detached copy of the mount at path, idmapped with userns_fd. */
static int make_idmapped(const char *path, int userns_fd, bool recursive, struct hc_error *err)
{
	struct hc_mount_attr attr = { .attr_set = HC_MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };
	unsigned int tree_flags = HC_OPEN_TREE_CLONE | HC_OPEN_TREE_CLOEXEC | (recursive ? HC_AT_RECURSIVE : 0);
	hc_cleanup_close int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path, tree_flags);

	if (fd < 0)
		return hc_fail(err, IDMAP, errno, path, "idmapped mount: open_tree");
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? HC_AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0) {
		/* EINVAL: the filesystem (or a mount below, with ridmap) cannot be idmapped, or the mount is not
		 * a detached one we made. Say which, in one line. */
		if (errno == EINVAL)
			return hc_fail(err, IDMAP, errno, path,
				       "idmapped mount: the filesystem does not support idmapped mounts (mount_setattr)");
		return hc_fail(err, IDMAP, errno, path, "idmapped mount: mount_setattr");
	}
	return hc_steal_fd(&fd);
}

static int send_idmapped(int sync_fd, const char *path, int userns_fd, bool recursive, struct hc_error *err)
{
	hc_cleanup_close int fd = make_idmapped(path, userns_fd, recursive, err);

	if (fd < 0)
		return -1;
	return hc_sync_send_fd(sync_fd, HC_SYNC_MOUNT_FD, fd, IDMAP, err);
}

static int attach_idmapped(const char *path, int userns_fd, struct hc_error *err)
{
	hc_cleanup_close int fd = make_idmapped(path, userns_fd, false, err);

	if (fd < 0)
		return -1;
	if (syscall(SYS_move_mount, fd, "", AT_FDCWD, path, HC_MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return hc_fail(err, IDMAP, errno, path, "idmapped mount: attach");
	return 0;
}

static int parent_dir(const char *path, char *out, size_t size);

static bool is_below(const char *path, const char *dir)
{
	size_t len = strlen(dir);

	return strncmp(path, dir, len) == 0 && path[len] == '/';
}

static int fs_set(int fsfd, const char *key, const char *value)
{
	return (int)syscall(SYS_fsconfig, fsfd, HC_FSCONFIG_SET_STRING, key, value, 0);
}

/* The host uid (or gid) the container's root has; overlayfs does its own work in upper and work dir with the
 * credentials of whoever made it, and ours (the host's root) are unmapped by the idmapped upper layer. */
static int host_root_id(const shim_v1_IdMapping *maps, pb_size_t count, uint32_t *id)
{
	for (pb_size_t i = 0; i < count; i++)
		if (maps[i].container_id == 0) {
			*id = maps[i].host_id;
			return 0;
		}
	return -1;
}

/* Rootfs.idmap_layers: the overlay itself is made here, with the host's privileges (see rootfs.c), over
 * idmapped layers. overlayfs takes no detached layer (it cannot clone one), so each is attached over itself
 * in the container's mount namespace, which is private by now (nothing propagates to the host) and which
 * the init leaves at pivot_root. Upper and work dir must be on one mount: their common parent is idmapped,
 * first, so lower dirs below it (the init layer) are covered by it and not mapped twice. Sent: the
 * overlay (detached), then its mount point. */
static int send_overlay(const shim_v1_Spec *spec, int userns_fd, int sync_fd, struct hc_error *err)
{
	const shim_v1_Rootfs *rootfs = &spec->rootfs;
	hc_cleanup_close int fsfd = -1;
	hc_cleanup_close int mfd = -1;
	hc_cleanup_close int target = -1;
	char parent[4096] = "";
	uint32_t root_uid, root_gid;

	if (host_root_id(spec->uid_mappings, spec->uid_mappings_count, &root_uid) < 0 ||
	    host_root_id(spec->gid_mappings, spec->gid_mappings_count, &root_gid) < 0)
		return hc_fail(err, IDMAP, EINVAL, NULL, "idmapped layers: the maps leave the container's root out");
	if (hc_has(rootfs->upper_dir)) {
		if (parent_dir(rootfs->upper_dir, parent, sizeof(parent)) < 0)
			return hc_fail(err, IDMAP, EINVAL, rootfs->upper_dir, "idmapped layers: upper dir has no parent");
		if (attach_idmapped(parent, userns_fd, err) < 0)
			return -1;
	}
	for (pb_size_t i = 0; i < rootfs->lower_dirs_count; i++)
		if (!(parent[0] != '\0' && is_below(rootfs->lower_dirs[i], parent)) &&
		    attach_idmapped(rootfs->lower_dirs[i], userns_fd, err) < 0)
			return -1;
	target = open(rootfs->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (target < 0)
		return hc_fail(err, IDMAP, errno, rootfs->path, "open rootfs mount point");

	fsfd = (int)syscall(SYS_fsopen, "overlay", HC_FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return hc_fail(err, IDMAP, errno, rootfs->path, "idmapped overlay: fsopen");
	for (pb_size_t i = 0; i < rootfs->lower_dirs_count; i++)
		if (fs_set(fsfd, "lowerdir+", rootfs->lower_dirs[i]) < 0)
			return hc_fs_fail(fsfd, err, rootfs->lower_dirs[i], "idmapped lowerdir+");
	if (hc_has(rootfs->upper_dir)) {
		if (fs_set(fsfd, "upperdir", rootfs->upper_dir) < 0)
			return hc_fs_fail(fsfd, err, rootfs->upper_dir, "idmapped upperdir");
		if (fs_set(fsfd, "workdir", rootfs->work_dir) < 0)
			return hc_fs_fail(fsfd, err, rootfs->work_dir, "idmapped workdir");
	}
	/* overlayfs keeps the credentials it is made with: the container's root's ids (mapped by the upper
	 * layer), with our capabilities kept (no setuid fix-up), so that its own work dir is writable. This
	 * process exits right after. */
	if (prctl(PR_SET_SECUREBITS, HC_SECBIT_NO_SETUID_FIXUP, 0, 0, 0) < 0)
		return hc_fail(err, IDMAP, errno, NULL, "idmapped overlay: keep capabilities");
	syscall(SYS_setfsgid, root_gid);
	syscall(SYS_setfsuid, root_uid);
	if (syscall(SYS_fsconfig, fsfd, HC_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return hc_fs_fail(fsfd, err, rootfs->path, "create");
	mfd = (int)syscall(SYS_fsmount, fsfd, HC_FSMOUNT_CLOEXEC, 0);
	if (mfd < 0)
		return hc_fs_fail(fsfd, err, rootfs->path, "fsmount");
	if (hc_sync_send_fd(sync_fd, HC_SYNC_MOUNT_FD, mfd, IDMAP, err) < 0)
		return -1;
	return hc_sync_send_fd(sync_fd, HC_SYNC_MOUNT_FD, target, IDMAP, err);
}

static int parent_dir(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash == NULL ? 0 : (size_t)(slash - path);

	if (len == 0 || len >= size)
		return -1;
	memcpy(out, path, len);
	out[len] = '\0';
	return 0;
}

bool hc_idmap_rootfs_by_fd(const shim_v1_Spec *spec)
{
	return spec->rootfs.lower_dirs_count == 0 &&
	       hc_spec_namespace(spec, shim_v1_NamespaceType_NAMESPACE_TYPE_USER) != NULL;
}

bool hc_idmap_needed(const shim_v1_Spec *spec)
{
	if (spec->rootfs.idmap_layers && spec->rootfs.lower_dirs_count > 0)
		return true;
	if (hc_idmap_rootfs_by_fd(spec))
		return true;
	for (pb_size_t i = 0; i < spec->mounts_count; i++)
		if (spec->mounts[i].uid_mappings_count > 0)
			return true;
	return false;
}

static int send_all(const shim_v1_Spec *spec, pid_t pid, int sync_fd, bool new_userns, struct hc_error *err)
{
	const shim_v1_Rootfs *rootfs = &spec->rootfs;
	hc_cleanup_close int container_userns = -1;
	char path[64];

	if (new_userns) {
		hc_format(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		container_userns = open(path, O_RDONLY | O_CLOEXEC);
		if (container_userns < 0)
			return hc_fail(err, IDMAP, errno, path, "open the container's user namespace");
	}
	/* The order here is the order the init takes them in: the layers (rootfs.c), then the mounts
	 * (mounts.c). */
	/* A bundle's rootfs in a user namespace: its path may run through directories the container's root may
	 * not search (a 0700 state or temporary dir of the caller's). Opened here, in the init's mount
	 * namespace with the host's rights; the init binds it from the descriptor (rootfs.c). */
	if (hc_idmap_rootfs_by_fd(spec)) {
		hc_cleanup_close int dir = open(rootfs->path, O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (dir < 0)
			return hc_fail(err, shim_v1_Stage_STAGE_ROOTFS, errno, rootfs->path, "open rootfs");
		if (hc_sync_send_fd(sync_fd, HC_SYNC_MOUNT_FD, dir, IDMAP, err) < 0)
			return -1;
	}
	if (rootfs->idmap_layers && rootfs->lower_dirs_count > 0) {
		if (container_userns < 0)
			return hc_fail(err, IDMAP, EINVAL, NULL, "idmapped layers need a new user namespace");
		if (send_overlay(spec, container_userns, sync_fd, err) < 0)
			return -1;
	}
	for (pb_size_t i = 0; i < spec->mounts_count; i++) {
		const shim_v1_Mount *m = &spec->mounts[i];
		hc_cleanup_close int own_userns = -1;
		int userns_fd = container_userns;

		if (m->uid_mappings_count == 0)
			continue;
		if (container_userns < 0 || !same_maps(m->uid_mappings, m->uid_mappings_count, spec->uid_mappings,
						       spec->uid_mappings_count) ||
		    !same_maps(m->gid_mappings, m->gid_mappings_count, spec->gid_mappings, spec->gid_mappings_count)) {
			own_userns = make_userns(m->uid_mappings, m->uid_mappings_count, m->gid_mappings,
						 m->gid_mappings_count, err);
			if (own_userns < 0)
				return -1;
			userns_fd = own_userns;
		}
		if (send_idmapped(sync_fd, m->source, userns_fd, m->idmap_recursive, err) < 0)
			return -1;
	}
	return 0;
}

/* In a process of its own: setns() into the container's mount namespace must not move the monitor, which
 * still writes host paths (the exit status file) later. */
int hc_idmap_serve(const shim_v1_Spec *spec, pid_t pid, int sync_fd, struct hc_error *err)
{
	bool new_userns = (hc_ns_clone_flags(spec) & CLONE_NEWUSER) != 0;
	pid_t worker;
	int status;

	hc_report_stage(IDMAP);
	worker = hc_clone(0);
	if (worker < 0)
		return hc_fail(err, IDMAP, errno, NULL, "idmapped mounts: clone");
	if (worker == 0) {
		struct hc_error own;
		char path[64];
		hc_cleanup_close int mntns = -1;

		prctl(PR_SET_NAME, "shim:[0:IDMAP]", 0, 0, 0);
		hc_format(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
		mntns = open(path, O_RDONLY | O_CLOEXEC);
		if (mntns < 0) {
			hc_fail(&own, IDMAP, errno, path, "idmapped mounts: open the container's mount namespace");
		} else if (setns(mntns, CLONE_NEWNS) < 0) {
			hc_fail(&own, IDMAP, errno, path, "idmapped mounts: join the container's mount namespace");
		} else if (send_all(spec, pid, sync_fd, new_userns, &own) == 0) {
			_exit(0);
		}
		hc_report_error(&own);
		_exit(hc_error_exit_code(&own));
	}
	while (waitpid(worker, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		return WEXITSTATUS(status);
	if (!WIFEXITED(status))
		return hc_fail(err, IDMAP, 0, NULL, "idmapped mounts: worker killed by signal %d", WTERMSIG(status));
	/* Sync step 2b (monitor): every mount is sent; the init goes on. */
	if (hc_sync_send(sync_fd, HC_SYNC_ACK, 0, IDMAP, err) < 0)
		return -1;
	return 0;
}

/* --- init side --------------------------------------------------------------------------------------- */

/* The descriptors received, in order, and how many of them are taken. */
static int *received;
static size_t received_count;
static size_t taken_count;

int hc_idmap_request(int sync_fd, struct hc_error *err)
{
	/* Sync step 2a (init): ask; the monitor's worker, in our mount namespace, sends each mount. */
	if (hc_sync_send(sync_fd, HC_SYNC_IDMAP, 0, IDMAP, err) < 0)
		return -1;
	for (;;) {
		struct hc_sync_msg msg;
		int ret = hc_sync_recv(sync_fd, &msg, IDMAP, err);
		int *grown;

		if (ret < 0)
			return -1;
		if (ret == 0)
			return hc_fail(err, IDMAP, EPIPE, NULL, "sync: expected %s, got EOF", hc_sync_name(HC_SYNC_ACK));
		if (msg.type == HC_SYNC_ACK) {
			if (msg.fd >= 0)
				close(msg.fd);
			return 0;
		}
		if (msg.type != HC_SYNC_MOUNT_FD || msg.fd < 0) {
			if (msg.fd >= 0)
				close(msg.fd);
			return hc_fail(err, IDMAP, EPROTO, NULL, "sync: expected %s, got 0x%x",
				       hc_sync_name(HC_SYNC_MOUNT_FD), msg.type);
		}
		grown = realloc(received, (received_count + 1) * sizeof(int));
		if (grown == NULL) {
			close(msg.fd);
			return hc_fail(err, IDMAP, ENOMEM, NULL, "keep idmapped mount");
		}
		received = grown;
		received[received_count++] = msg.fd;
	}
}

int hc_idmap_take(const char *what, struct hc_error *err)
{
	if (taken_count >= received_count)
		return hc_fail(err, IDMAP, EPROTO, what, "idmapped mount: the monitor sent no mount for it");
	return received[taken_count++];
}
