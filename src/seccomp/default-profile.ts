// The profile docker-style `shim run` applies when it is not told otherwise. Written for shim from the
// kernel's syscall list and what docker's and podman's defaults let a container do; the shape is theirs:
//   - anything not listed answers ENOSYS (as podman's), so a libc that tries a syscall this list does not
//     know yet falls back to an older one, exactly as on an older kernel;
//   - what a container may always do is allowed; what needs a capability is allowed only when the container
//     holds that capability (--cap-add, --privileged); some of those answer EPERM without it (as docker);
//   - clone may not make namespaces without CAP_SYS_ADMIN (its flags are checked), and clone3, whose flags sit
//     in memory a filter cannot read, gets ENOSYS then, so libc falls back to clone;
//   - personality only for the handful of personas ordinary programs switch between.
// --security-opt seccomp=unconfined and --privileged run without a filter; seccomp=FILE takes a file instead.

import { FAMILY_ARCHS, ARCHS, type ArchFamily } from './archs.js';
import type { OciSeccomp, OciSeccompSyscall } from './profile.js';

const ALWAYS = `
  accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 clock_adjtime
  clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
  clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1
  epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
  exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchown
  fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64
  fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_time64 futex_waitv futimesat getcpu getcwd
  getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer
  getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32
  getrlimit get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid
  getuid32 getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy
  io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill landlock_add_rule
  landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr llistxattr
  _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise membarrier memfd_create memfd_secret mincore mkdir mkdirat
  mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive
  mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock
  munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause pidfd_getfd
  pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64
  preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 ptrace pwrite64 pwritev pwritev2 read readahead
  readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename
  renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo
  rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity
  sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler
  sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
  sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile
  sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32
  setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32
  setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl
  shmdt shmget shutdown sigaction sigaltstack signal signalfd signalfd4 sigpending sigprocmask sigreturn sigsuspend
  socket socketcall socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range
  sync_file_range2 syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime
  timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
  timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat
  utimensat_time64 utimes vfork wait4 waitid waitpid write writev
`;

/** Only some archs have these; the others never see the names. */
const ARCH_SPECIFIC: Partial<Record<ArchFamily, string>> = {
  x86_64: 'arch_prctl modify_ldt',
  aarch64: 'arm_fadvise64_64 arm_sync_file_range breakpoint cacheflush set_tls',
};

/** Allowed only to a container holding the capability. */
const WITH_CAPABILITY: Record<string, string> = {
  CAP_DAC_READ_SEARCH: 'open_by_handle_at',
  CAP_SYS_ADMIN: 'bpf clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr move_mount open_tree perf_event_open pivot_root quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare',
  CAP_SYS_BOOT: 'reboot',
  CAP_SYS_CHROOT: 'chroot',
  CAP_SYS_MODULE: 'delete_module init_module finit_module',
  CAP_SYS_PACCT: 'acct',
  CAP_SYS_PTRACE: 'kcmp process_madvise process_vm_readv process_vm_writev',
  CAP_SYS_RAWIO: 'iopl ioperm',
  CAP_SYS_TIME: 'settimeofday stime clock_settime clock_settime64',
  CAP_SYS_TTY_CONFIG: 'vhangup',
  CAP_SYS_NICE: 'get_mempolicy mbind set_mempolicy set_mempolicy_home_node migrate_pages move_pages',
  CAP_SYSLOG: 'syslog',
  CAP_BPF: 'bpf',
  CAP_PERFMON: 'perf_event_open',
};

/** Without the capability these answer EPERM rather than ENOSYS: the call exists, the container may not. */
const EPERM_WITHOUT: Record<string, string> = {
  CAP_SYS_ADMIN: 'bpf fanotify_init lookup_dcookie mount perf_event_open pivot_root quotactl setdomainname sethostname setns umount2 unshare',
  CAP_SYS_BOOT: 'reboot',
  CAP_SYS_CHROOT: 'chroot',
  CAP_SYS_MODULE: 'delete_module init_module finit_module',
  CAP_SYS_PACCT: 'acct',
  CAP_SYS_PTRACE: 'kcmp process_madvise',
  CAP_SYS_RAWIO: 'iopl ioperm',
  CAP_SYS_TIME: 'settimeofday stime clock_settime clock_settime64',
};

/** Never, whatever the capabilities: the host's kernel, its keyrings and its swap are not a container's. */
const NEVER_EPERM = 'kexec_load kexec_file_load add_key request_key keyctl userfaultfd swapon swapoff uselib ustat sysfs nfsservctl';

/** clone's namespace flags: CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET. */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;
/** PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and 0xffffffff (the query). */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

// A name no arch's table has (an older kernel header) is skipped by the compiler, as any profile's is.
const words = (text: string) => text.split(/\s+/).filter((name) => name !== '');

export function defaultSeccompProfile(family: ArchFamily, capabilities: readonly string[]): OciSeccomp {
  const held = new Set(capabilities);
  const allowed = new Set([...words(ALWAYS), ...words(ARCH_SPECIFIC[family] ?? '')]);
  for (const [capability, names] of Object.entries(WITH_CAPABILITY)) if (held.has(capability)) for (const name of words(names)) allowed.add(name);
  const denied = new Set(words(NEVER_EPERM));
  for (const [capability, names] of Object.entries(EPERM_WITHOUT)) if (!held.has(capability)) for (const name of words(names)) if (!allowed.has(name)) denied.add(name);

  const syscalls: OciSeccompSyscall[] = [
    { names: [...allowed].sort(), action: 'SCMP_ACT_ALLOW' },
    { names: [...denied].sort(), action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
    ...PERSONALITIES.map((value) => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] })),
  ];
  if (!held.has('CAP_SYS_ADMIN')) {
    syscalls.push({ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] });
  } else {
    syscalls.push({ names: ['clone'], action: 'SCMP_ACT_ALLOW' });
  }
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 38,
    architectures: FAMILY_ARCHS[family].map((name) => ARCHS[name].scmpName),
    syscalls,
  };
}
