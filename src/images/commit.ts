// `shim commit` and `shim diff`: the container's read-write (upper) layer read back as an image layer.
//
// The upper dir holds overlay's own encodings: a deleted file is a character device 0/0, a directory whose
// lower contents are hidden carries trusted.overlay.opaque=y. The first is visible to lstat; the second
// needs lgetxattr, which Node lacks. It is read with getfattr (Debian's attr package), one process for the
// whole tree that prints only the directories carrying the attribute: a read-only query needs no new helper
// action, and the helper stays the place for operations that change the filesystem.

import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { RuntimeError, hasErrnoCode, systemError } from '../errors.js';
import type { Logger } from '../log.js';
import { StateStore, type ContainerState } from '../state/state-store.js';
import { ImageStore, MEDIA_TYPE_LAYER_GZIP, type ImageConfig, type ImageManifest } from './image-store.js';
import { tarHeader, tarPadding, TAR_END, type TarWriteEntry } from './tar.js';
import { HashingStream, OPAQUE_MARKER, WHITEOUT_PREFIX, importLayer } from './unpack-layer.js';

/** The init layer's files: the runtime's, never the container's (see writeInitLayer). */
const INIT_LAYER_PATHS = new Set(['etc/hostname', 'etc/hosts', 'etc/resolv.conf']);

export interface UpperEntry {
  /** Relative to the upper dir. */
  path: string;
  kind: 'whiteout' | 'directory' | 'file' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  opaque: boolean;
  stats: import('node:fs').Stats;
}

export async function readOpaqueDirs(upperDir: string): Promise<Set<string>> {
  const { execa } = await import('execa');
  const result = await execa('getfattr', ['-R', '-P', '--absolute-names', '-d', '-m', '^trusted\\.overlay\\.opaque$', upperDir], {
    reject: false,
  });
  if (result.exitCode !== 0 && result.exitCode !== 1) {
    throw new RuntimeError('system', `read opaque directories: getfattr failed: ${String(result.stderr).trim()}`, {
      path: upperDir,
      hint: 'install attr (apt-get install attr)',
    });
  }
  const opaque = new Set<string>();
  let file: string | undefined;
  for (const line of String(result.stdout).split('\n')) {
    if (line.startsWith('# file: ')) file = unescapeGetfattr(line.slice(8));
    else if (file !== undefined && line === 'trusted.overlay.opaque="y"') {
      opaque.add(posix.relative(upperDir, file));
    }
  }
  return opaque;
}

function unescapeGetfattr(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))).replace(/\\\\/g, '\\');
}

/** Every entry of the upper dir, parents before children, sorted by name. */
export async function* walkUpper(upperDir: string, opaque: Set<string>, rel = ''): AsyncGenerator<UpperEntry> {
  const names = (await readdir(join(upperDir, rel))).sort();
  for (const name of names) {
    const path = rel ? `${rel}/${name}` : name;
    const stats = await lstat(join(upperDir, path));
    let kind: UpperEntry['kind'];
    if (stats.isDirectory()) kind = 'directory';
    else if (stats.isCharacterDevice() && stats.rdev === 0) kind = 'whiteout';
    else if (stats.isCharacterDevice()) kind = 'char';
    else if (stats.isBlockDevice()) kind = 'block';
    else if (stats.isFIFO()) kind = 'fifo';
    else if (stats.isSymbolicLink()) kind = 'symlink';
    else if (stats.isSocket()) kind = 'socket';
    else kind = 'file';
    yield { path, kind, opaque: kind === 'directory' && opaque.has(path), stats };
    if (kind === 'directory') yield* walkUpper(upperDir, opaque, path);
  }
}

export async function readContainer(root: string, id: string): Promise<ContainerState & { containerDir: string }> {
  const state = await new StateStore(root).readState(id);
  if (!state.containerDir) {
    throw new RuntimeError('unsupported', `container ${id} has no read-write layer (a bundle run)`, { containerId: id });
  }
  return state as ContainerState & { containerDir: string };
}

