/* Writing into procfs where a mount or a symlink cannot redirect the write (CVE-2025-52881). */
#ifndef HC_PROCFS_H
#define HC_PROCFS_H

#include <stddef.h>

/* Write len bytes of value to path, relative to the procfs root ("sys/net/ipv4/ip_forward", "1/oom_score_adj":
 * a process by number, never "self", which is a symlink). Resolved in a procfs of our own (or, where the kernel
 * will not make one, the current /proc) that fstatfs() shows to be procfs, with no symlink and no mount crossed:
 * -1 with errno ELOOP (a symlink), EXDEV (a mount on the way, or not procfs at all) or the write's own. */
int hc_procfs_write(const char *path, const char *value, size_t len);
/* The why of a refusal above, for the error line (which then names no path): "" for other errnos. */
const char *hc_procfs_refusal(int error);

#endif
