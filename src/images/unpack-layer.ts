// Unpacking one layer tar into its own directory. Node makes directories, files, symlinks and hardlinks and
// sets their owners and modes; what Node cannot make (device nodes, FIFOs, overlay whiteouts, xattrs such as
// the opaque marker) is collected and made by the helper in one run per layer (ACTION_APPLY_NODES).
//
// The layer directory is new and only this code writes into it, so it knows every non-directory it made: an
// entry whose path goes through one of those (a symlink "etc -> /etc", then "etc/passwd") would be written
// outside the layer by a plain open(), and is refused. So are absolute names and names that climb out with "..".

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chown, link, lchown, lutimes, mkdir, open, rename, rm, symlink, utimes, chmod, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { RuntimeError, hasErrnoCode, systemError } from '../errors.js';
import type { Logger } from '../log.js';
import { runHelper } from '../helper/run-helper.js';
import { encodeApplyNodesSpec, type LayerNode } from '../spec/encode-spec.js';
import { digestFile, type ImageStore } from './image-store.js';
import { readTar } from './tar.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

/** Passes bytes through, hashing them and counting them. */
export class HashingStream extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  readonly #onBytes: ((n: number) => void) | undefined;

  constructor(onBytes?: (n: number) => void) {
    super();
    this.#onBytes = onBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.#onBytes?.(chunk.length);
    done(null, chunk);
  }

  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/**
 * A layer entry's name as a path relative to the layer: "./usr/bin/" -> "usr/bin", "." -> "". Refuses
 * absolute names and names that leave the layer.
 */
export function cleanEntryPath(name: string, what: string): string {
  if (name.startsWith('/')) throw escapeError(what, name, 'is an absolute path');
  const normalized = posix.normalize(name).replace(/\/+$/, '');
  if (normalized === '..' || normalized.startsWith('../')) throw escapeError(what, name, 'escapes the layer directory');
  return normalized === '.' ? '' : normalized;
}

function escapeError(what: string, name: string, reason: string): RuntimeError {
  return new RuntimeError('invalid-config', `${what}: entry ${name} ${reason}`, { hint: 'the layer was refused; nothing was written outside it' });
}

/** "a/b/c" -> ["a", "a/b"] */
function ancestors(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, index) => parts.slice(0, index + 1).join('/'));
}

export interface LayerSource {
  /** The blob file (a tar, or a gzip of one). */
  file: string;
  /** Expected sha256 of the blob and of the uncompressed tar. */
  digest: string;
  diffId: string;
  /** For progress. */
  onBytes?: ((n: number) => void) | undefined;
}

export interface UnpackOptions {
  helperPath: string;
  log: Logger;
}

/**
 * Verifies a layer blob and unpacks it once into its content-addressed directory. The layer goes to a temporary
 * directory first and is renamed into place only when whole and verified: a corrupt or refused layer leaves
 * nothing. Returns true when the layer was new.
 */
export async function importLayer(store: ImageStore, source: LayerSource, options: UnpackOptions): Promise<boolean> {
  const finalDir = store.layerDir(source.diffId);
  const exists = await stat(finalDir).then(() => true, () => false);
  const what = `layer ${source.digest.slice(0, 19)}`;
  const temporary = await store.tempPath('layer');
  try {
    const compressed = new HashingStream(source.onBytes);
    const uncompressed = new HashingStream();
    // Sniffed before the stream exists: a stream opened first could fail (a blob that is missing) while this
    // awaits, with no 'error' listener yet, and take the whole process down with an unhandled error event.
    const gzip = await isGzip(source.file);
    const input = createReadStream(source.file);
    // pipe() does not pass errors on: each stage's error is sent to the last one, which is what is read.
    let tail: NodeJS.ReadableStream = input.pipe(compressed);
    if (gzip) tail = tail.pipe(createGunzip().on('error', (error) => uncompressed.destroy(error)));
    const last = tail.pipe(uncompressed);
    input.on('error', (error) => uncompressed.destroy(error));
    if (exists) {
      // Shared with an image already here: only the digests are checked.
      for await (const _ of last);
    } else {
      await mkdir(temporary, { mode: 0o755 });
      const nodes = await unpackTar(readTar(last as AsyncIterable<Buffer>), temporary, what);
      await applyNodes(temporary, nodes, options);
    }
    const digest = compressed.digest();
    const diffId = uncompressed.digest();
    if (digest !== source.digest) {
      throw new RuntimeError('invalid-config', `${what}: digest mismatch: the blob is ${digest}`, { hint: 'the archive is corrupt' });
    }
    if (diffId !== source.diffId) {
      throw new RuntimeError('invalid-config', `${what}: diff_id mismatch: the tar is ${diffId}, the config says ${source.diffId}`, {
        hint: 'the archive is corrupt',
      });
    }
    if (exists) return false;
    await mkdir(join(store.dir, 'layers', 'sha256'), { recursive: true });
    try {
      await rename(temporary, finalDir);
    } catch (error) {
      // Another import of the same layer finished first: its copy is as good as this one.
      if (!hasErrnoCode(error, 'ENOTEMPTY') && !hasErrnoCode(error, 'EEXIST')) throw error;
      return false;
    }
    return true;
  } catch (error) {
    // A blob that is not what the manifest names fails as garbage somewhere in gunzip or the tar reader
    // before its digest can be compared: say what is really wrong (the blob is corrupt), not the symptom.
    if (!(error instanceof RuntimeError && / (digest|diff_id) mismatch/.test(error.message))) {
      const digest = await digestFile(source.file).catch(() => undefined);
      if (digest !== undefined && digest !== source.digest) {
        throw new RuntimeError('invalid-config', `${what}: digest mismatch: the blob is ${digest}`, { hint: 'the archive is corrupt' });
      }
    }
    if (hasErrnoCode(error, 'Z_DATA_ERROR') || hasErrnoCode(error, 'Z_BUF_ERROR')) {
      throw new RuntimeError('invalid-config', `${what}: not a valid gzip stream`, { hint: 'the archive is corrupt' });
    }
    if (error instanceof RuntimeError && error.message.startsWith('read tar:')) {
      throw new RuntimeError(error.code, `${what}: ${error.message}`, { hint: error.hint });
    }
    throw systemError(error, `unpack ${what}`);
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

/** By the magic bytes, not the media type: docker's and OCI's names differ, the bytes do not lie. */
async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4), 0, 4, 0);
    if (bytesRead === 4 && buffer.readUInt32LE(0) === 0xfd2fb528) {
      throw new RuntimeError('unsupported', `layer ${file.split('/').pop()?.slice(0, 12)}: zstd-compressed layers are not supported`, {
        hint: 'export the image with gzip or uncompressed layers',
      });
    }
    return bytesRead >= 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** Writes the entries into dir; returns the nodes left for the helper. */
