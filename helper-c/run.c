/* ACTION_RUN_CONTAINER: new namespaces, the rootfs, and the container's init.
 *
 * With a user namespace, the order is what the kernel's ownership rules make it:
 *   monitor                                         init
 *   1. open every namespace path (host paths)
 *   3. clone(CLONE_NEWUSER|CLONE_NEWPID)            born in both, blocked on the sync socket
 *      (joined user ns + new pid ns: an intermediate
 *      joins it and clones with CLONE_PARENT, sync 0)
 *   sync 1: cgroup.procs, uid_map/gid_map, ACK  ->  sync 1: ACK. Only now are the maps in place, so nothing
 *                                                   ran as an unmapped id; become the namespace's root
 *                                                   (setresgid/setresuid 0: our ids were the host's root's)
 *                                                   a. join the other paths (user first), unshare the rest:
 *                                                      each new namespace is owned by the user namespace we
 *                                                      are in, so we hold its capabilities (mount, proc, ...)
 *                                                   b. propagation (private: nothing reaches the host)
 *   sync 2a/2b: IDMAP -> worker in the init's mount namespace, host privileges: idmapped mounts and the
 *               overlay over idmapped layers -> MOUNT_FDs, ACK (idmap.c; only when the spec asks)
 *                                                   c-i. rootfs, mounts, devices (bound from the host: no
 *                                                      mknod here), pivot_root, ...
 *   sync 2: READY, sync 3, sync 4 as without a user namespace (monitor.c, child.c). */
#define _GNU_SOURCE
#include "actions.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attach.h"
#include "child.h"
#include "devices.h"
#include "hooks.h"
#include "idmap.h"
#include "monitor.h"
#include "mounts.h"
#include "namespaces.h"
#include "spec.h"
#include "process.h"
#include "procfs.h"
#include "report.h"
#include "rootfs.h"
#include "sync.h"
#include "terminal.h"
#include "util.h"

static int write_sysctls(const shim_v1_Spec *spec, struct hc_error *err)
{
	for (pb_size_t i = 0; i < spec->sysctls_count; i++) {
		const shim_v1_Sysctl *sysctl = &spec->sysctls[i];
		const char *value = sysctl->value != NULL ? sysctl->value : "";
		char path[512];
		size_t len = hc_format(path, sizeof(path), "/proc/sys/%s", sysctl->key);

		if (len + 1 >= sizeof(path))
			return hc_fail(err, shim_v1_Stage_STAGE_SYSCTL, ENAMETOOLONG, sysctl->key, "sysctl");
		for (char *c = path + strlen("/proc/sys/"); *c != '\0'; c++)
			if (*c == '.')
				*c = '/';
		/* Not by path: through a checked procfs, so that no mount or symlink in the container's /proc can
		 * send the value elsewhere (CVE-2025-52881, procfs.c). */
		if (hc_procfs_write(path + strlen("/proc/"), value, strlen(value)) < 0) {
			int error = errno;
			const char *why = hc_procfs_refusal(error);

			return hc_fail(err, shim_v1_Stage_STAGE_SYSCTL, error, *why ? NULL : path, "write sysctl %s%s",
				       sysctl->key, why);
		}
	}
	return 0;
}

static int set_names(const shim_v1_Spec *spec, struct hc_error *err)
{
	if (hc_has(spec->hostname) && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_HOSTNAME, errno, NULL, "sethostname %s", spec->hostname);
	if (hc_has(spec->domainname) && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_HOSTNAME, errno, NULL, "setdomainname %s", spec->domainname);
	return 0;
}

static int loopback_up(struct hc_error *err)
{
	hc_cleanup_close int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq req;

	if (sock < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_NETWORK, errno, NULL, "loopback: socket");
	memset(&req, 0, sizeof(req));
	memcpy(req.ifr_name, "lo", 3);
	if (ioctl(sock, SIOCGIFFLAGS, &req) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_NETWORK, errno, NULL, "loopback: get flags of lo");
	req.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &req) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_NETWORK, errno, NULL, "loopback: bring lo up");
	return 0;
}

/* Set by the monitor before the clone (join_host_owned_before_userns); the init inherits the copy. */
static bool loopback_done_by_monitor;