// --- diff ---------------------------------------------------------------------------------------------------

/** docker diff: A added, C changed, D deleted, one line per path. */
export async function diffContainer(root: string, dataRoot: string, id: string): Promise<string[]> {
  const state = await readContainer(root, id);
  const upper = join(state.containerDir, 'upper');
  const lowers = await imageLayerDirs(dataRoot, state);
  const lines: string[] = [];
  for await (const entry of walkUpper(upper, await readOpaqueDirs(upper))) {
    if (entry.kind === 'whiteout') lines.push(`D /${entry.path}`);
    else lines.push(`${(await existsInLayers(lowers, entry.path)) ? 'C' : 'A'} /${entry.path}`);
  }
  return lines;
}

async function imageLayerDirs(dataRoot: string, state: ContainerState): Promise<string[]> {
  const store = new ImageStore(dataRoot);
  const image = state.imageId ? await store.find(state.imageId) : undefined;
  return image ? [...image.layerDirs].reverse() : [];
}

async function existsInLayers(layerDirs: readonly string[], path: string): Promise<boolean> {
  for (const dir of layerDirs) {
    try {
      const stats = await lstat(join(dir, path));
      return !(stats.isCharacterDevice() && stats.rdev === 0);
    } catch (error) {
      if (!hasErrnoCode(error, 'ENOENT') && !hasErrnoCode(error, 'ENOTDIR')) throw error;
    }
  }
  return false;
}

// --- commit -------------------------------------------------------------------------------------------------

export interface CommitOptions {
  root: string;
  dataRoot: string;
  helperPath: string;
  log: Logger;
  /** Dockerfile-style instructions: CMD, ENTRYPOINT, ENV, WORKDIR, USER. */
  changes: string[];
  pause: boolean;
  comment?: string | undefined;
  author?: string | undefined;
}

export async function commitContainer(id: string, name: string, options: CommitOptions): Promise<{ name: string; imageId: string }> {
  const state = await readContainer(options.root, id);
  const store = new ImageStore(options.dataRoot);
  const base = state.imageId ? await store.find(state.imageId) : undefined;
  if (!base) {
    throw new RuntimeError('unsupported', `commit ${id}: its image ${state.image ?? '?'} is not in the image store`, {
      hint: 'only containers run from a stored image can be committed',
    });
  }
  const config = structuredClone(base.config) as ImageConfig;
  config.config ??= {};
  for (const change of options.changes) applyChange(config, change);

  // What an earlier commit or import killed half-way left goes first (image-store.ts says how it is known).
  await store.collectGarbage();
  const unfreeze = options.pause ? await freeze(state, options.log) : undefined;
  const layerFile = await store.tempPath('commit-layer');
  let digest: string;
  let diffId: string;
  let size: number;
  try {
    const upper = join(state.containerDir, 'upper');
    const uncompressed = new HashingStream();
    const compressed = new HashingStream();
    const mountPoints = await volumeMountPoints(options.root, id);
    await pipeline(
      Readable.from(layerTar(upper, await readOpaqueDirs(upper), mountPoints, [...base.layerDirs].reverse())),
      uncompressed,
      createGzip(),
      compressed,
      createWriteStream(layerFile, { mode: 0o600 }),
    );
    digest = compressed.digest();
    diffId = uncompressed.digest();
    size = compressed.bytes;
    options.log.debug(`commit: layer packed, ${size} bytes`);
  } catch (error) {
    // ENOSPC while packing, most likely: the half-written layer file must not stay in tmp/.
    await rm(layerFile, { force: true });
    throw systemError(error, `commit ${id}: pack the layer`, { path: layerFile });
  } finally {
    await unfreeze?.();
  }
  let tagged = false;
  try {
    // Unpacked once into its own layer directory, exactly as an imported layer: the new image runs at once.
    await importLayer(store, { file: layerFile, digest, diffId }, options);
    options.log.debug('commit: layer unpacked');
    if (!(await lstat(store.blobPath(digest)).then(() => true, () => false))) await store.adoptBlob(layerFile, digest);
    const created = new Date().toISOString();
    config.created = created;
    config.rootfs = { type: 'layers', diff_ids: [...config.rootfs.diff_ids, diffId] };
    config.history = [
      ...(config.history ?? []),
      { created, created_by: `shim commit ${id}`, ...(options.comment ? { comment: options.comment } : {}) },
    ];
    const configBytes = Buffer.from(JSON.stringify(config));
    const configDigest = await store.putBlob(configBytes);
    const manifest: ImageManifest = {
      ...base.manifest,
      config: { ...base.manifest.config, digest: configDigest, size: configBytes.length },
      layers: [...base.manifest.layers, { mediaType: MEDIA_TYPE_LAYER_GZIP, digest, size }],
    };
    const manifestDigest = await store.putBlob(Buffer.from(JSON.stringify(manifest)));
    options.log.debug('commit: blobs stored');
    await store.tag(name, manifestDigest);
    tagged = true;
    options.log.debug(`commit: tagged ${name}`);
    return { name, imageId: configDigest };
  } finally {
    await rm(layerFile, { force: true });
    // A commit that failed after placing its layer or blobs (out of space writing the config, say) leaves
    // them named by no image: they go now, unless another shim's import or commit is under way.
    if (!tagged) await store.collectGarbage().catch((error: unknown) => options.log.warn(`commit: clean up the image store: ${(error as Error).message}`));
  }
}

