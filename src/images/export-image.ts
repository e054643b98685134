// `shim image export NAME FILE`: the image as an OCI image layout archive (oci-layout, index.json, blobs), the
// format `image import` (and podman, skopeo) read. Streamed from the stored blobs; written beside FILE and
// renamed over it when whole.

import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { systemError } from '../errors.js';
import { ImageStore, MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST } from './image-store.js';
import { tarHeader, tarPadding, TAR_END } from './tar.js';

export async function exportImage(dataRoot: string, reference: string, file: string): Promise<void> {
  const store = new ImageStore(dataRoot);
  const image = await store.get(reference);
  const manifestSize = (await stat(store.blobPath(image.manifestDigest))).size;
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_INDEX,
    manifests: [{
      mediaType: MEDIA_TYPE_MANIFEST,
      digest: image.manifestDigest,
      size: manifestSize,
      annotations: { 'io.containerd.image.name': image.name, 'org.opencontainers.image.ref.name': image.name.slice(image.name.lastIndexOf(':') + 1) },
    }],
  };
  const blobs = [image.manifestDigest, image.configDigest, ...image.manifest.layers.map((layer) => layer.digest)];
  async function* archive(): AsyncGenerator<Buffer> {
    const mtime = Math.floor(Date.now() / 1000);
    for (const [name, text] of [['oci-layout', '{"imageLayoutVersion":"1.0.0"}'], ['index.json', JSON.stringify(index)]] as const) {
      const data = Buffer.from(text);
      yield tarHeader({ name, type: 'file', mode: 0o644, size: data.length, mtime });
      yield data;
      yield tarPadding(data.length);
    }
    for (const dir of ['blobs/', 'blobs/sha256/']) yield tarHeader({ name: dir, type: 'directory', mode: 0o755, mtime });
    for (const digest of new Set(blobs)) {
      const path = store.blobPath(digest);
      const size = (await stat(path)).size;
      yield tarHeader({ name: `blobs/sha256/${digest.slice(7)}`, type: 'file', mode: 0o644, size, mtime });
      for await (const chunk of createReadStream(path)) yield chunk as Buffer;
      yield tarPadding(size);
    }
    yield TAR_END;
  }
  const temporary = `${file}.shim-export-${process.pid}`;
  try {
    await pipeline(Readable.from(archive()), createWriteStream(temporary, { mode: 0o644 }));
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw systemError(error, `export image ${reference}`, { path: file });
  }
}
