// The JSON documents of an image archive, read as untrusted input: OCI's index.json and image index, the image
// manifest, the image config's rootfs, and docker save's manifest.json. Each is checked for exactly what the
// import then uses, so a hostile or broken archive fails with one line naming the document and the field,
// never with a TypeError from deep inside the import. Unknown fields are left alone (the specs allow them).

import { RuntimeError } from '../errors.js';
import { checkDigest, type Descriptor, type ImageConfig, type ImageManifest } from './image-store.js';

/** docker save's manifest.json: one entry per image. */
export interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

function invalid(where: string, what: string): RuntimeError {
  return new RuntimeError('invalid-config', `${where}: ${what}`, { hint: 'the archive is corrupt or not an image archive' });
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function stringArray(value: unknown, where: string, field: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw invalid(where, `${field} is not a list of strings`);
  return value;
}

/** JSON.parse, failing as the archive's fault. */
export function parseArchiveJson(text: string | Buffer, where: string): unknown {
  try {
    return JSON.parse(text.toString());
  } catch {
    throw invalid(where, 'not valid JSON');
  }
}

export function readDescriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(where, 'a descriptor is not an object');
  const { mediaType, digest, size, annotations, platform } = value;
  if (mediaType !== undefined && typeof mediaType !== 'string') throw invalid(where, 'mediaType is not a string');
  if (typeof digest !== 'string') throw invalid(where, 'digest is not a string');
  checkDigest(digest, where);
  if (size !== undefined && !(Number.isSafeInteger(size) && (size as number) >= 0)) throw invalid(where, `size ${JSON.stringify(size)} is not a byte count`);
  if (annotations !== undefined && annotations !== null &&
      !(isObject(annotations) && Object.values(annotations).every((text) => typeof text === 'string'))) {
    throw invalid(where, 'annotations are not strings by name');
  }
  if (platform !== undefined && platform !== null && !isObject(platform)) throw invalid(where, 'platform is not an object');
  return value as unknown as Descriptor;
}

/** index.json, or an image index blob: at least one manifest descriptor. */
export function readImageIndex(value: unknown, where: string): { manifests: Descriptor[] } {
  if (!isObject(value)) throw invalid(where, 'not a JSON object');
  if (!Array.isArray(value.manifests) || value.manifests.length === 0) throw invalid(where, 'no manifests');
  value.manifests.forEach((item, i) => readDescriptor(item, `${where}: manifests[${i}]`));
  return value as { manifests: Descriptor[] };
}

export function readImageManifest(value: unknown, where: string): ImageManifest {
  if (!isObject(value)) throw invalid(where, 'not a JSON object');
  readDescriptor(value.config, `${where}: config`);
  if (!Array.isArray(value.layers)) throw invalid(where, 'layers is not a list');
  value.layers.forEach((layer, i) => readDescriptor(layer, `${where}: layers[${i}]`));
  return value as unknown as ImageManifest;
}

/** The image config, as far as the import reads it: rootfs.diff_ids. */
export function readImageConfig(value: unknown, where: string): ImageConfig {
  if (!isObject(value)) throw invalid(where, 'not a JSON object');
  if (!isObject(value.rootfs)) throw invalid(where, 'rootfs is not an object');
  stringArray(value.rootfs.diff_ids, where, 'rootfs.diff_ids');
  return value as unknown as ImageConfig;
}

export function readDockerManifest(value: unknown): DockerManifestEntry[] {
  const where = 'manifest.json';
  if (!Array.isArray(value) || value.length === 0) throw invalid(where, 'no images');
  return value.map((entry, i) => {
    if (!isObject(entry)) throw invalid(where, `[${i}] is not an object`);
    if (typeof entry.Config !== 'string') throw invalid(where, `[${i}].Config is not a string`);
    stringArray(entry.Layers, where, `[${i}].Layers`);
    if (entry.RepoTags !== undefined && entry.RepoTags !== null) stringArray(entry.RepoTags, where, `[${i}].RepoTags`);
    return entry as unknown as DockerManifestEntry;
  });
}
