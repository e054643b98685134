/* Kernel ABI the helper needs that musl's headers do not carry. musl ships no linux/ uapi headers, and
 * pointing musl-gcc at the glibc-side /usr/include/linux would mix two libcs' views of the same types, so
 * the few structures and constants are written out here, with the uapi header each one comes from. */
#ifndef HC_KERNEL_H
#define HC_KERNEL_H

#include <stdint.h>

/* linux/openat2.h */
struct hc_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};
#define HC_RESOLVE_NO_MAGICLINKS 0x02
#define HC_RESOLVE_IN_ROOT 0x10

/* linux/memfd.h (6.3): the memfd may be executed, whatever vm.memfd_noexec defaults to. */
#define HC_MFD_EXEC 0x0010U

/* linux/close_range.h */
#define HC_CLOSE_RANGE_CLOEXEC (1U << 2)

/* linux/capability.h: the v3 ABI carries 64 bits as two 32-bit words. */
#define HC_LINUX_CAPABILITY_VERSION_3 0x20080522
struct hc_cap_header {
	uint32_t version;
	int pid;
};
struct hc_cap_data {
	uint32_t effective;
	uint32_t permitted;
	uint32_t inheritable;
};

/* linux/mount.h: the new mount API, used for overlays whose option string does not fit in a page. */
#define HC_FSOPEN_CLOEXEC 0x00000001
#define HC_FSMOUNT_CLOEXEC 0x00000001
#define HC_FSCONFIG_SET_STRING 1
#define HC_FSCONFIG_CMD_CREATE 6
#define HC_MOVE_MOUNT_F_EMPTY_PATH 0x00000004

/* linux/sched/types.h: sched_setattr(2)'s argument (SCHED_ATTR_SIZE_VER0, without the utilization clamps). */
struct hc_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

/* linux/ioprio.h */
#define HC_IOPRIO_WHO_PROCESS 1

#endif
