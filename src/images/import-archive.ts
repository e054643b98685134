// `shim image import FILE [NAME:TAG]`: an OCI image layout archive (podman save --format oci-archive, skopeo
// copy oci-archive:, docker save since 25) or a docker-archive (docker save: manifest.json + layer tars).
//
// The archive is first unpacked as it is into a temporary directory (streamed: memory stays bounded whatever
// the size), every blob is checked against its digest, each layer is unpacked once into its content-addressed
// directory, and the name is written last. On any failure, what this import added is removed again.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readFile, readlink, rm, stat, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Transform, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { RuntimeError, systemError } from '../errors.js';
import type { Logger } from '../log.js';
import { UndoStack } from '../undo-stack.js';
import {
  DOCKER_MEDIA_TYPE_LIST,
  ImageStore,
  MEDIA_TYPE_CONFIG,
  MEDIA_TYPE_INDEX,
  MEDIA_TYPE_LAYER,
  MEDIA_TYPE_LAYER_GZIP,
  MEDIA_TYPE_MANIFEST,
  checkDigest,
  checkReference,
  digestFile,
  normalizeReference,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
} from './image-store.js';
import { parseArchiveJson, readDockerManifest, readImageConfig, readImageIndex, readImageManifest } from './archive-json.js';
import { readTar } from './tar.js';
import { cleanEntryPath, importLayer } from './unpack-layer.js';

export interface ImportOptions {
  helperPath: string;
  log: Logger;
  /** Bytes done so far and the total: first of the archive being read, then of the layers being unpacked. */
  onProgress?: ((done: number, total: number, phase: 'reading' | 'unpacking') => void) | undefined;
}

export interface ImportedImage {
  name: string;
  manifestDigest: string;
  configDigest: string;
  newLayers: number;
}

