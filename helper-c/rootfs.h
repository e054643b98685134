/* The container's root: propagation, the overlay or bind mount at rootfs.path, pivot_root, read-only /. */
#ifndef HC_ROOTFS_H
#define HC_ROOTFS_H

#include "error.h"
#include "shim.pb.h"

/* Make the whole (new) mount tree private, or what rootfs.propagation says, before anything is mounted,
 * so that nothing the container mounts propagates back to the host. */
int hc_rootfs_propagation(const shim_v1_Spec *spec, struct hc_error *err);
/* For a shared rootfs propagation, before the rootfs is mounted: make the mount holding its parent directory,
 * and /, private, so that pivot_root accepts the new root (see rootfs.c for the whole order). */
int hc_rootfs_isolate_parent(const shim_v1_Spec *spec, struct hc_error *err);
/* After pivot_root: shared and unbindable, applied to the new / recursively. */
int hc_rootfs_final_propagation(const shim_v1_Spec *spec, struct hc_error *err);
/* Mount the overlay, or bind rootfs.path onto itself so that it is a mount point pivot_root accepts.
 * On success *rootfd is an O_PATH descriptor of the new mount's root. */
int hc_rootfs_mount(const shim_v1_Spec *spec, int *rootfd, struct hc_error *err);
/* Make rootfd the process's / and drop every host mount from its view. */
int hc_rootfs_pivot(const shim_v1_Spec *spec, int rootfd, struct hc_error *err);
/* A failed fsconfig/fsmount step on an overlay fs context: err carries the kernel's own reason from the
 * context's log when it left one. Returns -1. */
int hc_fs_fail(int fsfd, struct hc_error *err, const char *path, const char *what);
/* rootfs.readonly: remount / read-only, the last mount step. */
int hc_rootfs_readonly(const shim_v1_Spec *spec, struct hc_error *err);

#endif
