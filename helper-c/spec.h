/* The one Spec frame: read it, refuse what this helper does not understand, decode and validate it. */
#ifndef HC_SPEC_H
#define HC_SPEC_H

#include <stdbool.h>

#include "error.h"
#include "shim.pb.h"

/* Frames above this are refused, as proto/shim.proto says. */
#define HC_SPEC_MAX_FRAME (16U * 1024 * 1024)

/* Read exactly one frame from fd, check it for unknown fields and decode it into spec. */
int hc_spec_read(int fd, shim_v1_Spec *spec, struct hc_error *err);

/* The shim's answer to STATUS_KIND_PAUSED: one HookResume frame on fd. EOF or a bad frame is an error
 * (stage HOOKS); *proceed is what it said. */
int hc_spec_read_resume(int fd, bool *proceed, struct hc_error *err);

/* Check what the kernel work relies on (required fields, absolute paths, known enum values), and
 * NULL-terminate process.args and process.env for execve. */
int hc_spec_validate(shim_v1_Spec *spec, struct hc_error *err);

/* The namespace entry of this type, or NULL when the type is shared with the host. */
const shim_v1_Namespace *hc_spec_namespace(const shim_v1_Spec *spec, shim_v1_NamespaceType type);

#endif
