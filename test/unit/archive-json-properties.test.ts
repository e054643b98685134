// Property tests (fast-check) for the JSON documents of an image archive (src/images/archive-json.ts): any JSON
// (or not JSON at all) in index.json, an image index, a manifest, a config or docker save's manifest.json is
// either accepted as the document it claims to be or refused with the project's RuntimeError in one line; a
// well-formed document is accepted unchanged.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRuntimeError } from '../../src/errors.js';
import {
  parseArchiveJson, readDockerManifest, readImageConfig, readImageIndex, readImageManifest,
} from '../../src/images/archive-json.js';

function onlyRuntimeErrors(work: () => unknown): void {
  try {
    work();
  } catch (error) {
    if (!isRuntimeError(error)) throw new Error(`threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`);
    expect(error.message).not.toContain('\n');
  }
}

const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `sha256:${hex}`);
const descriptor = fc.record({
  mediaType: fc.constantFrom('application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.layer.v1.tar+gzip'),
  digest,
  size: fc.nat(),
  annotations: fc.option(fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), { nil: undefined }),
  platform: fc.option(fc.record({ os: fc.constant('linux'), architecture: fc.constantFrom('amd64', 'arm64') }), { nil: undefined }),
}, { requiredKeys: ['mediaType', 'digest', 'size'] });
const index = fc.record({ schemaVersion: fc.constant(2), manifests: fc.array(descriptor, { minLength: 1, maxLength: 3 }) });
const manifest = fc.record({ schemaVersion: fc.constant(2), config: descriptor, layers: fc.array(descriptor, { maxLength: 4 }) });
const config = fc.record({ architecture: fc.constant('amd64'), os: fc.constant('linux'), rootfs: fc.record({ type: fc.constant('layers'), diff_ids: fc.array(digest, { maxLength: 4 }) }) });
const dockerManifest = fc.array(fc.record({
  Config: fc.string({ minLength: 1 }),
  RepoTags: fc.option(fc.array(fc.string(), { maxLength: 2 }), { nil: null }),
  Layers: fc.array(fc.string({ minLength: 1 }), { maxLength: 4 }),
}), { minLength: 1, maxLength: 2 });

const readers: [string, (value: unknown) => unknown][] = [
  ['index', (v) => readImageIndex(v, 'index.json')],
  ['manifest', (v) => readImageManifest(v, 'manifest')],
  ['config', (v) => readImageConfig(v, 'config')],
  ['docker manifest.json', (v) => readDockerManifest(v)],
];

/** A valid document with one value somewhere inside replaced by any JSON value. */
function damaged<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.tuple(valid, fc.nat(), fc.jsonValue({ maxDepth: 2 })).map(([doc, at, replacement]) => {
    const copy = JSON.parse(JSON.stringify(doc));
    const slots: [Record<string, unknown>, string][] = [];
    const walk = (node: unknown) => {
      if (typeof node !== 'object' || node === null) return;
      for (const key of Object.keys(node)) {
        slots.push([node as Record<string, unknown>, key]);
        walk((node as Record<string, unknown>)[key]);
      }
    };
    walk(copy);
    if (slots.length === 0) return replacement;
    const [parent, key] = slots[at % slots.length]!;
    parent[key] = replacement;
    return copy;
  });
}

describe('image archive JSON properties', () => {
  it('any text: parsed, or "not valid JSON" as a RuntimeError', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json()), (text) => onlyRuntimeErrors(() => parseArchiveJson(text, 'index.json'))), { numRuns: 200 });
  });

  it('any JSON value, to every reader: the document, or a RuntimeError', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
      for (const [, read] of readers) onlyRuntimeErrors(() => read(value));
    }), { numRuns: 200 });
  });

  it('a valid document with one value replaced by any JSON: the document, or a RuntimeError', () => {
    const docs = [index, manifest, config, dockerManifest] as fc.Arbitrary<unknown>[];
    readers.forEach(([, read], i) => {
      fc.assert(fc.property(damaged(docs[i]!), (value) => onlyRuntimeErrors(() => read(value))), { numRuns: 100 });
    });
  });

  it('valid documents are accepted unchanged, through JSON text and back', () => {
    const docs = [index, manifest, config, dockerManifest] as fc.Arbitrary<unknown>[];
    readers.forEach(([name, read], i) => {
      fc.assert(fc.property(docs[i]!, (doc) => {
        const text = JSON.stringify(doc);
        expect(read(parseArchiveJson(text, name)), name).toEqual(JSON.parse(text));
      }), { numRuns: 50 });
    });
  });
});
