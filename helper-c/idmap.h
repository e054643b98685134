/* Idmapped mounts: the overlay's layers seen through the container's user namespace (Rootfs.idmap_layers)
 * and config mounts with their own maps (Mount.uid_mappings). Setting MOUNT_ATTR_IDMAP takes privilege over
 * the filesystem's own user namespace (the host's), which the init, born in the container's, lacks. And the
 * kernel attaches a detached mount only into the mount namespace it was cloned from. So, as runc does:
 * once the init has its own mount namespace it asks (IDMAP); a worker of the monitor's joins that mount
 * namespace, keeping the host's privileges, makes each mount (open_tree + mount_setattr) and passes it over
 * the sync socket (MOUNT_FD); the monitor then says ACK. The init attaches them in the order they were
 * sent: the layers first (rootfs.c), then the mounts (mounts.c). */
#ifndef HC_IDMAP_H
#define HC_IDMAP_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "shim.pb.h"

/* Does the init need the monitor's worker: idmapped mounts, or a bundle rootfs in a user namespace (sent as
 * a descriptor: see hc_idmap_rootfs_by_fd)? */
bool hc_idmap_needed(const shim_v1_Spec *spec);
/* A plain (bind-mounted) rootfs with a user namespace: the worker sends it opened, first of all. */
bool hc_idmap_rootfs_by_fd(const shim_v1_Spec *spec);
/* Monitor, on IDMAP: make and send every idmapped mount from a worker in pid's mount namespace, then ACK.
 * 0 on success; -1 with err; > 0: the worker failed and reported it, this is its exit code. */
int hc_idmap_serve(const shim_v1_Spec *spec, pid_t pid, int sync_fd, struct hc_error *err);

/* Init, in its own mount namespace and before the rootfs is mounted: ask for them and keep them. */
int hc_idmap_request(int sync_fd, struct hc_error *err);
/* Init: the next descriptor in the order they were sent; what names the layer or mount in the error. */
int hc_idmap_take(const char *what, struct hc_error *err);

#endif
