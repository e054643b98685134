#define _GNU_SOURCE
#include "namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spec.h"
#include "util.h"

#define NS_TYPE(name) shim_v1_NamespaceType_NAMESPACE_TYPE_##name

static const struct {
	const char *proc_name;
	int clone_flag;
} ns_info[] = {
	[NS_TYPE(UNSPECIFIED)] = { NULL, 0 },
	[NS_TYPE(MOUNT)] = { "mnt", CLONE_NEWNS },
	[NS_TYPE(PID)] = { "pid", CLONE_NEWPID },
	[NS_TYPE(UTS)] = { "uts", CLONE_NEWUTS },
	[NS_TYPE(IPC)] = { "ipc", CLONE_NEWIPC },
	[NS_TYPE(NET)] = { "net", CLONE_NEWNET },
	[NS_TYPE(CGROUP)] = { "cgroup", CLONE_NEWCGROUP },
	[NS_TYPE(USER)] = { "user", CLONE_NEWUSER },
	[NS_TYPE(TIME)] = { "time", CLONE_NEWTIME },
};

/* The user namespace comes first: once inside it we hold the capabilities over the namespaces it owns
 * that the other setns() calls check. Mount comes last: it resets our root and cwd, and nothing after
 * it should depend on either. Pid is not here: see hc_ns_join_pid_for_children(). */
static const shim_v1_NamespaceType join_order[] = {
	NS_TYPE(USER), NS_TYPE(IPC), NS_TYPE(UTS), NS_TYPE(NET), NS_TYPE(CGROUP), NS_TYPE(TIME), NS_TYPE(MOUNT),
};

void hc_ns_set_init(struct hc_ns_set *set)
{
	for (size_t i = 0; i < HC_ARRAY_SIZE(set->fd); i++)
		set->fd[i] = -1;
}

void hc_ns_set_close(struct hc_ns_set *set)
{
	for (size_t i = 0; i < HC_ARRAY_SIZE(set->fd); i++)
		hc_close_fdp(&set->fd[i]);
}

int hc_ns_open_paths(const shim_v1_Spec *spec, struct hc_ns_set *set, struct hc_error *err)
{
	for (pb_size_t i = 0; i < spec->namespaces_count; i++) {
		const shim_v1_Namespace *ns = &spec->namespaces[i];

		if (!hc_has(ns->path))
			continue;
		set->fd[ns->type] = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (set->fd[ns->type] < 0)
			return hc_fail(err, shim_v1_Stage_STAGE_OPEN_NAMESPACES, errno, ns->path, "open %s namespace",
				       ns_info[ns->type].proc_name);
	}
	return 0;
}

int hc_ns_open_target(pid_t pid, struct hc_ns_set *set, struct hc_error *err)
{
	for (int type = NS_TYPE(MOUNT); type <= NS_TYPE(TIME); type++) {
		char path[64];
		struct stat theirs, ours;
		int fd;

		hc_format(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_info[type].proc_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			/* A kernel without time namespaces has no such file, and then nothing to join. */
			if (errno == ENOENT && type == NS_TYPE(TIME))
				continue;
			return hc_fail(err, shim_v1_Stage_STAGE_OPEN_NAMESPACES, errno, path, "open %s namespace",
				       ns_info[type].proc_name);
		}
		set->fd[type] = fd;
		hc_format(path, sizeof(path), "/proc/self/ns/%s", ns_info[type].proc_name);
		if (fstat(fd, &theirs) < 0 || stat(path, &ours) < 0)
			return hc_fail(err, shim_v1_Stage_STAGE_OPEN_NAMESPACES, errno, path, "stat %s namespace",
				       ns_info[type].proc_name);
		/* Joining a namespace we are already in is at best a no-op, and for the user namespace an
		 * error (EINVAL), so only the ones that differ are kept. */
		if (theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev)
			hc_close_fdp(&set->fd[type]);
	}
	return 0;
}

int hc_ns_join_pid_for_children(struct hc_ns_set *set, struct hc_error *err)
{
	int *fd = &set->fd[NS_TYPE(PID)];

	if (*fd < 0)
		return 0;
	if (setns(*fd, CLONE_NEWPID) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_JOIN_NAMESPACES, errno, NULL, "join pid namespace");
	hc_close_fdp(fd);
	return 0;
}

int hc_ns_become_root(struct hc_error *err)
{
	const shim_v1_Stage stage = shim_v1_Stage_STAGE_USER_MAPPING;

	/* Groups first: after setresuid() we would no longer hold CAP_SETGID over anything. The host's
	 * supplementary groups are unmapped here; a namespace with setgroups denied keeps them (EPERM). */
	if (syscall(SYS_setresgid, 0, 0, 0) < 0)
		return hc_fail(err, stage, errno, NULL, "become the user namespace's root: setresgid 0 (is gid 0 mapped?)");
	if (syscall(SYS_setgroups, 0, NULL) < 0 && errno != EPERM)
		return hc_fail(err, stage, errno, NULL, "become the user namespace's root: setgroups");
	if (syscall(SYS_setresuid, 0, 0, 0) < 0)
		return hc_fail(err, stage, errno, NULL, "become the user namespace's root: setresuid 0 (is uid 0 mapped?)");
	return 0;
}

