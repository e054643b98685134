// Image archives for tests, made with GNU tar and sha256 only (never with shim's own tar code), so the import
// is checked against archives it did not write: an OCI image layout (as podman save --format oci-archive)
// or a docker-archive (as docker save).

import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface TestImageConfig {
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Volumes?: Record<string, object>;
}

export interface LayerSpec {
  /** A directory whose content is the layer (`.wh.NAME` files are whiteouts, as in a real layer tar). */
  dir?: string;
  /** Or a ready layer tar. */
  tar?: string;
  gzip?: boolean;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A layer directory as an uncompressed tar, numeric owners, sorted names. */
export async function tarLayer(dir: string, out: string): Promise<string> {
  await execa('tar', ['--numeric-owner', '--sort=name', '--xattrs', '--xattrs-include=*', '-C', dir, '-cf', out, '.']);
  return out;
}

export async function makeOciArchive(work: string, layers: LayerSpec[], config: TestImageConfig, options: { refName?: string } = {}): Promise<string> {
  const layout = join(work, 'layout');
  const blobs = join(layout, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (data: Buffer) => {
    const hex = sha256(data);
    await writeFile(join(blobs, hex), data);
    return { digest: `sha256:${hex}`, size: data.length };
  };
  const descriptors = [];
  const diffIds = [];
  for (const [index, layer] of layers.entries()) {
    const tarFile = layer.tar ?? (await tarLayer(layer.dir!, join(work, `layer${index}.tar`)));
    const tar = await readFile(tarFile);
    diffIds.push(`sha256:${sha256(tar)}`);
    const blob = layer.gzip ? gzipSync(tar) : tar;
    descriptors.push({
      mediaType: layer.gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
      ...(await put(blob)),
    });
  }
  const imageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], ...config },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: layers.map(() => ({ created_by: 'test' })),
  };
  const configDescriptor = { mediaType: 'application/vnd.oci.image.config.v1+json', ...(await put(Buffer.from(JSON.stringify(imageConfig)))) };
  const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDescriptor, layers: descriptors };
  const manifestDescriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...(await put(Buffer.from(JSON.stringify(manifest)))) };
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ ...manifestDescriptor, annotations: options.refName ? { 'org.opencontainers.image.ref.name': options.refName } : undefined }],
  }));
  const archive = join(work, 'image.oci.tar');
  await execa('tar', ['-C', layout, '-cf', archive, '.']);
  await rm(layout, { recursive: true, force: true });
  return archive;
}

/** docker save's layout: manifest.json, <config>.json, <id>/layer.tar. */
export async function makeDockerArchive(work: string, layerDirs: string[], config: TestImageConfig, repoTag: string): Promise<string> {
  const root = join(work, 'docker');
  await mkdir(root, { recursive: true });
  const layerNames = [];
  const diffIds = [];
  for (const [index, dir] of layerDirs.entries()) {
    const tar = await readFile(await tarLayer(dir, join(work, `dlayer${index}.tar`)));
    const hex = sha256(tar);
    await mkdir(join(root, hex), { recursive: true });
    await writeFile(join(root, hex, 'layer.tar'), tar);
    layerNames.push(`${hex}/layer.tar`);
    diffIds.push(`sha256:${hex}`);
  }
  const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const configName = `${sha256(configBytes)}.json`;
  await writeFile(join(root, configName), configBytes);
  await writeFile(join(root, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: [repoTag], Layers: layerNames }]));
  const archive = join(work, 'image.docker.tar');
  await execa('tar', ['-C', root, '-cf', archive, '.']);
  await rm(root, { recursive: true, force: true });
  return archive;
}
