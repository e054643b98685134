// The image store in the data root, laid out as an OCI image layout plus unpacked layers:
//
//   images/blobs/sha256/<hex>      manifests, configs and layer blobs, each named by its digest
//   images/layers/sha256/<hex>     each layer unpacked once, named by its diff_id, shared by every image and
//                                  container that uses it (the overlay's read-only lower dirs)
//   images/repositories.json       NAME:TAG -> manifest digest
//   images/tmp/                    imports and layers in progress; renamed into place when whole
//
// Every file is written under tmp/ and renamed into place, so a reader never sees half a blob or half a layer.
// Each tmp/ entry is named PREFIX-PID-HEX after the shim that made it: an entry whose shim is gone (SIGKILLed
// mid-import, or out of space) is garbage at once, and so is any layer or blob no image names while no other
// shim has work in tmp/ (a killed import may have renamed a layer into place before it could write the name).

import { createReadStream, readFileSync } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm, writeFile } from '../host/fs-async.js';
import { join } from 'node:path';
import { RuntimeError, hasErrnoCode, systemError } from '../errors.js';
import { randomHex } from '../host/random-hex.js';

export const MEDIA_TYPE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_TYPE_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MEDIA_TYPE_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const MEDIA_TYPE_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const DOCKER_MEDIA_TYPE_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MEDIA_TYPE_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string> | undefined;
  platform?: { architecture?: string; os?: string } | undefined;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageConfig {
  created?: string;
  architecture?: string;
  os?: string;
  config?: {
    User?: string;
    Env?: string[] | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Volumes?: Record<string, object> | null;
    Labels?: Record<string, string> | null;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
}

/** An image as a container uses it. */
export interface StoredImage {
  /** NAME:TAG as stored. */
  name: string;
  manifestDigest: string;
  manifest: ImageManifest;
  configDigest: string;
  config: ImageConfig;
  /** Unpacked layer directories, bottom first. */
  layerDirs: string[];
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** busybox -> busybox:latest, as docker; a digest or an image id stays as it is. */
export function normalizeReference(reference: string): string {
  if (reference.startsWith('sha256:')) return reference;
  const lastSlash = reference.lastIndexOf('/');
  return reference.slice(lastSlash + 1).includes(':') ? reference : `${reference}:latest`;
}

// docker's reference grammar (distribution/reference): an optional registry host[:port], then lowercase path
// components, then an optional tag.
const HOST_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const REFERENCE = new RegExp(
  `^(?:${HOST_COMPONENT}(?:\\.${HOST_COMPONENT})*(?::[0-9]+)?/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::[\\w][\\w.-]{0,127})?$`,
);

/** A NAME[:TAG] as docker takes it, in docker's words when it is not one; the name is returned as given. */
export function checkReference(name: string, code: 'usage' | 'invalid-config'): string {
  if (name.length <= 255 && REFERENCE.test(name)) return name;
  const lowered = name.replace(/^[^/]*[.:][^/]*\//, (host) => host.toLowerCase()).toLowerCase();
  const why = name.length <= 255 && lowered !== name && REFERENCE.test(name.toLowerCase()) ? ': repository name must be lowercase' : '';
  throw new RuntimeError(code, `${JSON.stringify(name)}: invalid reference format${why}`);
}

export function checkDigest(digest: string, what: string): string {
  if (!DIGEST.test(digest)) throw new RuntimeError('invalid-config', `${what}: ${JSON.stringify(digest)} is not a sha256 digest`);
  return digest;
}

export class ImageStore {
  readonly dir: string;

  constructor(dataRoot: string) {
    this.dir = join(dataRoot, 'images');
  }

  blobPath(digest: string): string {
    return join(this.dir, 'blobs', 'sha256', checkDigest(digest, 'blob').slice(7));
  }

  layerDir(diffId: string): string {
    return join(this.dir, 'layers', 'sha256', checkDigest(diffId, 'layer').slice(7));
  }

  get tmpDir(): string {
    return join(this.dir, 'tmp');
  }

  /**
   * A fresh path under tmp/ (same filesystem as the blobs and layers, so rename works), named after this
   * process, so that what a killed shim left is known for garbage (collectGarbage).
   */
  async tempPath(prefix: string): Promise<string> {
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    return join(this.tmpDir, `${prefix}-${process.pid}-${randomHex(8)}`);
  }

  /**
   * Removes what killed imports and commits left: their tmp/ entries (the shim named in the entry is gone; an
   * entry without a pid, from an older shim, once a day old) and, when no other shim has work in tmp/, every
   * blob and layer no image names. An import in progress keeps its work directory in tmp/ from before its
   * first layer is placed until after its name is written, so its layers are never taken for garbage.
   */
  async collectGarbage(): Promise<void> {
    await this.#locked(() => this.#collectGarbage());
  }

  async #collectGarbage(): Promise<void> {
    if (!(await this.#sweepTmp())) await this.#collectUnnamed(await this.readRepositories());
  }

  /** Removes dead shims' tmp/ entries; true when another live shim has work there. */
  async #sweepTmp(maxAgeMs = 24 * 3600 * 1000): Promise<boolean> {
    let busy = false;
    for (const entry of await readdir(this.tmpDir).catch(() => [] as string[])) {
      const path = join(this.tmpDir, entry);
      const owner = /-(\d+)-[0-9a-f]{16}$/.exec(entry);
      if (owner) {
        const pid = Number(owner[1]);
        if (pid === process.pid) continue;
        if (isAlive(pid)) busy = true;
        else await rm(path, { recursive: true, force: true });
        continue;
      }
      const info = await lstat(path).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > maxAgeMs) await rm(path, { recursive: true, force: true });
      else if (info) busy = true;
    }
    return busy;
  }

  // The image list and the JSON blobs are read synchronously: run reads three small files on its way to the
  // helper, and each threadpool round trip of an awaited read costs more than the read.
  async readRepositories(): Promise<Record<string, string>> {
    try {
      return JSON.parse(readFileSync(join(this.dir, 'repositories.json'), 'utf8')) as Record<string, string>;
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) return {};
      throw systemError(error, 'read image list', { path: join(this.dir, 'repositories.json') });
    }
  }

  async writeRepositories(repositories: Record<string, string>): Promise<void> {
    const path = join(this.dir, 'repositories.json');
    const temporary = await this.tempPath('repositories');
    await writeFile(temporary, `${JSON.stringify(repositories, null, 2)}\n`);
    await rename(temporary, path);
  }

  /** Stores bytes as a blob; returns its digest. */
  async putBlob(data: Buffer | string): Promise<string> {
    const { createHash } = await import('node:crypto');
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const path = this.blobPath(digest);
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    const temporary = await this.tempPath('blob');
    await writeFile(temporary, data);
    await rename(temporary, path);
    return digest;
  }

  /** Moves a file whose digest the caller has verified into the blobs. */
  async adoptBlob(file: string, digest: string): Promise<void> {
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    await rename(file, this.blobPath(digest));
  }

  async readJsonBlob<T>(digest: string): Promise<T> {
    const path = this.blobPath(digest);
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as T;
    } catch (error) {
      throw systemError(error, `read blob ${digest}`, { path });
    }
  }

  /** The image named by NAME[:TAG], a manifest digest or a config digest (the image id), or undefined. */
  async find(reference: string): Promise<StoredImage | undefined> {
    const repositories = await this.readRepositories();
    const wanted = normalizeReference(reference);
    let name = Object.keys(repositories).find((key) => key === wanted);
    let manifestDigest = name ? repositories[name] : undefined;
    if (!manifestDigest) {
      // An id or a unique prefix of one, as docker takes them.
      const id = reference.replace(/^sha256:/, '');
      if (!/^[0-9a-f]{6,64}$/.test(id)) return undefined;
      for (const [key, digest] of Object.entries(repositories)) {
        const image = await this.load(key, digest);
        if (image.configDigest.slice(7).startsWith(id) || digest.slice(7).startsWith(id)) return image;
      }
      return undefined;
    }
    return this.load(name!, manifestDigest);
  }

  async get(reference: string): Promise<StoredImage> {
    const image = await this.find(reference);
    if (!image) throw new RuntimeError('not-found', `image ${reference} not found`, { hint: 'see shim image ls' });
    return image;
  }

  async load(name: string, manifestDigest: string): Promise<StoredImage> {
    const manifest = await this.readJsonBlob<ImageManifest>(manifestDigest);
    const config = await this.readJsonBlob<ImageConfig>(manifest.config.digest);
    return {
      name,
      manifestDigest,
      manifest,
      configDigest: manifest.config.digest,
      config,
      layerDirs: config.rootfs.diff_ids.map((diffId) => this.layerDir(diffId)),
    };
  }

  async list(): Promise<StoredImage[]> {
    const repositories = await this.readRepositories();
    const images: StoredImage[] = [];
    for (const [name, digest] of Object.entries(repositories)) images.push(await this.load(name, digest));
    return images;
  }

  async tag(name: string, manifestDigest: string): Promise<void> {
    await this.#locked(async () => {
      const repositories = await this.readRepositories();
      repositories[normalizeReference(name)] = manifestDigest;
      await this.writeRepositories(repositories);
    });
  }

  /**
   * The name list is read, changed and written back: two imports or commits into one data root at once must
   * not lose each other's names, so the change holds a lock directory (mkdir is atomic).
   */
  async #locked<T>(change: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true });
    // A file lock holding its owner's pid (src/state/container-lock.ts), not a bare mkdir: a shim SIGKILLed
    // while writing the name list must not leave a lock that every later import waits on and fails.
    const { lockFile } = await import('../state/container-lock.js');
    const lock = await lockFile(join(this.dir, 'repositories.lock'), { what: 'the image list' }, 30_000);
    try {
      return await change();
    } finally {
      await lock.release();
    }
  }

  /**
   * Forgets a name, then removes every blob and layer no remaining image refers to (layers are shared, so a
   * layer goes only with its last image).
   */
  async untagAndCollect(name: string): Promise<void> {
    await this.#locked(() => this.#untagAndCollect(name));
  }

  async #untagAndCollect(name: string): Promise<void> {
    const repositories = await this.readRepositories();
    delete repositories[name];
    await this.writeRepositories(repositories);
    // While another shim imports or commits, its layers may be in place but not yet named: they stay, and
    // the next import, commit or image rm collects what is left.
    if (!(await this.#sweepTmp())) await this.#collectUnnamed(repositories);
  }

  async #collectUnnamed(repositories: Record<string, string>): Promise<void> {
    const keepBlobs = new Set<string>();
    const keepLayers = new Set<string>();
    for (const [key, digest] of Object.entries(repositories)) {
      const image = await this.load(key, digest);
      keepBlobs.add(digest.slice(7));
      keepBlobs.add(image.configDigest.slice(7));
      for (const layer of image.manifest.layers) keepBlobs.add(layer.digest.slice(7));
      for (const diffId of image.config.rootfs.diff_ids) keepLayers.add(diffId.slice(7));
    }
    for (const [sub, keep] of [['blobs', keepBlobs], ['layers', keepLayers]] as const) {
      const dir = join(this.dir, sub, 'sha256');
      for (const entry of await readdir(dir).catch(() => [] as string[])) {
        if (!keep.has(entry)) await rm(join(dir, entry), { recursive: true, force: true });
      }
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !hasErrnoCode(error, 'ESRCH');
  }
}

/** sha256 of a file, streamed. */
export async function digestFile(path: string): Promise<string> {
  // Loaded here, not at the top: `run` reads the store on every start and never hashes (random-hex.ts says why).
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}