/* A namespace joined by path belongs to the user namespace it was made in: the host's, for the network
 * namespace shim makes for CNI. An init in a new user namespace holds no capability over it, so its setns()
 * and its bringing lo up would both fail with EPERM. As runc's nsexec joins the given paths before it unshares
 * the user namespace, the monitor joins the network, ipc and uts namespaces here, still as the host's root,
 * and brings lo up; the init inherits them through clone. The mount namespace is not among them: joined here
 * it would change what our host paths mean. */
static int join_host_owned_before_userns(const shim_v1_Spec *spec, unsigned long clone_flags, struct hc_ns_set *ns,
					 struct hc_error *err)
{
	static const struct { shim_v1_NamespaceType type; int flag; const char *name; } host_owned[] = {
		{ shim_v1_NamespaceType_NAMESPACE_TYPE_NET, CLONE_NEWNET, "net" },
		{ shim_v1_NamespaceType_NAMESPACE_TYPE_IPC, CLONE_NEWIPC, "ipc" },
		{ shim_v1_NamespaceType_NAMESPACE_TYPE_UTS, CLONE_NEWUTS, "uts" },
	};
	const shim_v1_Namespace *net = hc_spec_namespace(spec, shim_v1_NamespaceType_NAMESPACE_TYPE_NET);

	if (!(clone_flags & CLONE_NEWUSER))
		return 0;
	for (size_t i = 0; i < HC_ARRAY_SIZE(host_owned); i++) {
		int *fd = &ns->fd[host_owned[i].type];

		if (*fd < 0)
			continue;
		if (setns(*fd, host_owned[i].flag) < 0)
			return hc_fail(err, shim_v1_Stage_STAGE_JOIN_NAMESPACES, errno, NULL, "join %s namespace",
				       host_owned[i].name);
		hc_close_fdp(fd);
	}
	/* Also when the fd was dropped as "already ours" (a restart of the same container). */
	if (spec->loopback_up && net != NULL && hc_has(net->path)) {
		if (loopback_up(err) < 0)
			return -1;
		loopback_done_by_monitor = true;
	}
	return 0;
}

/* Between the mounts and pivot_root, where runtime-spec puts the create-time hooks (runc's prepareRootfs
 * does the same): every namespace exists and the mounts are made, while the host's paths are still in view.
 *   prestart, createRuntime: in the runtime namespace, so the shim runs them. Sync step H1 (init): HOOKS,
 *     then wait for RESUME; the monitor's steps H2 and H3 (monitor.c) report PAUSED and ask the shim.
 *   createContainer: in the container's mount namespace, so here, in the rootfs directory (as runc),
 *     after the shim's, as the spec orders them. */
static int run_create_hooks(const shim_v1_Spec *spec, int sync_fd, pid_t host_pid, int rootfd,
			    struct hc_error *err)
{
	if (spec->pause_for_hooks) {
		hc_report_stage(shim_v1_Stage_STAGE_HOOKS);
		/* Sync step H1 (init). */
		if (hc_sync_send(sync_fd, HC_SYNC_HOOKS, 0, shim_v1_Stage_STAGE_HOOKS, err) < 0 ||
		    hc_sync_expect(sync_fd, HC_SYNC_RESUME, shim_v1_Stage_STAGE_HOOKS, err) < 0)
			return -1;
	}
	if (spec->create_container_hooks.commands_count > 0) {
		hc_report_stage(shim_v1_Stage_STAGE_CREATE_CONTAINER_HOOKS);
		if (fchdir(rootfd) < 0)
			return hc_fail(err, shim_v1_Stage_STAGE_CREATE_CONTAINER_HOOKS, errno, spec->rootfs.path,
				       "chdir to rootfs");
		if (hc_hooks_run(&spec->create_container_hooks, shim_v1_Stage_STAGE_CREATE_CONTAINER_HOOKS, host_pid,
				 err) < 0)
			return -1;
	}
	return 0;
}

/* Steps a to i, in the container's init; each failure reported by the caller. */
static int build_container(const shim_v1_Spec *spec, struct hc_ns_set *ns, int sync_fd, pid_t host_pid,
			   struct hc_error *err)
{
	hc_cleanup_close int rootfd = -1;

