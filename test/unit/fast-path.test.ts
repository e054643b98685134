// The argv fast path: it takes only the command lines it reads exactly as yargs would, and leaves the rest
// (help, unknown or repeated options, wrong word counts) to yargs. The table below holds both readers to it:
// every line is read by yargs and by the fast path, and the two must agree on the verb and on the arguments
// the verb's handler takes from them (or the fast path must decline).

import { describe, expect, it } from 'vitest';
import { FAST_VERBS, matchFastPath } from '../../src/cli/fast-path.js';
import { DEFAULT_DATA_ROOT, DEFAULT_ROOT, parseWithYargs, toExecArgs, toGlobalArgs, toRunArgs } from '../../src/cli/main.js';
import { splitArgv } from '../../src/cli/split-argv.js';

/** What each verb's handler reads from the raw arguments (main.ts's handler table). */
function handlerView(name: string, args: Record<string, unknown>): unknown {
  switch (name) {
    case 'run':
      return toRunArgs(args);
    case 'exec':
      return toExecArgs(args);
    case 'create':
      // main.ts's create handler
      return {
        ...toGlobalArgs(args),
        id: args.id,
        bundle: args.bundle,
        pidFile: args.pidFile,
        consoleSocket: args.consoleSocket,
        pivot: args.pivot !== false,
        preserveFds: Number(args.preserveFds ?? 0),
      };
    default:
      return {
        ...toGlobalArgs(args),
        id: args.id === undefined ? undefined : String(args.id),
        signal: args.signal === undefined ? undefined : String(args.signal),
        all: Boolean(args.all),
        force: Boolean(args.force),
      };
  }
}

const TAKEN = [
  'state c1',
  'state 123',
  '--root /r state c1 --debug --data-root /d',
  '--root /run/containerd/runc/k8s.io --log /run/x/log.json --log-format json state c1',
  '--systemd-cgroup start c1',
  'kill c1',
  'kill c1 KILL',
  'kill --all c1 9',
  'kill -a c1',
  'delete c1',
  'delete --force c1',
  'delete -f c1',
  'create c1',
  'create --bundle /b c1',
  '--root /run/containerd/runc/k8s.io --log /l.json --log-format json create --bundle /b --pid-file /b/init.pid c1',
  'create -b /b --pid-file /p --console-socket /s --no-pivot --no-new-keyring c1',
  'create --preserve-fds 3 -b /b c1',
  'run busybox',
  'run --rm busybox true',
  'run --rm busybox ls -la /',
  'run -d --name web busybox httpd -f',
  'run --name n1 -e A=1 -e B --env C=3 -w /tmp --hostname h busybox env',
  'run -v /a:/b -v /c:/d:ro --volume /e busybox',
  'run --memory 32m --cpus 0.5 --pids-limit 20 busybox',
  'run -m 1g busybox',
  'run --dry-run --format json busybox',
  'run --entrypoint /bin/sh busybox -c true',
  'run --bundle /b c1',
  'run -b /b --keep c1',
  'run -d -b /b --pid-file /p --console-socket /s c1',
  '--debug run --rm busybox true',
  'run --rm -- busybox -x',
  'exec c1 true',
  'exec c1 ls -la',
  'exec -t -i c1 sh',
  'exec --tty --interactive --detach c1 sh',
  'exec -e A=1 --env B=2 -w /tmp -u 1000:1000 c1 id',
  'exec --cwd /x --user 0 --cap CAP_NET_ADMIN -c CAP_SYS_ADMIN c1 id',
  'exec --preserve-fds 2 --pid-file /p c1 true',
  'exec -p /proc.json c1',
  'exec --process /proc.json --console-socket /s -d c1',
  '--root=/r state c1',
  // conmon's lines for podman's runtime named runc (JSON logs), and --runtime-flag's --opt=value form.
  '--log-format=json --log /u/oci-log create --bundle /u --pid-file /u/pidfile c1',
  '--root=/r --data-root=/d --log-format=json start c1',
  '--log-format=json --log /u/oci-log exec --pid-file /u/exec_pid --process /u/p.json --detach --tty --console-socket /s c1',
  'create --bundle=/b --pid-file=/p c1',
];

const DECLINED = [
  '',
  '--help',
  'state --help',
  'state -h c1',
  'state',
  'state c1 c2',
  'kill c1 KILL x',
  'kill c1 -9',
  'state c1 --force',
  'delete --no-force c1',
  'delete --force=true c1',
  '--root= state c1',
  '--root=-x state c1',
  '--debug=true state c1',
  '--log-format=yaml state c1',
  'create --no-pivot=1 c1',
  '--root state c1',
  '--root --debug state c1',
  '--root /a --root /b state c1',
  '--log-format yaml state c1',
  '--version',
  'toString c1',
  'list',
  'run',
  'run --rm',
  'run --rm --rm busybox',
  'run -d --detach busybox',
  'run --name a --name b busybox',
  'run --format yaml --dry-run busybox',
  'run --pids-limit -1 busybox',
  'run --no-pivot -b /b c1',
  'run --entrypoint= busybox',
  'run --rmx busybox',
  '--rm run busybox',
  'exec -it c1 sh',
  'exec --preserve-fds x c1 true',
  'exec --no-new-privs c1 true',
  'exec',
  'create',
  'create --pivot c1',
  'create --no-pivot --no-pivot c1',
  'create --preserve-fds -1 c1',
  'create --new-keyring c1',
];

const words = (line: string) => (line === '' ? [] : line.split(' '));

describe('matchFastPath', () => {
  it('reads the verb, its id and the global options wherever they stand', () => {
    expect(matchFastPath(['state', 'c1'], FAST_VERBS)?.args).toMatchObject({ root: DEFAULT_ROOT, dataRoot: DEFAULT_DATA_ROOT, debug: false, id: 'c1' });
    expect(matchFastPath(words('--root /r state c1 --debug --data-root /d'), FAST_VERBS)?.args).toMatchObject({
      root: '/r',
      dataRoot: '/d',
      debug: true,
      id: 'c1',
    });
    expect(matchFastPath(words('run -e A=1 -v /a:/b -e B busybox'), FAST_VERBS)?.args).toMatchObject({ env: ['A=1', 'B'], volume: ['/a:/b'], target: 'busybox' });
  });

  it.each(TAKEN)('takes `%s`, reading it as yargs does', async (line) => {
    const { head } = splitArgv(words(line));
    const fast = matchFastPath(head, FAST_VERBS);
    expect(fast, 'the fast path declined it').toBeDefined();
    const full = await parseWithYargs(head);
    expect(full?.name).toBe(fast!.name);
    expect(handlerView(fast!.name, fast!.args)).toEqual(handlerView(full!.name, full!.args));
  });

  it.each(DECLINED)('leaves `%s` to yargs', (line) => {
    const { head } = splitArgv(words(line));
    expect(matchFastPath(head, FAST_VERBS)).toBeUndefined();
  });
});
