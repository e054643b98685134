// ttrpc as written from its protocol (src/containerd/ttrpc.ts), and the rootfs mounts containerd hands over
// (src/containerd/rootfs-mounts.ts). The server and client talk over a real unix socket in a temp dir.

import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ttrpc } from '../../src/containerd/generated/containerd.js';
import { planRootfsMounts } from '../../src/containerd/rootfs-mounts.js';
import { socketPathOf } from '../../src/containerd/shim-paths.js';
import { Code, FrameDecoder, TtrpcClient, TtrpcError, TtrpcServer, encodeFrameHeader } from '../../src/containerd/ttrpc.js';

describe('ttrpc frames', () => {
  it('writes the 10-byte header: length and stream id big-endian, then type and flags', () => {
    expect([...encodeFrameHeader(0x0102, 0x03040506, 2, 0)]).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 2, 0]);
  });

  it('reads frames split anywhere across chunks, and several in one chunk', () => {
    const one = Buffer.concat([encodeFrameHeader(3, 1, 1), Buffer.from('abc')]);
    const two = Buffer.concat([encodeFrameHeader(2, 3, 1), Buffer.from('de')]);
    const bytes = Buffer.concat([one, two]);
    const decoder = new FrameDecoder();
    const frames = [...decoder.push(bytes.subarray(0, 4)), ...decoder.push(bytes.subarray(4, 14)), ...decoder.push(bytes.subarray(14))];
    expect(frames.map((frame) => [frame.streamId, frame.type, Buffer.from(frame.data).toString()])).toEqual([
      [1, 1, 'abc'],
      [3, 1, 'de'],
    ]);
  });

  it('refuses a frame over 4 MiB', () => {
    expect(() => new FrameDecoder().push(encodeFrameHeader(5 << 20, 1, 1))).toThrow(/over the/);
  });
});

describe('ttrpc server and client', () => {
  let dir: string;
  let server: TtrpcServer;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ttrpc-'));
    server = new TtrpcServer({
      services: new Map([
        [
          'test.v1.Echo',
          new Map([
            ['Echo', async (payload: Uint8Array) => Buffer.concat([Buffer.from('echo:'), payload])],
            [
              'Slow',
              async (payload: Uint8Array) => {
                await new Promise((done) => setTimeout(done, 50));
                return payload;
              },
            ],
            [
              'Missing',
              async () => {
                throw new TtrpcError(Code.NOT_FOUND, 'no such thing');
              },
            ],
          ]),
        ],
      ]),
    });
    await server.listen(join(dir, 'sock'));
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers calls in flight by stream id, whatever order they finish in', async () => {
    const client = await TtrpcClient.connect(join(dir, 'sock'));
    const [slow, fast] = await Promise.all([client.call('test.v1.Echo', 'Slow', Buffer.from('1')), client.call('test.v1.Echo', 'Echo', Buffer.from('2'))]);
    expect(Buffer.from(slow).toString()).toBe('1');
    expect(Buffer.from(fast).toString()).toBe('echo:2');
    client.close();
  });

  it('carries a handler error as its status code, and an unknown method as UNIMPLEMENTED', async () => {
    const client = await TtrpcClient.connect(join(dir, 'sock'));
    await expect(client.call('test.v1.Echo', 'Missing', new Uint8Array())).rejects.toMatchObject({ code: Code.NOT_FOUND, message: 'no such thing' });
    await expect(client.call('test.v1.Echo', 'Nope', new Uint8Array())).rejects.toMatchObject({ code: Code.UNIMPLEMENTED });
    client.close();
  });

  it('speaks the wire format: a raw Request frame gets a Response frame on the same stream id', async () => {
    const request = ttrpc.Request.encode({ service: 'test.v1.Echo', method: 'Echo', payload: Buffer.from('x') }).finish();
    const response = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect(join(dir, 'sock'));
      let received = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        received = Buffer.concat([received, chunk]);
        if (received.length >= 10 && received.length >= 10 + received.readUInt32BE(0)) {
          socket.destroy();
          resolve(received);
        }
      });
      socket.on('error', reject);
      socket.write(Buffer.concat([encodeFrameHeader(request.length, 7, 1), request]));
    });
    expect(response.readUInt32BE(4)).toBe(7);
    expect(response.readUInt8(8)).toBe(2);
    const decoded = ttrpc.Response.decode(response.subarray(10));
    expect(decoded.status?.code ?? 0).toBe(0);
    expect(Buffer.from(decoded.payload).toString()).toBe('echo:x');
  });
});

describe('rootfs mounts and socket paths', () => {
  it('plans containerd overlay mounts as the helper mounts layers (topmost first), and a bind as a directory', () => {
    const overlay = planRootfsMounts(
      [{ type: 'overlay', source: 'overlay', options: ['index=off', 'workdir=/s/2/work', 'upperdir=/s/2/fs', 'lowerdir=/s/1/fs:/s/0/fs'] }],
      '/b/rootfs',
    );
    expect(overlay).toEqual({ overlay: { mountPoint: '/b/rootfs', upperDir: '/s/2/fs', workDir: '/s/2/work', lowerDirs: ['/s/1/fs', '/s/0/fs'] } });
    expect(planRootfsMounts([{ type: 'bind', source: '/s/1/fs', options: ['rbind', 'rw'] }], '/b/rootfs')).toEqual({ directory: '/s/1/fs' });
    expect(planRootfsMounts([], '/b/rootfs')).toBeUndefined();
    expect(() => planRootfsMounts([{ type: 'tmpfs', source: 'x', options: [] }], '/b/rootfs')).toThrow(/tmpfs/);
  });

  it('puts the socket beside containerd\'s, one per namespace group, within the unix path limit', () => {
    const a = socketPathOf('/run/containerd/containerd.sock', 'default', 'namespace:default');
    expect(a).toMatch(/^\/run\/containerd\/s\/[0-9a-f]{32}$/);
    expect(socketPathOf('/run/containerd/containerd.sock', 'default', 'namespace:default')).toBe(a);
    expect(socketPathOf('/run/containerd/containerd.sock', 'other', 'namespace:other')).not.toBe(a);
    expect(socketPathOf(`/${'d'.repeat(100)}/c.sock`, 'n', 'g')).toMatch(/^\/run\/shim-containerd\/s\//);
  });
});