	/* Born in a new user namespace (clone), with the maps written by now (sync step 1): our ids are the
	 * host's root's, which the maps leave out. Become the namespace's root first, so that what we mount and
	 * make below belongs to the container's root. */
	if ((hc_ns_clone_flags(spec) & CLONE_NEWUSER) && hc_ns_become_root(err) < 0)
		return -1;
	/* a. Join before unsharing, so that the new namespaces belong to the user namespace we joined. */
	hc_report_stage(shim_v1_Stage_STAGE_JOIN_NAMESPACES);
	if (hc_ns_join(ns, err) < 0)
		return -1;
	hc_report_stage(shim_v1_Stage_STAGE_UNSHARE);
	if (hc_ns_unshare(spec, err) < 0)
		return -1;

	/* b. Before the first mount: nothing below may propagate to the host. */
	hc_report_stage(shim_v1_Stage_STAGE_PROPAGATION);
	if (hc_rootfs_propagation(spec, err) < 0 || hc_rootfs_isolate_parent(spec, err) < 0)
		return -1;
	/* In our own mount namespace now, where the monitor's worker can make mounts we may attach. */
	if (hc_idmap_needed(spec) && hc_idmap_request(sync_fd, err) < 0)
		return -1;
	/* c, d, e. Everything is made below rootfd, resolved inside it, while host paths (bind sources,
	 * device nodes) are still reachable. */
	hc_report_stage(shim_v1_Stage_STAGE_ROOTFS);
	if (hc_rootfs_mount(spec, &rootfd, err) < 0)
		return -1;
	hc_report_stage(shim_v1_Stage_STAGE_MOUNTS);
	if (hc_mounts_apply(spec, rootfd, err) < 0)
		return -1;
	hc_report_stage(shim_v1_Stage_STAGE_DEVICES);
	if (hc_devices_create(spec, rootfd, err) < 0 || hc_symlinks_create(spec, rootfd, err) < 0)
		return -1;

	/* The working directory is made when the rootfs lacks it, as runc and docker -w do: here, as root,
	 * resolved inside the rootfs and before a read-only rootfs is remounted. chdir() comes later, as
	 * the user. */
	if (hc_has(spec->process.cwd)) {
		hc_cleanup_close int cwdfd = hc_make_in_root(rootfd, spec->process.cwd, false);

		if (cwdfd < 0)
			return hc_fail(err, shim_v1_Stage_STAGE_CWD, errno, spec->process.cwd, "create working directory");
	}

	/* e'. The hooks of create, before pivot_root. */
	if (run_create_hooks(spec, sync_fd, host_pid, rootfd, err) < 0)
		return -1;

	/* f. */
	hc_report_stage(shim_v1_Stage_STAGE_PIVOT_ROOT);
	if (hc_rootfs_pivot(spec, rootfd, err) < 0)
		return -1;

	/* g. Through the container's own /proc, before /proc/sys may be made read-only below. */
	if (spec->sysctls_count > 0) {
		hc_report_stage(shim_v1_Stage_STAGE_SYSCTL);
		if (write_sysctls(spec, err) < 0)
			return -1;
	}
	/* h. Masks first: a masked path inside a read-only one must still be mountable. / goes last. */
	hc_report_stage(shim_v1_Stage_STAGE_MASK_PATHS);
	if (hc_mounts_mask_paths(spec, err) < 0)
		return -1;
	hc_report_stage(shim_v1_Stage_STAGE_READONLY_PATHS);
	if (hc_mounts_readonly_paths(spec, err) < 0 || hc_rootfs_readonly(spec, err) < 0)
		return -1;
	/* After pivot_root, which refuses a shared parent, and after the last bind mount (masks and read-only
	 * paths bind, and an unbindable mount takes no bind): the rootfs propagation as asked (rootfs.c says
	 * the whole order). */
	hc_report_stage(shim_v1_Stage_STAGE_PROPAGATION);
	if (hc_rootfs_final_propagation(spec, err) < 0)
		return -1;

	/* i. */
	hc_report_stage(shim_v1_Stage_STAGE_HOSTNAME);
	if (set_names(spec, err) < 0)
		return -1;
	if (spec->loopback_up && !loopback_done_by_monitor) {
		hc_report_stage(shim_v1_Stage_STAGE_NETWORK);
		if (loopback_up(err) < 0)
			return -1;
	}
	return 0;
}

