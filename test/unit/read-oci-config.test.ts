// config.json checks: fields the runtime does not implement are refused by name, never ignored silently.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readOciConfig } from '../../src/plan/read-oci-config.js';
import { RuntimeError } from '../../src/errors.js';

function runcSpec(mutate: (config: any) => void = () => {}): any {
  const config = JSON.parse(readFileSync(new URL('./fixtures/runc-spec-config.json', import.meta.url), 'utf8'));
  mutate(config);
  return config;
}

function refusal(mutate: (config: any) => void): RuntimeError {
  try {
    readOciConfig(runcSpec(mutate));
  } catch (error) {
    return error as RuntimeError;
  }
  throw new Error('the config was accepted');
}

describe('readOciConfig', () => {
  const unsupported: [string, (c: any) => void][] = [
    ['linux.resources.memory.kernel', (c) => (c.linux.resources.memory = { limit: 1048576, kernel: 1048576 })],
    ['linux.resources.cpu.realtimeRuntime', (c) => (c.linux.resources.cpu = { shares: 512, realtimeRuntime: 1000 })],
    ['linux.resources.blockIO.weightDevice', (c) => (c.linux.resources.blockIO = { weightDevice: [{ major: 8, minor: 0, weight: 10 }] })],
  ];
  for (const [field, mutate] of unsupported) {
    it(`refuses ${field} by name`, () => {
      const error = refusal(mutate);
      expect(error).toBeInstanceOf(RuntimeError);
      expect(error.code).toBe('unsupported');
      expect(error.message).toBe(`config.json: ${field} is not supported yet`);
    });
  }

  it('accepts the memory, cpu, pids and blockIO weight limits shim implements', () => {
    const raw = runcSpec((c) =>
      Object.assign(c.linux.resources, {
        memory: { limit: 33554432, reservation: 16777216, swap: 33554432 },
        cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0-1', mems: '0' },
        pids: { limit: 20 },
        blockIO: { weight: 500 },
      }),
    );
    expect(readOciConfig(raw).warnings).toEqual([]);
  });

  it('accepts empty resource sections (nothing is being asked)', () => {
    expect(() => readOciConfig(runcSpec((c) => Object.assign(c.linux.resources, { memory: {}, cpu: {}, pids: null, hugepageLimits: [] })))).not.toThrow();
    expect(() => readOciConfig(runcSpec((c) => (c.hooks = { prestart: [] })))).not.toThrow();
  });

  it('warns about fields the spec does not define and goes on', () => {
    expect(readOciConfig(runcSpec((c) => (c.linux.futureThing = 1))).warnings).toEqual(['config.json: unknown field linux.futureThing ignored']);
  });

  it('accepts ociVersion 1.0.x to 1.3.x, pre-releases included', () => {
    for (const version of ['1.0.0', '1.0.2-dev', '1.1.0', '1.2.1', '1.3.0']) {
      expect(() => readOciConfig(runcSpec((c) => (c.ociVersion = version)))).not.toThrow();
    }
    for (const version of ['0.9.0', '1.4.0', '2.0.0', 'x']) {
      expect(() => readOciConfig(runcSpec((c) => (c.ociVersion = version)))).toThrow(/ociVersion .* is not supported/);
    }
  });

  it('names the field whose type is wrong', () => {
    expect(() => readOciConfig(runcSpec((c) => (c.process.args = 'sh')))).toThrow('config.json: process.args must be an array of strings');
    expect(() => readOciConfig(runcSpec((c) => (c.root = undefined)))).toThrow('config.json: root.path is required');
    expect(() => readOciConfig(runcSpec((c) => (c.linux.resources.devices = [{ access: 'rwm' }])))).toThrow(
      'config.json: linux.resources.devices[0].allow is required',
    );
    expect(() => readOciConfig([])).toThrow('config.json must be a JSON object');
  });
});
