/* Device nodes and symlinks made in the rootfs before pivot_root. */
#ifndef HC_DEVICES_H
#define HC_DEVICES_H

#include "error.h"
#include "shim.pb.h"

int hc_devices_create(const shim_v1_Spec *spec, int rootfd, struct hc_error *err);
int hc_symlinks_create(const shim_v1_Spec *spec, int rootfd, struct hc_error *err);

#endif
