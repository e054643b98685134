// The built-in `busybox` image: made on first use from the host's static busybox, as one layer (busybox, one
// symlink per applet, /etc/passwd and /etc/group) with an image config whose Cmd is ["sh"]. After that it
// is an image like any other in the store (listed, inspected, committed on, exported, removed).

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, open, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { systemError } from '../errors.js';
import type { Logger } from '../log.js';
import { ImageStore, digestFile, MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER, MEDIA_TYPE_MANIFEST, type ImageConfig, type ImageManifest } from './image-store.js';
import { storeImage } from './import-archive.js';
import { tarHeader, tarPadding, TAR_END, type TarWriteEntry } from './tar.js';

import { BUILTIN_BUSYBOX, DEFAULT_PATH } from './images.js';

export async function createBusyboxImage(dataRoot: string, hostBusybox: string, options: { helperPath: string; log: Logger }): Promise<void> {
  const store = new ImageStore(dataRoot);
  await access(hostBusybox).catch((error: unknown) => {
    throw systemError(error, 'find busybox for the built-in image', { path: hostBusybox, hint: 'install busybox-static (apt-get install busybox-static)' });
  });
  options.log.debug(`image: creating ${BUILTIN_BUSYBOX} from ${hostBusybox}`);
  const layerFile = await store.tempPath('busybox-layer');
  try {
    const mtime = Math.floor((await stat(hostBusybox)).mtimeMs / 1000);
    const out = createWriteStream(layerFile, { mode: 0o600 });
    const write = async (chunk: Buffer) => {
      if (!out.write(chunk)) await once(out, 'drain');
    };
    const entry = (e: TarWriteEntry) => write(tarHeader({ uid: 0, gid: 0, mtime, ...e }));
    for (const [dir, mode] of [['bin', 0o755], ['etc', 0o755], ['root', 0o700], ['tmp', 0o1777], ['proc', 0o755], ['sys', 0o755], ['dev', 0o755]] as const) {
      await entry({ name: `${dir}/`, type: 'directory', mode });
    }
    const size = (await stat(hostBusybox)).size;
    await entry({ name: 'bin/busybox', type: 'file', mode: 0o755, size });
    const handle = await open(hostBusybox, 'r');
    try {
      for await (const chunk of handle.createReadStream({ autoClose: false })) await write(chunk as Buffer);
    } finally {
      await handle.close();
    }
    await write(tarPadding(size));
    for (const applet of await listApplets(hostBusybox)) {
      if (applet !== 'busybox') await entry({ name: `bin/${applet}`, type: 'symlink', mode: 0o777, linkname: 'busybox' });
    }
    const files: [string, string][] = [
      ['etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'],
      ['etc/group', 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n'],
    ];
    for (const [name, text] of files) {
      const data = Buffer.from(text);
      await entry({ name, type: 'file', mode: 0o644, size: data.length });
      await write(data);
      await write(tarPadding(data.length));
    }
    await write(TAR_END);
    out.end();
    await once(out, 'close');

    const digest = await digestFile(layerFile);
    const created = new Date(mtime * 1000).toISOString();
    const config: ImageConfig = {
      created,
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      os: 'linux',
      config: { Env: [DEFAULT_PATH], Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [digest] },
      history: [{ created, created_by: `shim: built-in image from ${hostBusybox}` }],
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const layerSize = (await stat(layerFile)).size;
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_MANIFEST,
      config: { mediaType: MEDIA_TYPE_CONFIG, digest: `sha256:${createHash('sha256').update(configBytes).digest('hex')}`, size: configBytes.length },
      layers: [{ mediaType: MEDIA_TYPE_LAYER, digest, size: layerSize }],
    };
    await storeImage(store, {
      manifestBytes: Buffer.from(JSON.stringify(manifest)),
      configBytes,
      config,
      layers: [{ descriptor: manifest.layers[0]!, file: layerFile }],
      name: BUILTIN_BUSYBOX,
    }, options);
  } finally {
    await rm(layerFile, { force: true });
  }
}

async function listApplets(hostBusybox: string): Promise<string[]> {
  const { execa } = await import('execa');
  const { stdout } = await execa(hostBusybox, ['--list']);
  return String(stdout).split('\n').map((name) => name.trim()).filter((name) => /^[\w.[\-]+$/.test(name)).sort();
}
