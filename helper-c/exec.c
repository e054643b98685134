/* ACTION_EXEC: one more process in a running container, in all of its init's namespaces and its root. */
#define _GNU_SOURCE
#include "actions.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "child.h"
#include "monitor.h"
#include "namespaces.h"
#include "process.h"
#include "report.h"
#include "sync.h"
#include "terminal.h"
#include "util.h"

/* In the child: namespaces, then the container's root. */
static int enter_container(struct hc_ns_set *ns, int rootfd, struct hc_error *err)
{
	hc_report_stage(shim_v1_Stage_STAGE_JOIN_NAMESPACES);
	if (hc_ns_join(ns, err) < 0)
		return -1;
	/* setns() into the mount namespace puts us at that namespace's root, which is not the container's
	 * when it was made with no_pivot (chroot). The init's own root, opened before joining, is. */
	hc_report_stage(shim_v1_Stage_STAGE_PIVOT_ROOT);
	if (fchdir(rootfd) < 0 || chroot(".") < 0)
		return hc_fail(err, shim_v1_Stage_STAGE_PIVOT_ROOT, errno, NULL, "enter the container's root");
	return 0;
}

int hc_action_exec(const shim_v1_Spec *spec)
{
	struct hc_error err;
	hc_cleanup_ns_set struct hc_ns_set ns;
	hc_cleanup_close int rootfd = -1;
	hc_cleanup_close int fifo_fd = -1;
	hc_cleanup_close int console_fd = -1;
	hc_cleanup_close int sync_fd = -1;
	hc_cleanup_close int child_sync_fd = -1;
	char root_path[64];
	int cap_last;
	pid_t pid;
	int ret;

	hc_ns_set_init(&ns);
	/* Nothing in the container may ptrace us or open our /proc entries while we hold host
	 * descriptors (runc's CVE-2016-9962). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	prctl(PR_SET_NAME, "shim:[0:PARENT]", 0, 0, 0);
	/* Read on the host: the container may not mount /proc. Only needed to drop capabilities. */
	cap_last = spec->process.has_capabilities ? hc_cap_last() : -1;

	/* Everything of the target is opened before anything is joined: after the first setns() its
	 * /proc entries may no longer be visible to us. */
	hc_report_stage(shim_v1_Stage_STAGE_OPEN_NAMESPACES);
	hc_format(root_path, sizeof(root_path), "/proc/%d/root", (int)spec->target_pid);
	rootfd = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		hc_fail(&err, shim_v1_Stage_STAGE_OPEN_NAMESPACES, errno, root_path, "open the container's root");
		return hc_monitor_fail(0, &err);
	}
	if (hc_ns_open_target(spec->target_pid, &ns, &err) < 0 || hc_ns_join_pid_for_children(&ns, &err) < 0)
		return hc_monitor_fail(0, &err);
	if (hc_process_open_host_handles(spec, &fifo_fd, &console_fd, &err) < 0)
		return hc_monitor_fail(0, &err);
	if (hc_sync_pair(&sync_fd, &child_sync_fd, &err) < 0)
		return hc_monitor_fail(0, &err);

	/* execCPUAffinity.initial: ours, inherited by the child through the clone (runc's startWithCPUAffinity). */
	if (hc_process_cpu_affinity(0, spec->exec_cpu_affinity_initial, &err) < 0)
		return hc_monitor_fail(0, &err);
	/* The monitor joins only the pid namespace (for its children): it stays on the host, where the
	 * cgroup files are and where it reports from. The child joins the rest. */
	hc_report_stage(shim_v1_Stage_STAGE_CLONE);
	pid = hc_clone(0);
	if (pid < 0) {
		hc_fail(&err, shim_v1_Stage_STAGE_CLONE, errno, NULL, "clone");
		return hc_monitor_fail(0, &err);
	}
	if (pid == 0) {
		hc_close_fdp(&sync_fd);
		hc_child_begin("shim:[1:EXEC]", child_sync_fd);
		if (enter_container(&ns, rootfd, &err) < 0)
			hc_child_fail(child_sync_fd, &err);
		/* Not needed any more, and a directory descriptor must not survive into the container,
		 * where /proc/self/fd/N would lead back out of its root. */
		hc_close_fdp(&rootfd);
		hc_child_finish(&(struct hc_child){ spec, child_sync_fd, fifo_fd, console_fd, cap_last });
	}
	hc_close_fdp(&child_sync_fd);
	hc_ns_set_close(&ns);
	hc_close_fdp(&rootfd);
	hc_close_fdp(&fifo_fd);
	hc_close_fdp(&console_fd);

	ret = hc_monitor_start(spec, pid, sync_fd, false);
	if (ret != 0)
		return ret;
	return hc_monitor_wait(spec, pid, &sync_fd, NULL);
}
