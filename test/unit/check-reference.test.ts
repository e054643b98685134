import { describe, expect, it } from 'vitest';
import { checkReference } from '../../src/images/image-store.js';

describe('checkReference: docker\'s NAME[:TAG] grammar', () => {
  it('takes what docker takes', () => {
    for (const name of ['busybox', 'busybox:1', 'localhost:5000/a/b:v1.2', 'docker.io/library/alpine:3.19', 'hello:1', 'my_app:v-1', 'a.b-c__d:Tag_1', 'Registry.Example.com/x']) {
      expect(checkReference(name, 'usage')).toBe(name);
    }
  });

  it('refuses the rest in docker\'s words', () => {
    expect(() => checkReference('UPPER:tag', 'usage')).toThrow('"UPPER:tag": invalid reference format: repository name must be lowercase');
    expect(() => checkReference('quay.io/Foo/bar', 'usage')).toThrow('must be lowercase');
    for (const name of ['a:b:c', 'a//b', '-x', '', 'a:', ':a', 'x'.repeat(256), 'a b', '../x']) {
      expect(() => checkReference(name, 'usage'), name).toThrow(/invalid reference format$/);
    }
  });
});
