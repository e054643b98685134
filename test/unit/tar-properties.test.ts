// Property tests (fast-check) for the tar reader and the layer unpacker, the first code to touch an image's
// bytes: whatever an archive holds, readTar() either yields entries whose numbers are real numbers or stops
// with the project's own RuntimeError (one line), in bounded time; what tarHeader() writes reads back the
// same; unpackTar() never makes anything outside its directory, whatever names and links the entries carry.
// Bounded numRuns keep the unit tier quick; a failure prints its seed and the shrunk counterexample.

import fc from 'fast-check';
import { lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRuntimeError } from '../../src/errors.js';
import { readTar, tarHeader, tarPadding, TAR_END, type TarEntryType } from '../../src/images/tar.js';
import { unpackTar } from '../../src/images/unpack-layer.js';

async function* chunked(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

async function readAll(data: Buffer, chunkSize: number) {
  const out = [];
  for await (const { header, body } of readTar(chunked(data, chunkSize))) {
    const parts: Buffer[] = [];
    for await (const chunk of body) parts.push(chunk);
    out.push({ header, body: Buffer.concat(parts) });
  }
  return out;
}

/** Runs `work`; anything thrown must be a RuntimeError with a one-line message. */
async function onlyRuntimeErrors(work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!isRuntimeError(error)) throw new Error(`threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`);
    expect(error.message).not.toContain('\n');
  }
}

const nameChars = fc.constantFrom('a', 'b', 'é', '/', '.', '-', ' ');
const entryName = fc.stringOf(nameChars, { minLength: 1, maxLength: 160 }).filter((name) => !name.startsWith('/'));
const writable = fc.record({
  name: entryName,
  type: fc.constantFrom<TarEntryType>('file', 'directory', 'symlink', 'hardlink', 'char', 'block', 'fifo'),
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  gid: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  mtime: fc.integer({ min: 0, max: 2 ** 33 }),
  linkname: fc.stringOf(nameChars, { maxLength: 150 }),
  devmajor: fc.integer({ min: 0, max: 0o7777777 }),
  devminor: fc.integer({ min: 0, max: 0o7777777 }),
  data: fc.uint8Array({ maxLength: 1100 }),
  xattrs: fc.array(fc.tuple(fc.constantFrom('user.a', 'user.b', 'security.capability'), fc.uint8Array({ maxLength: 20 })), { maxLength: 2 }),
});

type Writable = typeof writable extends fc.Arbitrary<infer T> ? T : never;

