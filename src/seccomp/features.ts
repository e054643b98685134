// `shim features`' linux.seccomp, in runc's shape (runtime-spec features.md): what a profile may name here.

import { ARCHS } from './archs.js';
import { SECCOMP_ACTIONS, SECCOMP_FLAGS, SECCOMP_OPERATORS } from './profile.js';

/** The kernel release (uname -r) each flag first came with. */
const FLAG_KERNELS: Record<string, [number, number]> = {
  SECCOMP_FILTER_FLAG_TSYNC: [3, 17],
  SECCOMP_FILTER_FLAG_LOG: [4, 14],
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: [4, 17],
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: [6, 0],
};

export function seccompFeatures(actionsAvailable: readonly string[], kernelRelease: string) {
  const [major = 0, minor = 0] = (/^(\d+)\.(\d+)/.exec(kernelRelease) ?? []).slice(1).map(Number);
  const knownFlags = Object.keys(SECCOMP_FLAGS).sort();
  return {
    enabled: actionsAvailable.length > 0,
    actions: Object.entries(SECCOMP_ACTIONS).filter(([, info]) => actionsAvailable.includes(info.avail)).map(([name]) => name).sort(),
    operators: Object.keys(SECCOMP_OPERATORS).sort(),
    archs: Object.values(ARCHS).map((arch) => arch.scmpName).sort(),
    knownFlags,
    supportedFlags: knownFlags.filter((flag) => {
      const [wantMajor, wantMinor] = FLAG_KERNELS[flag]!;
      return major > wantMajor || (major === wantMajor && minor >= wantMinor);
    }),
  };
}
