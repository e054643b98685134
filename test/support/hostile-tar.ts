// A minimal ustar writer for hostile archives: names with `..` or a leading `/`, hardlinks and symlinks that
// point anywhere, device nodes. GNU tar refuses to write most of these, and shim's own tar code must never
// make the archives it is tested against, so the tests write the bytes themselves.

import { createHash } from 'node:crypto';

export type HostileEntry =
  | { type: 'file'; name: string; data?: string | Buffer; mode?: number }
  | { type: 'dir'; name: string; mode?: number }
  | { type: 'symlink'; name: string; target: string }
  | { type: 'hardlink'; name: string; target: string }
  | { type: 'char' | 'block'; name: string; major: number; minor: number; mode?: number }
  | { type: 'fifo'; name: string };

const TYPE_FLAGS = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' } as const;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(entry: HostileEntry, size: number): Buffer {
  const block = Buffer.alloc(512);
  const put = (text: string, offset: number, width: number) => block.write(text, offset, width, 'latin1');
  let name = entry.name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    // ustar's prefix field takes the directories of a long name.
    const cut = name.lastIndexOf('/', name.length - 2);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  put(name, 0, 100);
  const mode = 'mode' in entry && entry.mode !== undefined ? entry.mode : entry.type === 'dir' ? 0o755 : 0o644;
  put(octal(mode, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(1_700_000_000, 12), 136, 12);
  put('        ', 148, 8);
  put(TYPE_FLAGS[entry.type], 156, 1);
  if (entry.type === 'symlink' || entry.type === 'hardlink') put(entry.target, 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  if (entry.type === 'char' || entry.type === 'block') {
    put(octal(entry.major, 8), 329, 8);
    put(octal(entry.minor, 8), 337, 8);
  }
  put(prefix, 345, 155);
  let sum = 0;
  for (const byte of block) sum += byte;
  put(octal(sum, 7) + ' ', 148, 8);
  return block;
}

/** The archive's bytes: each entry, its data padded to 512, then the two zero blocks. */
export function hostileTar(entries: HostileEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.type === 'file' ? Buffer.from(entry.data ?? '') : Buffer.alloc(0);
    parts.push(header(entry, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export const sha256Hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export interface HostileImageOptions {
  /** Replace the manifest's layer descriptors' digests (a blob that is not there, a wrong digest). */
  layerDigest?: (real: string) => string;
  /** Keep the layer blob out of the archive. */
  omitLayerBlob?: boolean;
  /** Extra bytes in the manifest (a huge manifest). */
  manifestPadding?: number;
}

/**
 * An OCI image layout (as files: path → bytes) with one layer made of `entries`. The caller packs it with
 * hostileTar, so the outer archive is as hand-made as the layer.
 */
export function hostileOciLayout(layer: Buffer, options: HostileImageOptions = {}): HostileEntry[] {
  const files: HostileEntry[] = [{ type: 'dir', name: 'blobs/' }, { type: 'dir', name: 'blobs/sha256/' }];
  const layerHex = sha256Hex(layer);
  if (!options.omitLayerBlob) files.push({ type: 'file', name: `blobs/sha256/${layerHex}`, data: layer });
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${layerHex}`] },
  }));
  files.push({ type: 'file', name: `blobs/sha256/${sha256Hex(config)}`, data: config });
  const layerDigest = options.layerDigest ? options.layerDigest(`sha256:${layerHex}`) : `sha256:${layerHex}`;
  const manifestObject: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256Hex(config)}`, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
  };
  if (options.manifestPadding) manifestObject.annotations = { padding: 'x'.repeat(options.manifestPadding) };
  const manifest = Buffer.from(JSON.stringify(manifestObject));
  files.push({ type: 'file', name: `blobs/sha256/${sha256Hex(manifest)}`, data: manifest });
  files.push({ type: 'file', name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' });
  files.push({
    type: 'file',
    name: 'index.json',
    data: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha256Hex(manifest)}`, size: manifest.length }] }),
  });
  return files;
}

/** An OCI archive whose one layer holds `entries`. */
export function hostileOciArchive(entries: HostileEntry[], options: HostileImageOptions = {}): Buffer {
  return hostileTar(hostileOciLayout(hostileTar(entries), options));
}
