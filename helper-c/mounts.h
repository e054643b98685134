/* Mounts inside the container's rootfs: resolving targets without leaving the rootfs, the Spec.mounts list,
 * and, after pivot_root, the masked and read-only paths. */
#ifndef HC_MOUNTS_H
#define HC_MOUNTS_H

#include <stdbool.h>

#include "error.h"
#include "shim.pb.h"

/* openat2(RESOLVE_IN_ROOT) of path (absolute, as seen in the container) below rootfd: symlinks and ".."
 * resolve as if rootfd were /, so nothing outside the rootfs is reached. O_CLOEXEC is added. The fd or
 * -1 with errno. */
int hc_open_in_root(int rootfd, const char *path, int flags);
/* The same, first creating what is missing, as runc does: directories, and an empty file for the last
 * component when as_file. Returns an O_PATH fd, or -1 with errno. */
int hc_make_in_root(int rootfd, const char *path, bool as_file);

/* mount(2) addresses an fd opened in the rootfs through /proc/self/fd/N, so the kernel acts on exactly
 * what was resolved and a symlink swapped in meanwhile changes nothing (runc's defence). */
struct hc_fd_path {
	char path[32];
};
void hc_fd_path(struct hc_fd_path *out, int fd);

/* MS_REMOUNT | MS_BIND | flags on path. Inside a user namespace the kernel locks the nosuid, nodev,
 * noexec, rdonly and atime flags a mount came with; on EPERM those are read back with statfs() and kept,
 * then the call is tried once more. -1 with errno. */
int hc_remount_bind(const char *path, unsigned long flags);

/* Spec.mounts, in order, below rootfd (the rootfs mount). */
int hc_mounts_apply(const shim_v1_Spec *spec, int rootfd, struct hc_error *err);
/* After pivot_root: hide Spec.masked_paths, make Spec.readonly_paths read-only. */
int hc_mounts_mask_paths(const shim_v1_Spec *spec, struct hc_error *err);
int hc_mounts_readonly_paths(const shim_v1_Spec *spec, struct hc_error *err);

#endif