/** The destinations of the container's bind mounts (volumes): their empty directories belong in the image. */
async function volumeMountPoints(root: string, id: string): Promise<string[]> {
  try {
    const config = JSON.parse(await readFile(join(new StateStore(root).dirOf(id), 'config.json'), 'utf8')) as {
      mounts?: { destination: string; type?: string; options?: string[] }[];
    };
    return (config.mounts ?? [])
      .filter((mount) => mount.type === 'bind' && mount.options?.includes('rbind'))
      .map((mount) => mount.destination.replace(/^\/+/, ''));
  } catch {
    return [];
  }
}

async function* layerTar(upper: string, opaque: Set<string>, mountPoints: string[], lowerDirs: string[]): AsyncGenerator<Buffer> {
  const firstPathOfInode = new Map<string, string>();
  const written = new Set<string>();
  for await (const entry of walkUpper(upper, opaque)) {
    if (INIT_LAYER_PATHS.has(entry.path)) continue;
    const { stats } = entry;
    const common = { mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid, mtime: Math.floor(stats.mtimeMs / 1000) };
    const parent = posix.dirname(entry.path);
    const base = posix.basename(entry.path);
    written.add(entry.path);
    switch (entry.kind) {
      case 'whiteout':
        yield tarHeader({ ...common, mode: 0o644, name: posix.join(parent, `${WHITEOUT_PREFIX}${base}`), type: 'file', size: 0 });
        break;
      case 'directory':
        yield tarHeader({ ...common, name: `${entry.path}/`, type: 'directory' });
        if (entry.opaque) yield tarHeader({ ...common, mode: 0o644, name: `${entry.path}/${OPAQUE_MARKER}`, type: 'file', size: 0 });
        break;
      case 'symlink':
        yield tarHeader({ ...common, name: entry.path, type: 'symlink', linkname: await readlink(join(upper, entry.path)) });
        break;
      case 'char':
      case 'block':
      case 'fifo': {
        const rdev = stats.rdev;
        const devmajor = ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
        const devminor = (rdev & 0xff) | ((rdev >> 12) & ~0xff & 0xfffff);
        yield tarHeader({ ...common, name: entry.path, type: entry.kind, devmajor, devminor });
        break;
      }
      case 'socket':
        break;
      case 'file': {
        const key = `${stats.dev}:${stats.ino}`;
        const first = stats.nlink > 1 ? firstPathOfInode.get(key) : undefined;
        if (first !== undefined) {
          yield tarHeader({ ...common, name: entry.path, type: 'hardlink', linkname: first });
          break;
        }
        if (stats.nlink > 1) firstPathOfInode.set(key, entry.path);
        yield tarHeader({ ...common, name: entry.path, type: 'file', size: stats.size } satisfies TarWriteEntry);
        let sent = 0;
        for await (const chunk of createReadStream(join(upper, entry.path), { end: Math.max(0, stats.size - 1) })) {
          const buffer = chunk as Buffer;
          const part = buffer.subarray(0, Math.max(0, stats.size - sent));
          sent += part.length;
          yield part;
        }
        // A file that shrank while it was read (a running container) is padded to the size announced.
        if (sent < stats.size) yield Buffer.alloc(stats.size - sent);
        yield tarPadding(stats.size);
        break;
      }
    }
  }
  // A volume's mount point the image does not have yet: an empty directory, never the volume's content.
  for (const mountPoint of mountPoints) {
    const parts = mountPoint.split('/');
    for (let index = 1; index <= parts.length; index++) {
      const path = parts.slice(0, index).join('/');
      if (written.has(path) || (await existsInLayers(lowerDirs, path))) continue;
      written.add(path);
      yield tarHeader({ name: `${path}/`, type: 'directory', mode: 0o755, mtime: Math.floor(Date.now() / 1000) });
    }
  }
  yield TAR_END;
}