export async function importArchive(dataRoot: string, file: string, name: string | undefined, options: ImportOptions): Promise<ImportedImage> {
  // A name the user gives is checked before anything is read or written.
  if (name !== undefined) checkReference(name, 'usage');
  const store = new ImageStore(dataRoot);
  await store.collectGarbage();
  const work = await store.tempPath('import');
  try {
    const started = performance.now();
    await extractArchive(file, work, options.onProgress).catch((error: unknown) => {
      // Out of space (ENOSPC) or quota (EDQUOT) writing the archive's files: one line naming the errno.
      throw systemError(error, `import ${file}: unpack the archive into the image store`, { path: work });
    });
    options.log.debug(`import: archive read in ${(performance.now() - started).toFixed(0)}ms`);
    if (await exists(join(work, 'index.json'))) return await importOciLayout(store, work, name, file, options);
    if (await exists(join(work, 'manifest.json'))) return await importDockerArchive(store, work, name, options);
    throw new RuntimeError('invalid-config', `import ${file}: neither an OCI image layout (index.json) nor a docker archive (manifest.json)`);
  } catch (error) {
    throw systemError(error, `import ${file}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** The outer archive as it is: files, directories and the symlinks docker save uses for repeated layers. */
async function extractArchive(file: string, dir: string, onProgress: ImportOptions['onProgress']): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await stat(file).catch((error: unknown) => {
    throw systemError(error, 'open image archive', { path: file });
  });
  if (!info.isFile()) throw new RuntimeError('invalid-config', `open image archive ${file}: not a regular file`);
  const total = info.size;
  let done = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length;
      onProgress?.(done, total, 'reading');
      callback(null, chunk);
    },
  });
  // pipeline, not pipe: a read error (the file vanished, EIO) must end the loop below with that error, where
  // pipe() would leave it an unhandled 'error' event that kills the process with a stack trace.
  const ignore = () => {};
  let source: NodeJS.ReadableStream = pipeline(createReadStream(file), counted, ignore);
  const head = await open(file, 'r').then(async (handle) => {
    try {
      return (await handle.read(Buffer.alloc(2), 0, 2, 0)).buffer;
    } finally {
      await handle.close();
    }
  }, (error: unknown) => {
    throw systemError(error, 'open image archive', { path: file });
  });
  if (head[0] === 0x1f && head[1] === 0x8b) source = pipeline(counted, createGunzip(), ignore);
  const what = `archive ${file}`;
  for await (const { header, body } of readTar(source as AsyncIterable<Buffer>)) {
    const rel = cleanEntryPath(header.name, what);
    if (rel === '') continue;
    const full = join(dir, rel);
    await mkdir(posix.dirname(full), { recursive: true });
    if (header.type === 'directory') await mkdir(full, { recursive: true });
    else if (header.type === 'file') {
      const handle = await open(full, 'wx', 0o600);
      try {
        for await (const chunk of body) await handle.write(chunk);
      } finally {
        await handle.close();
      }
    } else if (header.type === 'symlink') {
      // Resolved against the archive's own tree, never followed outside it.
      const target = cleanEntryPath(posix.join(posix.dirname(rel), header.linkname), what);
      await symlink(join(dir, target), full);
    }
  }
}

/** A file of the unpacked archive, by its name inside it (no escaping through links). */
async function archiveFile(work: string, name: string): Promise<string> {
  const rel = cleanEntryPath(name, 'archive');
  const path = join(work, rel);
  const info = await lstat(path).catch((error: unknown) => {
    throw systemError(error, `archive: ${name} is listed but missing`);
  });
  if (info.isSymbolicLink()) {
    const target = await readlink(path);
    if (!target.startsWith(work + '/')) throw new RuntimeError('invalid-config', `archive: ${name} links outside the archive`);
    return target;
  }
  return path;
}

/**
 * The most an index, a manifest or docker's manifest.json may weigh, as containerd's fetcher bounds manifests:
 * a real one is a few kB, and each is read whole into memory.
 */
export const MAX_MANIFEST_BYTES = 4 << 20;

/** A JSON document of the archive that is not content-addressed (index.json, manifest.json), bounded. */
async function readArchiveJson(path: string, what: string): Promise<unknown> {
  const info = await stat(path);
  if (info.size > MAX_MANIFEST_BYTES) {
    throw new RuntimeError('invalid-config', `${what}: ${info.size} bytes, more than the ${MAX_MANIFEST_BYTES} a manifest may have`);
  }
  return parseArchiveJson(await readFile(path), what);
}

async function readVerifiedJson<T>(path: string, digest: string, what: string, maxBytes = Infinity): Promise<{ value: T; bytes: Buffer }> {
  const info = await stat(path).catch((error: unknown) => {
    throw missingBlob(error, what);
  });
  if (info.size > maxBytes) {
    throw new RuntimeError('invalid-config', `${what}: ${info.size} bytes, more than the ${maxBytes} a manifest may have`);
  }
  const bytes = await readFile(path).catch((error: unknown) => {
    throw systemError(error, `archive: read ${what}`);
  });
  const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (actual !== digest) throw new RuntimeError('invalid-config', `${what}: digest mismatch: the blob is ${actual}, expected ${digest}`, { hint: 'the archive is corrupt' });
  return { value: parseArchiveJson(bytes, what) as T, bytes };
}

/** A blob the archive's index or manifest names but does not hold: said so, without the temp dir's path. */
function missingBlob(error: unknown, what: string): RuntimeError {
  if ((error as NodeJS.ErrnoException)?.code !== 'ENOENT') return systemError(error, `archive: read ${what}`);
  return new RuntimeError('invalid-config', `archive: ${what} is listed, but the archive does not hold it`, { hint: 'the archive is incomplete' });
}

const blobFile = (work: string, digest: string) => join(work, 'blobs', 'sha256', checkDigest(digest, 'blob').slice(7));

async function importOciLayout(store: ImageStore, work: string, name: string | undefined, file: string, options: ImportOptions): Promise<ImportedImage> {
  const index = readImageIndex(await readArchiveJson(join(work, 'index.json'), 'index.json'), 'index.json');
  let descriptor = pickManifest(index.manifests, 'index.json');
  const annotations = descriptor.annotations ?? {};
  // Nested indexes (multi-platform images): down to one image manifest.
  while (descriptor.mediaType === MEDIA_TYPE_INDEX || descriptor.mediaType === DOCKER_MEDIA_TYPE_LIST) {
    const where = `image index ${descriptor.digest}`;
    const { value } = await readVerifiedJson<unknown>(blobFile(work, descriptor.digest), descriptor.digest, where, MAX_MANIFEST_BYTES);
    descriptor = pickManifest(readImageIndex(value, where).manifests, where);
  }
  const { value: manifestJson, bytes: manifestBytes } = await readVerifiedJson<unknown>(
    blobFile(work, descriptor.digest), descriptor.digest, `manifest ${descriptor.digest}`, MAX_MANIFEST_BYTES);
  const manifest = readImageManifest(manifestJson, `manifest ${descriptor.digest}`);
  const { value: configJson, bytes: configBytes } = await readVerifiedJson<unknown>(
    blobFile(work, manifest.config.digest), manifest.config.digest, `config ${manifest.config.digest}`);
  const config = readImageConfig(configJson, `config ${manifest.config.digest}`);
  let refName = annotations['io.containerd.image.name'] ?? annotations['org.opencontainers.image.ref.name'];
  // skopeo's oci-archive:FILE:TAG writes only a tag: named after the archive, as FILE-STEM:TAG.
  if (refName !== undefined && !refName.includes(':') && !refName.includes('/')) {
    const stem = posix.basename(file).replace(/\.(oci\.)?tar(\.gz)?$/, '').toLowerCase().replace(/[^a-z0-9._-]/g, '-') || 'image';
    refName = `${stem}:${refName}`;
  }
  const layers = manifest.layers.map((layer) => ({ descriptor: layer, file: blobFile(work, layer.digest) }));
  for (const layer of layers) {
    await lstat(layer.file).catch((error: unknown) => {
      throw missingBlob(error, `layer ${layer.descriptor.digest}`);
    });
  }
  return storeImage(store, { manifestBytes, configBytes, config, layers, name: name ?? refName }, options);
}

function pickManifest(manifests: Descriptor[], where: string): Descriptor {
  if (manifests.length === 0) throw new RuntimeError('invalid-config', `${where}: no manifests`);
  return manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === hostArchitecture()) ?? manifests[0]!;
}

function hostArchitecture(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

async function importDockerArchive(store: ImageStore, work: string, name: string | undefined, options: ImportOptions): Promise<ImportedImage> {
  const entry = readDockerManifest(await readArchiveJson(join(work, 'manifest.json'), 'manifest.json'))[0]!;
  const configPath = await archiveFile(work, entry.Config);
  const configBytes = await readFile(configPath);
  const config = readImageConfig(parseArchiveJson(configBytes, entry.Config), entry.Config);
  if (config.rootfs.diff_ids.length !== entry.Layers.length) {
    throw new RuntimeError('invalid-config', `manifest.json: ${entry.Layers.length} layers, but the config lists ${config.rootfs.diff_ids.length} diff_ids`);
  }
  // docker save names no layer digests: each blob's digest is what it hashes to; the config's diff_ids are
  // what each layer is checked against.
  const layers: { descriptor: Descriptor; file: string }[] = [];
  for (const layerName of entry.Layers) {
    const file = await archiveFile(work, layerName);
    const gzip = await isGzipFile(file);
    layers.push({ descriptor: { mediaType: gzip ? MEDIA_TYPE_LAYER_GZIP : MEDIA_TYPE_LAYER, digest: await digestFile(file), size: (await stat(file)).size }, file });
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config: { mediaType: MEDIA_TYPE_CONFIG, digest: `sha256:${createHash('sha256').update(configBytes).digest('hex')}`, size: configBytes.length },
    layers: layers.map((layer) => layer.descriptor),
  };
  return storeImage(store, {
    manifestBytes: Buffer.from(JSON.stringify(manifest)),
    configBytes,
    config,
    layers,
    name: name ?? entry.RepoTags?.[0],
  }, options);
}

async function isGzipFile(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

interface ImageToStore {
  manifestBytes: Buffer;
  configBytes: Buffer;
  config: ImageConfig;
  layers: { descriptor: Descriptor; file: string }[];
  name?: string | undefined;
}

/** Layers, then config and manifest blobs, then the name: each step undone if a later one fails. */
export async function storeImage(store: ImageStore, image: ImageToStore, options: ImportOptions): Promise<ImportedImage> {
  const diffIds = image.config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== image.layers.length) {
    throw new RuntimeError('invalid-config', `image config lists ${diffIds.length} diff_ids for ${image.layers.length} layers`);
  }
  const undo = new UndoStack(options.log);
  let succeeded = false;
  try {
    const total = image.layers.reduce((sum, layer) => sum + layer.descriptor.size, 0);
    let done = 0;
    let newLayers = 0;
    for (const [index, layer] of image.layers.entries()) {
      const diffId = checkDigest(diffIds[index]!, 'config rootfs.diff_ids');
      const created = await importLayer(store, {
        file: layer.file,
        digest: checkDigest(layer.descriptor.digest, 'manifest layer'),
        diffId,
        onBytes: (n) => {
          done += n;
          options.onProgress?.(done, total, 'unpacking');
        },
      }, options);
      options.log.debug(`import: layer ${index + 1}/${image.layers.length} ${diffId.slice(7, 19)} ${created ? 'unpacked' : 'already here'}`);
      if (created) newLayers++;
      if (created) undo.push(`remove layer ${diffId}`, () => rm(store.layerDir(diffId), { recursive: true, force: true }), { keepOnSuccess: true });
      const blob = store.blobPath(layer.descriptor.digest);
      if (!(await exists(blob))) {
        await store.adoptBlob(layer.file, layer.descriptor.digest);
        undo.push(`remove blob ${layer.descriptor.digest}`, () => rm(blob, { force: true }), { keepOnSuccess: true });
      }
    }
    for (const bytes of [image.configBytes, image.manifestBytes]) {
      const path = store.blobPath(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
      if (!(await exists(path))) {
        await store.putBlob(bytes);
        undo.push('remove blob', () => rm(path, { force: true }), { keepOnSuccess: true });
      }
    }
    const manifest = JSON.parse(image.manifestBytes.toString('utf8')) as ImageManifest;
    const manifestDigest = `sha256:${createHash('sha256').update(image.manifestBytes).digest('hex')}`;
    const configDigest = manifest.config.digest;
    const finalName = normalizeReference(image.name === undefined ? `sha256:${configDigest.slice(7)}` : checkReference(image.name, 'invalid-config'));
    options.log.debug('import: blobs stored');
    await store.tag(finalName, manifestDigest);
    options.log.debug(`import: tagged ${finalName}`);
    succeeded = true;
    return { name: finalName, manifestDigest, configDigest, newLayers };
  } finally {
    await undo.unwind(succeeded);
  }
}