/* A new pid namespace belongs to the user namespace of the process that makes it, and only a process
 * privileged there may mount its /proc. With a user namespace joined by path that must be the joined one,
 * so the init cannot simply be cloned with CLONE_NEWPID from here (that namespace would be the host's
 * root's). A short-lived process joins the user namespace and clones the init with CLONE_PARENT, so that
 * the init is still our child (we wait for it and are its parent-death signal's source), then sends us its
 * pid and exits (runc's stage-1 child does the same). Returns the init's pid here, 0 in the init; on
 * failure -1 with *exit_code (the error already reported). */
static pid_t clone_into_joined_userns(struct hc_ns_set *ns, unsigned long clone_flags, int sync_fd, int child_sync_fd,
				      int *exit_code)
{
	const shim_v1_Stage stage = shim_v1_Stage_STAGE_CLONE;
	struct hc_ns_set user_only;
	struct hc_sync_msg msg;
	struct hc_error err;
	pid_t middle, pid;
	int ret;

	middle = hc_clone(0);
	if (middle < 0) {
		hc_fail(&err, stage, errno, NULL, "clone");
		*exit_code = hc_monitor_fail(0, &err);
		return -1;
	}
	if (middle == 0) {
		hc_close_fdp(&sync_fd);
		prctl(PR_SET_NAME, "shim:[1:USERNS]", 0, 0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		/* Only the user namespace here: the init joins the rest itself, after the monitor has placed it
		 * in its cgroups. */
		hc_ns_set_init(&user_only);
		user_only.fd[shim_v1_NamespaceType_NAMESPACE_TYPE_USER] = ns->fd[shim_v1_NamespaceType_NAMESPACE_TYPE_USER];
		if (hc_ns_join(&user_only, &err) < 0)
			hc_child_fail(child_sync_fd, &err);
		ns->fd[shim_v1_NamespaceType_NAMESPACE_TYPE_USER] = -1;
		pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | clone_flags, NULL, NULL, NULL, NULL);
		if (pid == 0)
			return 0;
		if (pid < 0) {
			hc_fail(&err, stage, errno, NULL, "clone the init in the joined user namespace (flags 0x%lx)",
				clone_flags);
			hc_child_fail(child_sync_fd, &err);
		}
		/* Sync step 0 (intermediate): the init's pid, as we see it: the same pid namespace as the monitor's. */
		if (hc_sync_send(child_sync_fd, HC_SYNC_PID, (int32_t)pid, stage, &err) < 0) {
			kill(pid, SIGKILL);
			hc_child_fail(child_sync_fd, &err);
		}
		_exit(0);
	}
	/* Sync step 0 (monitor): the init's pid, or the intermediate's own failure. */
	ret = hc_sync_recv(sync_fd, &msg, stage, &err);
	if (ret > 0 && msg.type == HC_SYNC_ERROR) {
		*exit_code = hc_monitor_reap_failed(middle);
		return -1;
	}
	hc_monitor_reap(middle);
	if (ret == 0)
		hc_fail(&err, stage, EPIPE, NULL, "sync: expected %s, got EOF", hc_sync_name(HC_SYNC_PID));
	else if (ret > 0 && (msg.type != HC_SYNC_PID || msg.value <= 0))
		hc_fail(&err, stage, EPROTO, NULL, "sync: expected %s, got 0x%x", hc_sync_name(HC_SYNC_PID), msg.type);
	if (ret <= 0 || msg.type != HC_SYNC_PID || msg.value <= 0) {
		*exit_code = hc_monitor_fail(ret > 0 && msg.type == HC_SYNC_PID ? (pid_t)msg.value : 0, &err);
		return -1;
	}
	return (pid_t)msg.value;
}

/* One start of the container's process, from opening the namespaces to its end (or, with MONITOR_DETACH,
 * to READY). Returns the helper's exit code; a reaped process's wait status goes to run->wait_status. */