int hc_ns_join(struct hc_ns_set *set, struct hc_error *err)
{
	for (size_t i = 0; i < HC_ARRAY_SIZE(join_order); i++) {
		shim_v1_NamespaceType type = join_order[i];

		if (set->fd[type] < 0)
			continue;
		if (setns(set->fd[type], ns_info[type].clone_flag) < 0)
			return hc_fail(err, shim_v1_Stage_STAGE_JOIN_NAMESPACES, errno, NULL, "join %s namespace",
				       ns_info[type].proc_name);
		hc_close_fdp(&set->fd[type]);
		/* setns() gives us every capability in the user namespace but keeps our ids, which it does not
		 * map: files we made would belong to nobody. Become its root before anything else is made. */
		if (type == NS_TYPE(USER) && hc_ns_become_root(err) < 0)
			return -1;
	}
	return 0;
}

static bool is_new(const shim_v1_Spec *spec, shim_v1_NamespaceType type)
{
	const shim_v1_Namespace *ns = hc_spec_namespace(spec, type);

	return ns != NULL && !hc_has(ns->path);
}

unsigned long hc_ns_clone_flags(const shim_v1_Spec *spec)
{
	unsigned long flags = 0;

	if (is_new(spec, NS_TYPE(PID)))
		flags |= CLONE_NEWPID;
	if (is_new(spec, NS_TYPE(USER)))
		flags |= CLONE_NEWUSER;
	return flags;
}

/* linux.timeOffsets: the kernel takes them only while no process is in the new time namespace, which we
 * enter at execve (runc's parent writes the same text at the same point). */
static int write_time_offsets(const char *offsets, struct hc_error *err)
{
	if (hc_write_file("/proc/self/timens_offsets", offsets, strlen(offsets)) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_TIME_OFFSETS, errno, "/proc/self/timens_offsets",
			       "write timens_offsets");
	return 0;
}

int hc_ns_unshare(const shim_v1_Spec *spec, struct hc_error *err)
{
	static const shim_v1_NamespaceType types[] = {
		NS_TYPE(MOUNT), NS_TYPE(UTS), NS_TYPE(IPC), NS_TYPE(NET), NS_TYPE(CGROUP), NS_TYPE(TIME),
	};
	int flags = 0;

	for (size_t i = 0; i < HC_ARRAY_SIZE(types); i++)
		if (is_new(spec, types[i]))
			flags |= ns_info[types[i]].clone_flag;
	if (flags == 0)
		return 0;
	/* One call for all of them. This runs after the joins, so each new namespace is owned by the user
	 * namespace the container lives in; and after the monitor has placed us in the container's
	 * cgroups, so a new cgroup namespace is rooted at the container's cgroup. A new time namespace
	 * takes effect for us at execve(), with zero offsets. */
	if (unshare(flags) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_UNSHARE, errno, NULL, "unshare namespaces (flags 0x%x)",
			       (unsigned)flags);
	if ((flags & CLONE_NEWTIME) && hc_has(spec->time_offsets))
		return write_time_offsets(spec->time_offsets, err);
	return 0;
}

static int write_map(pid_t pid, const char *file, const shim_v1_IdMapping *maps, pb_size_t count,
		     struct hc_error *err)
{
	char path[64];
	char buf[4096];
	size_t len = 0;

	hc_format(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	for (pb_size_t i = 0; i < count; i++) {
		len += hc_format(buf + len, sizeof(buf) - len, "%u %u %u\n", maps[i].container_id, maps[i].host_id,
				 maps[i].size);
		if (len + 1 >= sizeof(buf))
			return hc_fail(err, shim_v1_Stage_STAGE_USER_MAPPING, E2BIG, path, "write %s: too many lines",
				       file);
	}
	/* The kernel takes the whole map in one write() and refuses a second. */
	if (hc_write_file(path, buf, len) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_USER_MAPPING, errno, path, "write %s", file);
	return 0;
}

int hc_ns_write_maps(pid_t pid, const shim_v1_IdMapping *uids, pb_size_t uid_count, const shim_v1_IdMapping *gids,
		     pb_size_t gid_count, struct hc_error *err)
{
	if (write_map(pid, "uid_map", uids, uid_count, err) < 0)
		return -1;
	return write_map(pid, "gid_map", gids, gid_count, err);
}

int hc_ns_write_id_maps(const shim_v1_Spec *spec, pid_t pid, struct hc_error *err)
{
	/* A helper without CAP_SETGID over the parent namespace may write gid_map only after denying
	 * setgroups. A privileged one leaves it allowed, so a container's root can still set its groups. */
	if (geteuid() != 0) {
		char path[64];

		hc_format(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
		if (hc_write_file(path, "deny", 4) < 0)
			return hc_fail(err, shim_v1_Stage_STAGE_USER_MAPPING, errno, path, "write setgroups");
	}
	return hc_ns_write_maps(pid, spec->uid_mappings, spec->uid_mappings_count, spec->gid_mappings,
				spec->gid_mappings_count, err);
}
