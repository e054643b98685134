// What `run IMAGE` needs from an image: its layer directories (the overlay's lower dirs) and the defaults of
// its config (Entrypoint, Cmd, Env, WorkingDir, User). An image is a name in the store (the built-in busybox
// is made there on first use), or a path to a rootfs directory, used as a single lower layer.

import { closeSync, constants as fsConstants, lstatSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RuntimeError, hasErrnoCode } from '../errors.js';
import type { Logger } from '../log.js';
import { ImageStore, normalizeReference, type StoredImage } from './image-store.js';

/** The built-in image's name, made from the host's static busybox on first use (builtin-busybox.ts). */
export const BUILTIN_BUSYBOX = 'busybox:latest';
export const DEFAULT_HOST_BUSYBOX = '/bin/busybox';
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ImageInfo {
  /** As given on the command line. */
  reference: string;
  /** The store's name (NAME:TAG) and image id (config digest); absent for a rootfs directory. */
  name?: string | undefined;
  imageId?: string | undefined;
  /** Read-only layers, topmost first. */
  layerDirs: string[];
  entrypoint: string[];
  /** CMD when the command line gives none; empty when the image has none. */
  defaultCommand: string[];
  env: string[];
  workingDir?: string | undefined;
  user?: { uid: number; gid: number; additionalGids?: number[] | undefined } | undefined;
  /** The config's Volumes: each becomes an anonymous volume unless a -v covers it (docker's VOLUME). */
  volumes: string[];
  /** The built-in image, not made yet: layerDirs is a placeholder until ensureImage runs. */
  pending: boolean;
}

function isPath(reference: string): boolean {
  return reference.startsWith('/') || reference.startsWith('.');
}

/** Reads the image (never creates it: the dry run uses this, and ensureImage then makes it real). */
export async function describeImage(reference: string, dataRoot: string, cwd: string): Promise<ImageInfo> {
  if (isPath(reference)) {
    return { reference, layerDirs: [resolve(cwd, reference)], entrypoint: [], defaultCommand: [], env: [], volumes: [], pending: false };
  }
  const store = new ImageStore(dataRoot);
  const stored = await store.find(reference);
  if (stored) return fromStored(reference, stored);
  if (normalizeReference(reference) === BUILTIN_BUSYBOX) {
    return {
      reference,
      name: BUILTIN_BUSYBOX,
      layerDirs: [join(store.dir, 'layers', 'sha256', '<busybox layer, made on first run>')],
      entrypoint: [],
      defaultCommand: ['sh'],
      env: [DEFAULT_PATH],
      volumes: [],
      pending: true,
    };
  }
  throw new RuntimeError('not-found', `image ${reference} not found`, { hint: 'import it with shim image import, or give a rootfs directory' });
}

async function fromStored(reference: string, stored: StoredImage): Promise<ImageInfo> {
  const config = stored.config.config ?? {};
  const layerDirs = [...stored.layerDirs].reverse();
  return {
    reference,
    name: stored.name,
    imageId: stored.configDigest,
    layerDirs,
    entrypoint: config.Entrypoint ?? [],
    defaultCommand: config.Cmd ?? [],
    env: config.Env ?? [],
    workingDir: config.WorkingDir || undefined,
    user: config.User ? await resolveUser(config.User, layerDirs) : undefined,
    volumes: Object.keys(config.Volumes ?? {}),
    pending: false,
  };
}

/** USER as docker takes it: uid[:gid] or name[:group], names looked up in the image's own /etc files. */
/**
 * USER or -u against the image's /etc/passwd and /etc/group, as runc's GetExecUser: a user the passwd file
 * has, given without a group, also gets the groups that list its name as a member (additionalGids).
 */