static int run_once(const shim_v1_Spec *spec, int cap_last, const struct hc_monitor_run *run)
{
	struct hc_error err;
	hc_cleanup_ns_set struct hc_ns_set ns;
	hc_cleanup_close int fifo_fd = -1;
	hc_cleanup_close int console_fd = -1;
	hc_cleanup_close int sync_fd = -1;
	hc_cleanup_close int child_sync_fd = -1;
	unsigned long clone_flags = hc_ns_clone_flags(spec);
	pid_t pid;
	int ret;

	hc_ns_set_init(&ns);
	/* 1. Every namespace path is opened before any is joined (they are host paths). */
	hc_report_stage(shim_v1_Stage_STAGE_OPEN_NAMESPACES);
	if (hc_ns_open_paths(spec, &ns, &err) < 0 || hc_ns_join_pid_for_children(&ns, &err) < 0 ||
	    join_host_owned_before_userns(spec, clone_flags, &ns, &err) < 0)
		return hc_monitor_fail(0, &err);
	/* On the host, where their paths are: the init reaches them after pivot_root through fds. */
	if (hc_process_open_host_handles(spec, &fifo_fd, &console_fd, &err) < 0)
		return hc_monitor_fail(0, &err);

	/* 2. */
	if (hc_sync_pair(&sync_fd, &child_sync_fd, &err) < 0)
		return hc_monitor_fail(0, &err);
	/* 3. */
	hc_report_stage(shim_v1_Stage_STAGE_CLONE);
	if ((clone_flags & CLONE_NEWPID) && ns.fd[shim_v1_NamespaceType_NAMESPACE_TYPE_USER] >= 0) {
		pid = clone_into_joined_userns(&ns, clone_flags, sync_fd, child_sync_fd, &ret);
		if (pid < 0)
			return ret;
	} else {
		pid = hc_clone(clone_flags);
		if (pid < 0) {
			hc_fail(&err, shim_v1_Stage_STAGE_CLONE, errno, NULL, "clone (flags 0x%lx)", clone_flags);
			return hc_monitor_fail(0, &err);
		}
	}
	if (pid == 0) {
		pid_t host_pid;

		hc_close_fdp(&sync_fd);
		hc_monitor_close_resume_fd();
		/* The attach socket's descriptors are the monitor's alone. */
		if (run != NULL && run->attach != NULL)
			hc_attach_close_fds(run->attach);
		/* Spec.log_records: stdio through the monitor, which times each line. The pipes are close-on-exec;
		 * the copies made here are not. */
		for (int i = 0; run != NULL && run->pipes != NULL && i < 3; i++)
			if (run->pipes[i][i == 0 ? 0 : 1] >= 0 && dup2(run->pipes[i][i == 0 ? 0 : 1], i) < 0)
				_exit(HC_EXIT_SETUP);
		host_pid = hc_child_begin("shim:[1:INIT]", child_sync_fd);
		if (build_container(spec, &ns, child_sync_fd, host_pid, &err) < 0)
			hc_child_fail(child_sync_fd, &err);
		hc_child_finish(&(struct hc_child){ spec, child_sync_fd, fifo_fd, console_fd, cap_last });
	}
	/* The monitor holds nothing of the container's: its EOF on the sync socket must come from the
	 * child alone. */
	hc_close_fdp(&child_sync_fd);
	hc_ns_set_close(&ns);
	hc_close_fdp(&fifo_fd);
	hc_close_fdp(&console_fd);

	/* 4, 5, 6. */
	ret = hc_monitor_start(spec, pid, sync_fd, (clone_flags & CLONE_NEWUSER) != 0);
	if (ret != 0)
		return ret;
	return hc_monitor_wait(spec, pid, &sync_fd, run);
}

static volatile sig_atomic_t restarts_cancelled;

static void cancel_restarts(int signo)
{
	(void)signo;
	restarts_cancelled = 1;
}

/* Spec.restart, applied to how the process ended: the shim decided the policy, this only counts. */
static bool should_restart(const shim_v1_Spec *spec, int wait_status, unsigned restarts)
{
	const shim_v1_DockerRestart *policy = &spec->restart;
	bool failed = !(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0);

	if (!spec->has_restart || !policy->enabled || restarts_cancelled)
		return false;
	if (policy->only_on_failure && !failed)
		return false;
	return policy->maximum == 0 || restarts < policy->maximum;
}

/* Spec.log_records without a terminal: pipes for the container's stdio, which the monitor reads (and, with
 * Spec.attach_stdin, writes: non-blocking, so that a container that reads nothing cannot stall it). */
static int open_stdio_pipes(const shim_v1_Spec *spec, int pipes[3][2], struct hc_error *err)
{
	for (int i = spec->attach_stdin ? 0 : 1; i < 3; i++)
		if (pipe2(pipes[i], O_CLOEXEC) < 0)
			return hc_fail(err, shim_v1_Stage_STAGE_ATTACH, errno, NULL, "stdio pipes");
	if (pipes[0][1] >= 0 && fcntl(pipes[0][1], F_SETFL, O_NONBLOCK) < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_ATTACH, errno, NULL, "stdin pipe");
	return 0;
}

