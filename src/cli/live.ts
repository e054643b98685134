// `shim device add|rm|ls` and `shim mount add|rm|ls`: changes to a running container (src/live/). Thin: read
// the positionals and flags, call the library, print.

import { RuntimeError } from '../errors.js';
import type { RuntimeContext } from '../container/run-container.js';
import { locateHelper } from '../helper/locate-helper.js';
import type { CliEnvironment } from './main.js';

export interface LiveVerbArgs {
  verb: 'device' | 'mount';
  sub: string;
  positionals: string[];
  format: 'table' | 'json';
  readonly: boolean;
  propagation?: string | undefined;
  recursive: boolean;
  /** device add --mode (octal), --uid, --gid. */
  mode?: string | undefined;
  uid?: number | undefined;
  gid?: number | undefined;
}

export async function liveVerb(args: LiveVerbArgs, context: RuntimeContext, cli: CliEnvironment): Promise<number> {
  const live = { root: context.root, dataRoot: context.dataRoot, helperPath: locateHelper(cli.cliPath, cli.env.SHIM_HELPER), log: context.log };
  const usage = `${args.verb} ${args.sub}`;
  const expect = (count: number, shape: string): string[] => {
    if (args.positionals.length !== count) throw new RuntimeError('usage', `${usage} takes ${shape}`, { hint: 'see shim --help' });
    return args.positionals;
  };
  const print = (value: unknown, table: () => string) => cli.stdout(args.format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : table());

  if (args.verb === 'device') {
    const devices = await import('../live/live-devices.js');
    switch (args.sub) {
      case 'add': {
        const [id, spec] = expect(2, 'ID HOST[:CONTAINER][:PERMISSIONS]') as [string, string];
        let mode: number | undefined;
        if (args.mode !== undefined) {
          if (!/^[0-7]{3,4}$/.test(args.mode)) throw new RuntimeError('usage', `device add --mode ${args.mode}: expected octal permission bits (0660)`);
          mode = parseInt(args.mode, 8);
        }
        const device = await devices.addDevice(live, id, spec, { mode, uid: args.uid, gid: args.gid });
        print(device, () => `${device.path}\n`);
        return 0;
      }
      case 'rm': {
        const [id, path] = expect(2, 'ID CONTAINER-PATH') as [string, string];
        const device = await devices.removeDevice(live, id, path);
        print(device, () => `${device.path}\n`);
        return 0;
      }
      case 'ls': {
        const [id] = expect(1, 'ID') as [string];
        const listed = await devices.listDevices(live, id);
        print(listed, () => table(['PATH', 'TYPE', 'NUMBERS', 'ACCESS', 'ORIGIN', 'HOST'],
          listed.map((d) => [d.path, d.type, `${d.major}:${d.minor}`, d.access, d.origin, d.hostPath ?? ''])));
        return 0;
      }
    }
  } else {
    const mounts = await import('../live/live-mounts.js');
    switch (args.sub) {
      case 'add': {
        const [id, source, target] = expect(3, 'ID SOURCE TARGET') as [string, string, string];
        const mount = await mounts.addMount(live, id, source, target, { readonly: args.readonly, propagation: args.propagation, recursive: args.recursive });
        print(mount, () => `${mount.target}\n`);
        return 0;
      }
      case 'rm': {
        const [id, target] = expect(2, 'ID TARGET') as [string, string];
        const mount = await mounts.removeMount(live, id, target);
        print(mount, () => `${mount.target}\n`);
        return 0;
      }
      case 'ls': {
        const [id] = expect(1, 'ID') as [string];
        const listed = await mounts.listMounts(live, id);
        print(listed, () => table(['TARGET', 'SOURCE', 'TYPE', 'MODE', 'PROPAGATION', 'NOW', 'ORIGIN'],
          listed.map((m) => [m.target, m.source, m.type, m.readonly ? 'ro' : 'rw', m.propagation, m.currentPropagation ?? '-', m.origin])));
        return 0;
      }
    }
  }
  throw new RuntimeError('usage', `${args.verb}: unknown subcommand ${args.sub}`, { hint: 'add, rm or ls' });
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd()).join('\n') + '\n';
}