/** One Dockerfile-style instruction: `CMD ["x"]`, `CMD x y`, `ENV K=V`, `ENV=K=V`, `WORKDIR /p`, `USER u`. */
export function applyChange(config: ImageConfig, change: string): void {
  const match = /^\s*([A-Za-z]+)[\s=]+(.*)$/s.exec(change);
  if (!match) throw new RuntimeError('usage', `--change ${change}: expected INSTRUCTION VALUE`);
  const instruction = match[1]!.toUpperCase();
  const value = match[2]!.trim();
  const settings = (config.config ??= {});
  const list = (): string[] => {
    if (value.startsWith('[')) {
      try {
        const parsed = JSON.parse(value) as unknown;
        if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed as string[];
      } catch {
        // Falls through to the usage error.
      }
      throw new RuntimeError('usage', `--change ${change}: not a JSON array of strings`);
    }
    // Shell form, as docker: run through /bin/sh -c.
    return ['/bin/sh', '-c', value];
  };
  switch (instruction) {
    case 'CMD':
      settings.Cmd = list();
      return;
    case 'ENTRYPOINT':
      settings.Entrypoint = list();
      return;
    case 'ENV': {
      const pairs = value.includes('=') ? [value] : [value.replace(/\s+/, '=')];
      for (const pair of pairs) {
        const key = pair.slice(0, pair.indexOf('='));
        settings.Env = [...(settings.Env ?? []).filter((entry) => !entry.startsWith(`${key}=`)), pair];
      }
      return;
    }
    case 'WORKDIR':
      settings.WorkingDir = value;
      return;
    case 'USER':
      settings.User = value;
      return;
    default:
      throw new RuntimeError('unsupported', `--change ${change}: ${instruction} is not supported (CMD, ENTRYPOINT, ENV, WORKDIR, USER are)`);
  }
}

/** Freezes a running container's cgroup (v1 freezer) for the commit; returns the thaw. */
async function freeze(state: ContainerState, log: Logger): Promise<(() => Promise<void>) | undefined> {
  if (state.status !== 'running') return undefined;
  const freezer = state.cgroupDirs.find((dir) => dir.includes('/freezer/'));
  if (!freezer) {
    log.warn('commit: no freezer cgroup: committing without pausing');
    return undefined;
  }
  const file = join(freezer, 'freezer.state');
  try {
    await writeFile(file, 'FROZEN');
    for (let tries = 0; tries < 100 && (await readFile(file, 'utf8')).trim() !== 'FROZEN'; tries++) {
      await new Promise((done) => setTimeout(done, 10));
    }
  } catch (error) {
    throw systemError(error, 'pause container', { path: file });
  }
  return async () => {
    await writeFile(file, 'THAWED').catch((error: unknown) => log.warn(`commit: thaw ${file}: ${(error as Error).message}`));
  };
}
