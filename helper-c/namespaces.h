/* Namespaces: open the ones to join before joining any, join them in a safe order, create the rest. */
#ifndef HC_NAMESPACES_H
#define HC_NAMESPACES_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "shim.pb.h"

/* Descriptors of namespaces to join, indexed by NamespaceType; -1 where none is joined. */
struct hc_ns_set {
	int fd[shim_v1_NamespaceType_NAMESPACE_TYPE_TIME + 1];
};

void hc_ns_set_init(struct hc_ns_set *set);
void hc_ns_set_close(struct hc_ns_set *set);
#define hc_cleanup_ns_set __attribute__((cleanup(hc_ns_set_close)))

/* Open every Spec.namespaces entry that has a path. All are opened before any is joined: the paths are
 * host paths, and after the first setns() they might name something else or nothing at all. */
int hc_ns_open_paths(const shim_v1_Spec *spec, struct hc_ns_set *set, struct hc_error *err);
/* For ACTION_EXEC: open /proc/PID/ns/<each type> that differs from the helper's own. */
int hc_ns_open_target(pid_t pid, struct hc_ns_set *set, struct hc_error *err);

/* setns(CLONE_NEWPID) when a pid namespace is joined. It changes only the namespace of future children,
 * so it is done by the monitor before clone() and the init is born inside. */
int hc_ns_join_pid_for_children(struct hc_ns_set *set, struct hc_error *err);
/* setresgid/setresuid to 0 in the user namespace we are in (and drop the host's supplementary groups): the
 * ids a process keeps when it enters a user namespace are unmapped there, so it would own nothing it made.
 * Needs uid 0 and gid 0 mapped. */
int hc_ns_become_root(struct hc_error *err);
/* Join every other namespace in set, user first (then become its root), and close the descriptors. */
int hc_ns_join(struct hc_ns_set *set, struct hc_error *err);

/* clone() flags for the namespaces that must exist from birth: a new pid namespace (the init has to be
 * its pid 1) and a new user namespace (the monitor writes its id maps while the init waits). */
unsigned long hc_ns_clone_flags(const shim_v1_Spec *spec);
/* unshare() the other new namespaces. */
int hc_ns_unshare(const shim_v1_Spec *spec, struct hc_error *err);

/* Write uid_map and gid_map (and setgroups, when an unprivileged helper needs it) of a new user
 * namespace whose first process is pid. */
int hc_ns_write_id_maps(const shim_v1_Spec *spec, pid_t pid, struct hc_error *err);
/* The same for any maps (an idmapped mount's own user namespace), setgroups left as it is. */
/* The procfs text of one id map (uid_map or gid_map takes it in one write()): "container host size\n" per
 * mapping into buf. Its length, or -1 when the lines do not all fit in size bytes. */
#define HC_NS_MAP_MAX 4096
ssize_t hc_ns_format_map(char *buf, size_t size, const shim_v1_IdMapping *maps, pb_size_t count);
int hc_ns_write_maps(pid_t pid, const shim_v1_IdMapping *uids, pb_size_t uid_count, const shim_v1_IdMapping *gids,
		     pb_size_t gid_count, struct hc_error *err);

#endif
