// The argv fast path: it takes only the flat command lines it reads exactly as yargs would, and leaves the
// rest (help, unknown or repeated options, wrong word counts) to yargs.

import { describe, expect, it } from 'vitest';
import { matchFastPath, type FastVerb } from '../../src/cli/fast-path.js';
import { DEFAULT_DATA_ROOT, DEFAULT_ROOT } from '../../src/cli/main.js';

const verbs: Record<string, FastVerb> = {
  state: { positionals: ['id'] },
  kill: { positionals: ['id'], optionalPositionals: ['signal'] },
  delete: { positionals: ['id'], booleans: ['force'] },
};

describe('matchFastPath', () => {
  it('reads the verb, its id and the global options wherever they stand', () => {
    expect(matchFastPath(['state', 'c1'], verbs)?.args).toEqual({ root: DEFAULT_ROOT, dataRoot: DEFAULT_DATA_ROOT, debug: false, id: 'c1' });
    expect(matchFastPath(['--root', '/r', 'state', 'c1', '--debug', '--data-root', '/d'], verbs)?.args).toEqual({
      root: '/r',
      dataRoot: '/d',
      debug: true,
      id: 'c1',
    });
  });

  it('fills optional positionals and booleans', () => {
    expect(matchFastPath(['kill', 'c1'], verbs)?.args).toMatchObject({ id: 'c1', signal: undefined });
    expect(matchFastPath(['kill', 'c1', 'KILL'], verbs)?.args).toMatchObject({ id: 'c1', signal: 'KILL' });
    expect(matchFastPath(['delete', 'c1'], verbs)?.args).toMatchObject({ id: 'c1', force: false });
    expect(matchFastPath(['delete', '--force', 'c1'], verbs)?.args).toMatchObject({ id: 'c1', force: true });
    expect(matchFastPath(['state', '123'], verbs)?.args.id).toBe('123');
  });

  it('leaves everything else to yargs', () => {
    for (const argv of [
      [],
      ['run', 'busybox'],
      ['--help'],
      ['state', '--help'],
      ['state', '-h', 'c1'],
      ['state'],
      ['state', 'c1', 'c2'],
      ['kill', 'c1', 'KILL', 'x'],
      ['state', 'c1', '--force'],
      ['delete', '-f', 'c1'],
      ['delete', '--no-force', 'c1'],
      ['delete', '--force=true', 'c1'],
      ['--root=/r', 'state', 'c1'],
      ['--root', 'state', 'c1'],
      ['--root', '--debug', 'state', 'c1'],
      ['--root', '/a', '--root', '/b', 'state', 'c1'],
      ['--version'],
      ['kill', 'c1', '-9'],
      ['state', '--', 'c1'],
      ['toString', 'c1'],
    ]) {
      expect(matchFastPath(argv, verbs), argv.join(' ')).toBeUndefined();
    }
  });
});