export async function unpackTar(entries: AsyncIterable<import('./tar.js').TarEntry>, dir: string, what: string): Promise<LayerNode[]> {
  /** Non-directories made so far, by relative path, with a symlink's target. */
  const nonDirs = new Map<string, string>();
  /** Directories made so far: the layer starts empty, so anything not in one of these two does not exist. */
  const dirs = new Set<string>(['.']);
  const nodes: LayerNode[] = [];
  const ensureParent = async (parent: string) => {
    if (dirs.has(parent)) return;
    await mkdir(join(dir, parent), { recursive: true });
    for (let path = parent; path !== '.' && !dirs.has(path); path = posix.dirname(path)) dirs.add(path);
  };
  // Only what this layer made can be in the way (a layer may name a path twice); skipping the lookup for
  // everything else keeps a layer of many small files at a few syscalls per file.
  // A file's last steps (owner, mode, times, close) need nothing from the entries after it: they run in the
  // background, a bounded number at a time, so a layer of small files is not one thread-pool round trip per
  // step. Anything that could touch an earlier path (removing it, linking to it, the end) waits for them.
  const pending = new Set<Promise<void>>();
  let pendingError: unknown;
  const flush = async () => {
    await Promise.all(pending);
    if (pendingError !== undefined) throw pendingError;
  };
  const inBackground = async (work: () => Promise<void>) => {
    if (pending.size >= 64) await Promise.race(pending);
    if (pendingError !== undefined) throw pendingError;
    const promise: Promise<void> = work().catch((error: unknown) => {
      pendingError ??= error;
    }).finally(() => pending.delete(promise));
    pending.add(promise);
  };
  const removeMade = async (rel: string) => {
    if (nonDirs.has(rel) || dirs.has(rel)) {
      await flush();
      await rm(join(dir, rel), { recursive: true, force: true });
      nonDirs.delete(rel);
      for (const made of [...dirs]) if (made === rel || made.startsWith(`${rel}/`)) dirs.delete(made);
      // A directory removed again (a whiteout of it, a file of its name) has no times left to set.
      const full = join(dir, rel);
      for (let i = directoryTimes.length - 1; i >= 0; i--) {
        if (directoryTimes[i]![0] === full || directoryTimes[i]![0].startsWith(`${full}/`)) directoryTimes.splice(i, 1);
      }
    }
  };
  const directoryTimes: [string, number][] = [];
  const checkThrough = (path: string, name: string) => {
    for (const ancestor of ancestors(path)) {
      if (nonDirs.has(ancestor)) {
        const target = nonDirs.get(ancestor);
        throw escapeError(what, name, `goes through ${target ? `the symlink ${ancestor} -> ${target}` : `${ancestor}, which is not a directory`}`);
      }
    }
  };
  for await (const { header, body } of entries) {
    // A failing call of the filesystem (a hard link to a name the layer has not made yet, a file where a
    // directory already is) is the layer's fault: one line naming the entry, not Node's error.
    await unpackEntry(header, body).catch((error: unknown) => {
      throw systemError(error, `${what}: unpack entry ${header.name}`);
    });
  }
  await flush();
  // Last, deepest first: making an entry inside a directory changes the directory's mtime.
  for (const [path, mtime] of directoryTimes.reverse()) await utimes(path, mtime, mtime);
  return nodes;

  async function unpackEntry(header: import('./tar.js').TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    const rel = cleanEntryPath(header.name, what);
    if (rel === '') return;
    checkThrough(rel, header.name);
    const parent = posix.dirname(rel);
    const base = posix.basename(rel);
    await ensureParent(parent);

    if (base === OPAQUE_MARKER) {
      if (parent !== '.') nodes.push(node(parent, 'existing', header, [{ name: OPAQUE_XATTR, value: Buffer.from('y') }]));
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      const hidden = posix.join(parent, base.slice(WHITEOUT_PREFIX.length));
      await removeMade(hidden);
      nodes.push({ ...node(hidden, 'char', header, []), mode: 0, major: 0, minor: 0, uid: 0, gid: 0 });
      nonDirs.set(hidden, '');
      return;
    }

    const full = join(dir, rel);
    if (header.type !== 'directory') {
      await removeMade(rel);
      nonDirs.set(rel, header.type === 'symlink' ? header.linkname : '');
    } else if (nonDirs.has(rel)) {
      await removeMade(rel);
    }
    const xattrs = [...header.xattrs].map(([name, value]) => ({ name, value }));
    switch (header.type) {
      case 'directory':
        if (!dirs.has(rel)) {
          await mkdir(full).catch((error: unknown) => {
            if (!hasErrnoCode(error, 'EEXIST')) throw error;
          });
          dirs.add(rel);
        }
        await chown(full, header.uid, header.gid);
        await chmod(full, header.mode);
        directoryTimes.push([full, header.mtime]);
        break;
      case 'file': {
        const handle = await open(full, 'wx', 0o600);
        try {
          for await (const chunk of body) await handle.write(chunk);
        } catch (error) {
          await handle.close();
          throw error;
        }
        await inBackground(async () => {
          try {
            // chown first: it drops set-id bits, which the chmod after it puts back. Always: a setgid parent
            // gives a new file its own group.
            await handle.chown(header.uid, header.gid);
            await handle.chmod(header.mode);
            await handle.utimes(header.mtime, header.mtime);
          } finally {
            await handle.close();
          }
        });
        break;
      }
      case 'symlink':
        await symlink(header.linkname, full);
        await lchown(full, header.uid, header.gid);
        await lutimes(full, header.mtime, header.mtime);
        break;
      case 'hardlink': {
        const target = cleanEntryPath(header.linkname, what);
        checkThrough(target, header.linkname);
        if (nodes.some((made) => made.path === target && made.kind !== 'existing')) {
          throw new RuntimeError('unsupported', `${what}: entry ${header.name}: a hardlink to a device node is not supported`);
        }
        if (target !== '') nonDirs.set(rel, nonDirs.get(target) ?? '');
        await flush();
        // link(2) does not follow a symlink at the target: the new name is that same symlink.
        await link(join(dir, target), full).catch((error: unknown) => {
          // The link names an entry the layer has not made (so far): the layer's fault, said without the temp path.
          if (hasErrnoCode(error, 'ENOENT')) {
            throw new RuntimeError('invalid-config', `${what}: entry ${header.name} is a hardlink to ${header.linkname}, which the layer does not hold`, { hint: 'the layer was refused' });
          }
          throw error;
        });
        break;
      }
      case 'char':
      case 'block':
      case 'fifo':
        nodes.push({ ...node(rel, header.type, header, xattrs), major: header.devmajor, minor: header.devminor });
        return;
    }
    if (xattrs.length > 0) nodes.push(node(rel, 'existing', header, xattrs));
  }
}

