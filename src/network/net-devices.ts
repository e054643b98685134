// linux.netDevices (runtime-spec 1.2): each named interface of the runtime's network namespace is moved into
// the container's, renamed in the same request, at the moment runc 1.3 does it (its parent, right after the
// init's namespaces exist and before any hook): here the helper's pause before pivot_root (Spec.pause_for_hooks).
// As runc's devChangeNetNamespace: the link is set down first, and its global addresses, which the kernel drops
// at the move, are added again inside. A failure leaves the rest to the kernel, as runtime-spec says: the
// container's namespace dies with the failed create, and a physical device returns to the initial namespace
// (a virtual one, like a dummy, is destroyed with it).

import { execFile } from 'node:child_process';
import { RuntimeError } from '../errors.js';
import type { Logger } from '../log.js';

export interface PlannedNetDevice {
  hostName: string;
  name: string;
}

export async function moveNetDevices(devices: readonly PlannedNetDevice[], pid: number, log: Logger): Promise<void> {
  const netns = `/proc/${pid}/ns/net`;
  for (const { hostName, name } of devices) {
    const failed = (what: string, error: string) =>
      new RuntimeError('setup-failed', `move netDevice ${hostName} to namespace ${netns}: ${what}: ${error}`, { stage: 'net-devices', reasonInWords: true });
    const shown = await run('ip', ['-j', 'addr', 'show', 'dev', hostName]).catch((error: Error) => {
      throw failed(`link not found for interface ${hostName} on runtime namespace`, error.message);
    });
    const addresses = globalAddresses(shown);
    await run('ip', ['link', 'set', 'dev', hostName, 'down']).catch((error: Error) => {
      throw failed('fail to set link down', error.message);
    });
    // One RTM_NEWLINK with IFLA_NET_NS_PID and IFLA_IFNAME: no moment where the name could clash in either namespace.
    await run('ip', ['link', 'set', 'dev', hostName, 'netns', String(pid), 'name', name]).catch((error: Error) => {
      throw failed(`fail to move network device ${hostName} to network namespace ${netns}`, error.message);
    });
    for (const address of addresses) {
      await run('nsenter', [`--net=${netns}`, 'ip', 'addr', 'add', address, 'dev', name]).catch((error: Error) => {
        throw failed(`fail to re-add address ${address} on ${name}`, error.message);
      });
    }
    log.debug(`netDevices: ${hostName} moved into ${netns} as ${name}${addresses.length > 0 ? ` with ${addresses.join(', ')}` : ''}`);
  }
}

/** "ADDR/PREFIX" of each global-scope address in `ip -j addr show` (link-local ones the kernel makes itself). */
export function globalAddresses(json: string): string[] {
  const links = JSON.parse(json) as { addr_info?: { local?: string; prefixlen?: number; scope?: string }[] }[];
  return links.flatMap((link) => (link.addr_info ?? []).filter((info) => info.scope === 'global' && info.local).map((info) => `${info.local}/${info.prefixlen}`));
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, (error, stdout, stderr) => {
      if (error) reject(new Error(String(stderr).trim() || error.message));
      else resolve(String(stdout));
    });
  });
}