static unsigned long long monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (unsigned long long)now.tv_sec * 1000 + (unsigned long long)now.tv_nsec / 1000000;
}

int hc_action_run(const shim_v1_Spec *spec)
{
	const bool background = spec->monitor == shim_v1_Monitor_MONITOR_BACKGROUND;
	const shim_v1_DockerRestart *policy = &spec->restart;
	const bool piped = spec->log_records && !spec->process.terminal;
	struct hc_error err;
	struct hc_attach attach;
	int pipes[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	unsigned delay_ms = 0;
	int cap_last;
	int ret;

	hc_attach_init(&attach);
	/* Before the fork below re-parents us: our parent is the shim that will attach (attach.h, owner_fd). */
	if (background && spec->attach_wait_first)
		attach.owner_fd = (int)syscall(SYS_pidfd_open, getppid(), 0);
	/* First: the daemon is the monitor, so it must be the one that clones (it waits on the child). */
	if (background && hc_monitor_daemonize(spec, &err) < 0)
		return hc_monitor_fail(0, &err);
	prctl(PR_SET_NAME, background ? "shim:[0:MONITOR]" : "shim:[0:PARENT]", 0, 0, 0);
	/* Read on the host: the container may not mount /proc. Only needed to drop capabilities. */
	cap_last = spec->process.has_capabilities ? hc_cap_last() : -1;
	if (!background)
		return run_once(spec, cap_last, NULL);

	/* Before the clone, so that the socket exists once the shim has read STARTED, and a bad path is
	 * reported to a shim that still listens. */
	if (hc_has(spec->attach_socket) &&
	    hc_attach_listen(&attach, spec->attach_socket, spec->attach_wait_first, &err) < 0)
		return hc_monitor_fail(0, &err);
	if (piped && open_stdio_pipes(spec, pipes, &err) < 0)
		return hc_monitor_fail(0, &err);
	if (spec->has_restart && policy->enabled) {
		struct sigaction sa = { .sa_handler = cancel_restarts, .sa_flags = SA_RESTART };

		sigaction(SIGUSR1, &sa, NULL);
	}
	for (unsigned restarts = 0;; restarts++) {
		int wait_status = -1;
		struct hc_monitor_run run = { restarts, &attach, &wait_status, piped ? (const int (*)[2])pipes : NULL,
					      delay_ms };
		unsigned long long started = monotonic_ms();

		ret = run_once(spec, cap_last, &run);
		if (wait_status == -1) {
			/* It never ran. The first time the shim has the error; after a restart nobody listens, so
			 * the exit status file says it: exit code 125, as a failed setup. */
			if (restarts > 0)
				hc_monitor_write_exit_status(spec, (ret & 0xff) << 8);
			break;
		}
		if (!should_restart(spec, wait_status, restarts)) {
			/* Before the clients go: an attached shim reads the exit status once its socket closes. */
			hc_monitor_write_exit_status(spec, wait_status);
			break;
		}
		hc_attach_drop_clients(&attach);
		/* docker's back-off as plain numbers: the first delay, doubled each time up to the cap, and the
		 * first again after a run that lasted reset_after_ms. */
		if (delay_ms == 0 || monotonic_ms() - started >= policy->reset_after_ms)
			delay_ms = policy->delay_ms;
		else
			delay_ms = delay_ms * 2 > policy->max_delay_ms ? policy->max_delay_ms : delay_ms * 2;
		if (delay_ms > 0) {
			struct timespec delay = { delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L };

			while (nanosleep(&delay, &delay) < 0 && errno == EINTR && !restarts_cancelled)
				;
		}
		/* A stop during the delay: nothing more to start. */
		if (restarts_cancelled) {
			hc_monitor_write_exit_status(spec, wait_status);
			break;
		}
	}
	hc_attach_drop_clients(&attach);
	hc_close_fdp(&attach.listen_fd);
	hc_close_fdp(&attach.owner_fd);
	for (int i = 0; i < 6; i++)
		hc_close_fdp(&pipes[i / 2][i % 2]);
	return ret;
}