function node(path: string, kind: LayerNode['kind'], header: { mode: number; uid: number; gid: number }, xattrs: LayerNode['xattrs']): LayerNode {
  return { path, kind, mode: header.mode, major: 0, minor: 0, uid: header.uid, gid: header.gid, xattrs };
}

/** One helper run per layer (more only for a layer whose node list would not fit in one spec frame). */
export async function applyNodes(layerDir: string, nodes: readonly LayerNode[], options: UnpackOptions): Promise<void> {
  const BATCH_BYTES = 8 * 1024 * 1024;
  let start = 0;
  while (start < nodes.length) {
    let end = start;
    let bytes = 0;
    while (end < nodes.length && bytes < BATCH_BYTES) {
      const candidate = nodes[end]!;
      bytes += candidate.path.length + 32 + candidate.xattrs.reduce((sum, xattr) => sum + xattr.name.length + xattr.value.length + 8, 0);
      end++;
    }
    const outcome = await runHelper({ helperPath: options.helperPath, spec: encodeApplyNodesSpec(layerDir, nodes.slice(start, end)), log: options.log });
    if (outcome.error) {
      throw new RuntimeError('system', outcome.error.message || 'apply layer nodes', {
        stage: outcome.error.stage,
        errno: outcome.error.errno,
        path: outcome.error.path,
      });
    }
    if (outcome.helperExitCode !== 0) {
      throw new RuntimeError('helper-failed', `helper exited with ${outcome.helperSignal ?? `code ${outcome.helperExitCode}`} while unpacking a layer`);
    }
    start = end;
  }
}
