/* The things the helper can be asked to do. Each returns the helper's exit code. */
#ifndef HC_ACTIONS_H
#define HC_ACTIONS_H

#include "shim.pb.h"

int hc_action_run(const shim_v1_Spec *spec);
int hc_action_exec(const shim_v1_Spec *spec);
int hc_action_apply_nodes(const shim_v1_Spec *spec);
int hc_action_copy(const shim_v1_Spec *spec);
int hc_action_live_device(const shim_v1_Spec *spec);
int hc_action_live_mount(const shim_v1_Spec *spec);

#endif
