// Images: for now the built-in `busybox` (made on first use from the host's static busybox) or a directory
// holding a rootfs. Either one is the read-only lower layer of the container's overlay.

import { access, chmod, copyFile, mkdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RuntimeError, hasErrnoCode, systemError } from '../errors.js';
import type { Logger } from '../log.js';

export const BUILTIN_BUSYBOX = 'busybox';
export const DEFAULT_HOST_BUSYBOX = '/bin/busybox';

export interface ImageInfo {
  /** As given on the command line. */
  reference: string;
  /** The rootfs directory (the overlay's lower layer). */
  rootfs: string;
  /** CMD when the command line gives none; empty when the image has none. */
  defaultCommand: string[];
  env: string[];
  builtIn: boolean;
}

/**
 * Where an image is (or, for the built-in one, will be) without touching anything: the dry run uses this, and
 * ensureImage then makes it real.
 */
export function describeImage(reference: string, dataRoot: string, cwd: string): ImageInfo {
  if (reference === BUILTIN_BUSYBOX || reference === `${BUILTIN_BUSYBOX}:latest`) {
    return { reference, rootfs: join(dataRoot, 'images', BUILTIN_BUSYBOX, 'rootfs'), defaultCommand: ['sh'], env: [], builtIn: true };
  }
  if (reference.includes('/') || reference.startsWith('.')) {
    return { reference, rootfs: resolve(cwd, reference), defaultCommand: [], env: [], builtIn: false };
  }
  throw new RuntimeError('not-found', `image ${reference} not found`, {
    hint: 'only the built-in busybox image or a path to a rootfs directory can be run yet',
  });
}

export interface EnsureImageOptions {
  /** The static busybox the built-in image is made from. */
  hostBusybox?: string | undefined;
  log: Logger;
}

export async function ensureImage(image: ImageInfo, options: EnsureImageOptions): Promise<void> {
  if (await isDirectory(image.rootfs)) return;
  if (!image.builtIn) {
    throw new RuntimeError('not-found', `rootfs ${image.rootfs} is not a directory`, { path: image.rootfs });
  }
  await createBusyboxImage(image.rootfs, options);
}

/**
 * Builds the image in a temporary directory beside its final place and renames it there, so a run never
 * sees half an image and two first runs racing each other both end up with one whole image.
 */
async function createBusyboxImage(rootfs: string, options: EnsureImageOptions): Promise<void> {
  const imageDir = join(rootfs, '..');
  const imagesDir = join(imageDir, '..');
  const building = join(imagesDir, `.${BUILTIN_BUSYBOX}-${randomBytes(6).toString('hex')}`);
  const hostBusybox = options.hostBusybox ?? DEFAULT_HOST_BUSYBOX;
  options.log.debug(`image: creating ${BUILTIN_BUSYBOX} in ${imageDir} from ${hostBusybox}`);
  try {
    await access(hostBusybox).catch((error: unknown) => {
      throw systemError(error, 'find busybox for the built-in image', {
        path: hostBusybox,
        hint: 'install busybox-static (apt-get install busybox-static)',
      });
    });
    const tree = join(building, 'rootfs');
    for (const dir of ['bin', 'etc', 'root', 'tmp', 'proc', 'sys', 'dev']) {
      await mkdir(join(tree, dir), { recursive: true });
    }
    // mkdir's mode is filtered by the umask; these two need their exact modes.
    await chmod(join(tree, 'root'), 0o700);
    await chmod(join(tree, 'tmp'), 0o1777);
    await copyFile(hostBusybox, join(tree, 'bin/busybox'));
    await chmod(join(tree, 'bin/busybox'), 0o755);
    for (const applet of await listApplets(hostBusybox)) {
      if (applet === 'busybox') continue;
      await symlink('busybox', join(tree, 'bin', applet)).catch((error: unknown) => {
        if (!hasErrnoCode(error, 'EEXIST')) throw error;
      });
    }
    await writeFile(join(tree, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    await writeFile(join(tree, 'etc/group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
    try {
      await rename(building, imageDir);
    } catch (error) {
      // Another run finished first: its image is as good as ours.
      if (!hasErrnoCode(error, 'ENOTEMPTY') && !hasErrnoCode(error, 'EEXIST')) throw error;
      await rm(building, { recursive: true, force: true });
    }
  } catch (error) {
    await rm(building, { recursive: true, force: true }).catch(() => {});
    throw systemError(error, `create the ${BUILTIN_BUSYBOX} image`, { path: imageDir });
  }
}

async function listApplets(hostBusybox: string): Promise<string[]> {
  const { execa } = await import('execa');
  const { stdout } = await execa(hostBusybox, ['--list']);
  return String(stdout).split('\n').map((name) => name.trim()).filter((name) => /^[\w.[\-]+$/.test(name));
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    if (hasErrnoCode(error, 'ENOENT') || hasErrnoCode(error, 'ENOTDIR')) return false;
    throw systemError(error, 'look up image', { path });
  }
}
