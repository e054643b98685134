/* `shim-helper --launch NODE ARG...`: start Node and the helper side by side, connected by pipes (launch.c). */
#ifndef HC_LAUNCH_H
#define HC_LAUNCH_H

/* Starts node_argv (Node running the shim) and helper_path SPEC_FD STATUS_FD, waits for both, and returns
 * Node's exit code (or dies of Node's signal). Falls back to exec'ing node_argv when it cannot set up. */
int hc_launch(const char *helper_path, char **node_argv);

#endif
