// How an image's config meets the command line (docker's rules), and commit's --change instructions.

import { describe, expect, it } from 'vitest';
import { planDockerConfig, type DockerRunRequest } from '../../src/plan/docker-config.js';
import { applyChange } from '../../src/images/commit.js';
import type { ImageConfig } from '../../src/images/image-store.js';
import { normalizeReference } from '../../src/images/image-store.js';

function config(overrides: Partial<DockerRunRequest>) {
  return planDockerConfig({
    containerId: 'c1', rootfs: '/l', command: [], imageCommand: [], imageEnv: [], env: [], volumes: [], cgroupNamespace: false, ...overrides,
  });
}

describe('image defaults and flags', () => {
  it('runs ENTRYPOINT + CMD; CMD args replace Cmd; --entrypoint replaces Entrypoint and drops Cmd', () => {
    const image = { imageEntrypoint: ['/entry'], imageCommand: ['--default'] };
    expect(config(image).process!.args).toEqual(['/entry', '--default']);
    expect(config({ ...image, command: ['x'] }).process!.args).toEqual(['/entry', 'x']);
    expect(config({ ...image, entrypoint: 'sh' }).process!.args).toEqual(['sh']);
    expect(config({ ...image, entrypoint: 'sh', command: ['-c', 'true'] }).process!.args).toEqual(['sh', '-c', 'true']);
    expect(config({ ...image, entrypoint: '', command: ['ls'] }).process!.args).toEqual(['ls']);
  });

  it('takes WorkingDir, User and Env from the image unless flags say otherwise', () => {
    const image = { imageCommand: ['sh'], imageWorkdir: '/srv', imageUser: { uid: 65534, gid: 65534 }, imageEnv: ['A=image', 'B=image'] };
    const planned = config(image).process!;
    expect(planned).toMatchObject({ cwd: '/srv', user: { uid: 65534, gid: 65534 } });
    expect(planned.env).toEqual(expect.arrayContaining(['A=image', 'B=image']));
    const flagged = config({ ...image, workdir: '/tmp', env: ['A=flag'] }).process!;
    expect(flagged.cwd).toBe('/tmp');
    expect(flagged.env).toEqual(expect.arrayContaining(['A=flag', 'B=image']));
  });

  it('names images as docker: busybox is busybox:latest', () => {
    expect(normalizeReference('busybox')).toBe('busybox:latest');
    expect(normalizeReference('registry:5000/app')).toBe('registry:5000/app:latest');
    expect(normalizeReference('app:1')).toBe('app:1');
  });
});

describe('commit --change', () => {
  const base = (): ImageConfig => ({ rootfs: { type: 'layers', diff_ids: [] }, config: { Env: ['PATH=/bin', 'A=1'], Cmd: ['sh'] } });

  it('sets CMD and ENTRYPOINT in exec and shell form, ENV, WORKDIR and USER', () => {
    const image = base();
    applyChange(image, 'CMD ["cat","/f"]');
    applyChange(image, 'ENTRYPOINT echo hi');
    applyChange(image, 'ENV A=2');
    applyChange(image, 'ENV=B=3');
    applyChange(image, 'ENV C 4');
    applyChange(image, 'WORKDIR /srv');
    applyChange(image, 'USER nobody');
    expect(image.config).toEqual({
      Env: ['PATH=/bin', 'A=2', 'B=3', 'C=4'],
      Cmd: ['cat', '/f'],
      Entrypoint: ['/bin/sh', '-c', 'echo hi'],
      WorkingDir: '/srv',
      User: 'nobody',
    });
  });

  it('refuses what it cannot apply', () => {
    expect(() => applyChange(base(), 'EXPOSE 80')).toThrow(/EXPOSE is not supported/);
    expect(() => applyChange(base(), 'CMD ["a", 1]')).toThrow(/not a JSON array of strings/);
    expect(() => applyChange(base(), 'nonsense')).toThrow(/expected INSTRUCTION VALUE/);
  });
});