function archiveOf(entries: Writable[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.type === 'file' ? Buffer.from(e.data) : Buffer.alloc(0);
    parts.push(tarHeader({ ...e, size: data.length, xattrs: new Map(e.xattrs.map(([k, v]) => [k, Buffer.from(v)])) }), data, tarPadding(data.length));
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

describe('tar reader properties', () => {
  it('reads back what tarHeader writes, whatever the names, numbers, xattrs and chunking', async () => {
    await fc.assert(fc.asyncProperty(fc.array(writable, { maxLength: 5 }), fc.integer({ min: 1, max: 700 }), async (entries, chunk) => {
      const read = await readAll(archiveOf(entries), chunk);
      expect(read.length).toBe(entries.length);
      read.forEach(({ header, body }, i) => {
        const e = entries[i]!;
        expect(header).toMatchObject({ name: e.name, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, linkname: e.linkname });
        if (e.type === 'char' || e.type === 'block') expect([header.devmajor, header.devminor]).toEqual([e.devmajor, e.devminor]);
        expect(body.equals(e.type === 'file' ? Buffer.from(e.data) : Buffer.alloc(0))).toBe(true);
        expect(new Map([...header.xattrs].map(([k, v]) => [k, v.toString('hex')]))).toEqual(new Map(e.xattrs.map(([k, v]) => [k, Buffer.from(v).toString('hex')])));
      });
    }), { numRuns: 60 });
  });

  it('random bytes: entries with real numbers, or a RuntimeError', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (bytes) => {
      await onlyRuntimeErrors(async () => checkNumbers(await readAll(Buffer.from(bytes), 512)));
    }), { numRuns: 200 });
  });

  it('a valid archive with bytes overwritten (headers, sizes, pax records): entries with real numbers, or a RuntimeError', async () => {
    const mutation = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 });
    await fc.assert(fc.asyncProperty(fc.array(writable, { minLength: 1, maxLength: 3 }), mutation, async (entries, changes) => {
      const archive = archiveOf(entries);
      for (const [at, byte] of changes) archive[at % archive.length] = byte;
      // Keep the checksums right, so the damage reaches the fields behind them.
      for (let offset = 0; offset + 512 <= archive.length; offset += 512) fixChecksum(archive.subarray(offset, offset + 512));
      await onlyRuntimeErrors(async () => checkNumbers(await readAll(archive, 333)));
    }), { numRuns: 150 });
  });

  it('hostile pax records and GNU numbers: a RuntimeError, never NaN or a negative size', async () => {
    const field = fc.oneof(fc.constantFrom('uid', 'gid', 'size', 'mtime', 'path', 'linkpath'), fc.string({ maxLength: 8 }));
    const value = fc.oneof(fc.constantFrom('-1', 'NaN', '1e400', '0x10', '', ' 5', '99999999999999999999', '-0'), fc.string({ maxLength: 10 }));
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(field, value), { maxLength: 4 }), fc.uint8Array({ maxLength: 40 }), async (records, junk) => {
      const text = Buffer.concat([...records.map(([k, v]) => {
        const body = ` ${k}=${v}\n`;
        let length = body.length + 1;
        while (String(length).length + body.length !== length) length = String(length).length + body.length;
        return Buffer.from(`${length}${body}`);
      }), Buffer.from(junk)]);
      const pax = Buffer.alloc(512);
      pax.write('PaxHeader', 0);
      pax.write('0000644\0', 100);
      pax.write(text.length.toString(8).padStart(11, '0') + '\0', 124);
      pax.write('x', 156);
      pax.write('ustar\x0000', 257, 'latin1');
      fixChecksum(pax);
      const archive = Buffer.concat([pax, text, tarPadding(text.length), tarHeader({ name: 'f', type: 'file', mode: 0o644, size: 3 }), Buffer.from('abc'), tarPadding(3), TAR_END]);
      await onlyRuntimeErrors(async () => checkNumbers(await readAll(archive, 512)));
    }), { numRuns: 200 });
  });
});

function fixChecksum(block: Buffer): void {
  if (block.every((b) => b === 0)) return;
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
}

function checkNumbers(entries: Awaited<ReturnType<typeof readAll>>): void {
  for (const { header } of entries) {
    for (const key of ['mode', 'uid', 'gid', 'size', 'devmajor', 'devminor'] as const) {
      expect(Number.isSafeInteger(header[key]) && header[key] >= 0, `${key} ${header[key]}`).toBe(true);
    }
    expect(Number.isFinite(header.mtime), `mtime ${header.mtime}`).toBe(true);
  }
}

describe('layer unpacking properties', () => {
  let base: string;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'shim-tar-prop-'));
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('hostile names, symlinks and hard links: nothing outside the layer directory, only RuntimeErrors', async () => {
    const hostileName = fc.oneof(
      fc.constantFrom('../x', '/etc/x', 'a/../../x', 'link/x', 'link/../x', './link/y', 'up/z', 'a', 'a/b', '.wh.a', 'a/.wh..wh..opq', '.', './'),
      fc.stringOf(fc.constantFrom('a', 'link', 'up', '..', '.', '/'), { minLength: 1, maxLength: 6 }),
    );
    const entry = fc.record({
      name: hostileName,
      type: fc.constantFrom<TarEntryType>('file', 'directory', 'symlink', 'hardlink'),
      linkname: fc.constantFrom('..', '../..', '/', '/etc', '../outside', 'a', 'link', 'up/../..', '/etc/passwd'),
      data: fc.uint8Array({ maxLength: 10 }),
    });
    let run = 0;
    await fc.assert(fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 6 }), async (entries) => {
      const dir = join(base, String(run++));
      const layer = join(dir, 'layer');
      await mkdir(layer, { recursive: true });
      const archive = archiveOf(entries.map((e) => ({ ...e, mode: 0o755, uid: 0, gid: 0, mtime: 0, devmajor: 0, devminor: 0, xattrs: [] })));
      await onlyRuntimeErrors(() => unpackTar(readTar(chunked(archive, 512)), layer, 'layer'));
      // The layer's parent holds only the layer: nothing was written beside it, or above it.
      expect(await readdir(dir)).toEqual(['layer']);
      expect((await lstat(join(base, '..', 'outside')).catch(() => undefined))).toBeUndefined();
      await rm(dir, { recursive: true, force: true });
    }), { numRuns: 80 });
  });
});
