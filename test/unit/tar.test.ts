// The tar reader and writer (src/images/tar.ts): our own writer's output read back, and GNU tar's long-name
// (L/K) and PAX dialects read as GNU tar wrote them.

import { execa } from 'execa';
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTar, tarHeader, tarPadding, TAR_END, type TarEntry } from '../../src/images/tar.js';
import { cleanEntryPath } from '../../src/images/unpack-layer.js';

async function* chunked(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

async function readAll(data: Buffer, chunkSize = 100): Promise<{ entry: TarEntry['header']; body: string }[]> {
  const out = [];
  for await (const { header, body } of readTar(chunked(data, chunkSize))) {
    const parts: Buffer[] = [];
    for await (const chunk of body) parts.push(chunk);
    out.push({ entry: header, body: Buffer.concat(parts).toString() });
  }
  return out;
}

const longName = `${'d'.repeat(120)}/${'f'.repeat(130)}`;

describe('tar', () => {
  it('reads back what it writes: long names and link names, big ids, xattrs, odd chunk sizes', async () => {
    const body = Buffer.from('hello\n');
    const archive = Buffer.concat([
      tarHeader({ name: 'dir/', type: 'directory', mode: 0o755 }),
      tarHeader({ name: longName, type: 'file', mode: 0o4755, size: body.length, uid: 3_000_000, gid: 7, xattrs: new Map([['user.a', Buffer.from('b')]]) }),
      body,
      tarPadding(body.length),
      tarHeader({ name: 'link', type: 'symlink', mode: 0o777, linkname: `/${longName}` }),
      tarHeader({ name: 'dev', type: 'char', mode: 0o600, devmajor: 1, devminor: 3 }),
      TAR_END,
    ]);
    for (const chunkSize of [1, 7, 512, 100_000]) {
      const entries = await readAll(archive, chunkSize);
      expect(entries.map((e) => [e.entry.name, e.entry.type])).toEqual([
        ['dir/', 'directory'], [longName, 'file'], ['link', 'symlink'], ['dev', 'char'],
      ]);
      expect(entries[1]).toMatchObject({ body: 'hello\n', entry: { mode: 0o4755, uid: 3_000_000, gid: 7 } });
      expect(entries[1]!.entry.xattrs.get('user.a')?.toString()).toBe('b');
      expect(entries[2]!.entry.linkname).toBe(`/${longName}`);
      expect(entries[3]!.entry).toMatchObject({ devmajor: 1, devminor: 3 });
    }
  });

  it('reads GNU tar\'s gnu (L/K) and pax formats', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shim-tar-'));
    try {
      await mkdir(join(dir, 'src', 'd'.repeat(120)), { recursive: true });
      await writeFile(join(dir, 'src', longName), 'long\n');
      await symlink(`/${longName}`, join(dir, 'src', 'l'.repeat(110)));
      for (const format of ['gnu', 'pax']) {
        const out = join(dir, `${format}.tar`);
        await execa('tar', [`--format=${format}`, '--sort=name', '-C', join(dir, 'src'), '-cf', out, '.']);
        const entries = await readAll(await readFile(out));
        const file = entries.find((e) => e.entry.name === `./${longName}`);
        expect(file?.body).toBe('long\n');
        expect(entries.find((e) => e.entry.type === 'symlink')?.entry).toMatchObject({ name: `./${'l'.repeat(110)}`, linkname: `/${longName}` });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a truncated archive and a bad checksum', async () => {
    const header = tarHeader({ name: 'f', type: 'file', mode: 0o644, size: 1000 });
    await expect(readAll(Buffer.concat([header, Buffer.alloc(10)]))).rejects.toThrow(/ends in the middle of an entry/);
    const bad = Buffer.from(header);
    bad[0] = 0x41;
    await expect(readAll(Buffer.concat([bad, TAR_END]))).rejects.toThrow(/bad header checksum/);
  });

  it('cleans entry names and refuses those that leave the layer', () => {
    expect(cleanEntryPath('./usr/bin/', 'layer')).toBe('usr/bin');
    expect(cleanEntryPath('.', 'layer')).toBe('');
    expect(cleanEntryPath('a/../b', 'layer')).toBe('b');
    expect(() => cleanEntryPath('../../etc/passwd', 'layer x')).toThrow('layer x: entry ../../etc/passwd escapes the layer directory');
    expect(() => cleanEntryPath('a/../../b', 'layer x')).toThrow(/escapes/);
    expect(() => cleanEntryPath('/etc/passwd', 'layer x')).toThrow('layer x: entry /etc/passwd is an absolute path');
  });
});