export async function resolveUser(user: string, layerDirs: readonly string[], what = 'image config'): Promise<{ uid: number; gid: number; additionalGids?: number[] }> {
  const [userPart = '', groupPart] = user.split(':');
  const passwd = await readImageFile(layerDirs, 'etc/passwd');
  const group = await readImageFile(layerDirs, 'etc/group');
  const lookup = (text: string, name: string, field: number) =>
    text.split('\n').map((line) => line.split(':')).find((fields) => fields[0] === name)?.[field];
  let uid: number;
  let gid = 0;
  let name: string | undefined;
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const entry = passwd.split('\n').map((line) => line.split(':')).find((fields) => fields[2] === userPart);
    if (entry?.[3]) gid = Number(entry[3]);
    name = entry?.[0];
  } else {
    const found = lookup(passwd, userPart, 2);
    if (found === undefined) throw new RuntimeError(what === 'image config' ? 'invalid-config' : 'usage', `${what}: user ${userPart} is not in the image's /etc/passwd`, { hint: 'give a name the image has, or UID[:GID]' });
    uid = Number(found);
    gid = Number(lookup(passwd, userPart, 3) ?? 0);
    name = userPart;
  }
  if (groupPart !== undefined && groupPart !== '') {
    gid = resolveGroup(group, groupPart, what);
    return { uid, gid };
  }
  const additionalGids = name === undefined ? [] : group.split('\n').map((line) => line.split(':'))
    .filter((fields) => fields.length >= 4 && /^\d+$/.test(fields[2]!) && fields[3]!.split(',').includes(name!))
    .map((fields) => Number(fields[2]));
  return additionalGids.length > 0 ? { uid, gid, additionalGids } : { uid, gid };
}

/** A group name (from the image's /etc/group text) or a GID. */
export function resolveGroup(group: string, nameOrGid: string, what: string): number {
  if (/^\d+$/.test(nameOrGid)) return Number(nameOrGid);
  const found = group.split('\n').map((line) => line.split(':')).find((fields) => fields[0] === nameOrGid)?.[2];
  if (found === undefined) throw new RuntimeError(what === 'image config' ? 'invalid-config' : 'usage', `${what}: group ${nameOrGid} is not in the image's /etc/group`, { hint: 'give a group the image has, or a GID' });
  return Number(found);
}

/** docker's --group-add: names from the image's /etc/group, numbers as they are. */
export async function resolveGroups(groups: readonly string[], layerDirs: readonly string[]): Promise<number[]> {
  const text = groups.some((entry) => !/^\d+$/.test(entry)) ? await readImageFile(layerDirs, 'etc/group') : '';
  return groups.map((entry) => resolveGroup(text, entry, `--group-add ${entry}`));
}

/** A file as the container would see it: from the topmost layer that has it. */
async function readImageFile(layerDirs: readonly string[], path: string): Promise<string> {
  for (const dir of layerDirs) {
    try {
      // Never through a symlink: one in the image ("etc -> /etc", "passwd -> /etc/shadow") would be followed
      // on the host, outside the image. Each directory on the way must be a real one, the file a real file.
      const parts = path.split('/');
      for (let index = 1; index < parts.length; index++) {
        if (lstatSync(join(dir, ...parts.slice(0, index))).isSymbolicLink()) {
          throw new RuntimeError('unsupported', `the image's /${path} is reached through a symlink, which is not followed`, { hint: 'give the user as UID[:GID]' });
        }
      }
      const fd = openSync(join(dir, path), fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
      try {
        return readFileSync(fd, 'utf8');
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      if (hasErrnoCode(error, 'ELOOP')) {
        throw new RuntimeError('unsupported', `the image's /${path} is a symlink, which is not followed`, { hint: 'give the user as UID[:GID]' });
      }
      if (!hasErrnoCode(error, 'ENOENT') && !hasErrnoCode(error, 'ENOTDIR')) throw error;
    }
  }
  return '';
}

export interface EnsureImageOptions {
  /** The static busybox the built-in image is made from. */
  hostBusybox?: string | undefined;
  helperPath: string;
  log: Logger;
}

/** Makes a pending built-in image real and returns it as stored; any other image is returned as it is. */
export async function ensureImage(image: ImageInfo, dataRoot: string, options: EnsureImageOptions): Promise<ImageInfo> {
  if (!image.pending) return image;
  // Here and not at the top: making an image brings the tar writer, the importer, zlib and node:crypto, and
  // every other run would load them for nothing.
  const { createBusyboxImage } = await import('./builtin-busybox.js');
  await createBusyboxImage(dataRoot, options.hostBusybox ?? DEFAULT_HOST_BUSYBOX, options);
  return fromStored(image.reference, await new ImageStore(dataRoot).get(BUILTIN_BUSYBOX));
}
