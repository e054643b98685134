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
#define HC_RESOLVE_NO_XDEV 0x01
#define HC_RESOLVE_NO_MAGICLINKS 0x02
#define HC_RESOLVE_NO_SYMLINKS 0x04
#define HC_RESOLVE_BENEATH 0x08
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
#define HC_MOVE_MOUNT_T_EMPTY_PATH 0x00000040
/* Live mounts (ACTION_LIVE_MOUNT): a detached copy of a host tree, moved into the container. */
#define HC_OPEN_TREE_CLONE 1
#define HC_AT_RECURSIVE 0x8000
#define HC_MOUNT_ATTR_RDONLY 0x00000001
/* linux/mount.h: overlayfs takes layers as descriptors (6.13), so idmapped layers need no path. */
#define HC_FSCONFIG_SET_FD 5
/* linux/mount.h, linux/fcntl.h: idmapped mounts (5.12). */
#define HC_OPEN_TREE_CLONE 1
#define HC_OPEN_TREE_CLOEXEC 02000000
#define HC_AT_RECURSIVE 0x8000
#define HC_MOUNT_ATTR_IDMAP 0x00100000
/* linux/securebits.h */
#define HC_SECBIT_NO_SETUID_FIXUP (1 << 2)
struct hc_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

/* linux/bpf.h: the leading fields of union bpf_attr for the three commands used (the kernel takes a shorter
 * attr and reads the rest as zero). */
#define HC_BPF_PROG_LOAD 5
#define HC_BPF_PROG_ATTACH 8
#define HC_BPF_PROG_DETACH 9
#define HC_BPF_PROG_TYPE_CGROUP_DEVICE 15
#define HC_BPF_CGROUP_DEVICE 6
#define HC_BPF_OBJ_NAME_LEN 16
struct hc_bpf_prog_load {
	uint32_t prog_type;
	uint32_t insn_cnt;
	uint64_t insns;
	uint64_t license;
	uint32_t log_level;
	uint32_t log_size;
	uint64_t log_buf;
	uint32_t kern_version;
	uint32_t prog_flags;
	char prog_name[HC_BPF_OBJ_NAME_LEN];
	uint32_t prog_ifindex;
	uint32_t expected_attach_type;
};
struct hc_bpf_prog_attach {
	uint32_t target_fd;
	uint32_t attach_bpf_fd;
	uint32_t attach_type;
	uint32_t attach_flags;
	uint32_t replace_bpf_fd;
};

/* linux/filter.h and linux/seccomp.h: the filter program as seccomp(2) takes it. */
struct hc_sock_filter {
	uint16_t code;
	uint8_t jt;
	uint8_t jf;
	uint32_t k;
};
struct hc_sock_fprog {
	unsigned short len;
	struct hc_sock_filter *filter;
};
#define HC_SECCOMP_SET_MODE_FILTER 1
#define HC_SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#define HC_BPF_MAXINSNS 4096

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
