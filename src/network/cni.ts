// A CNI 1.0 runtime (github.com/containernetworking/cni SPEC.md), the part libcni does: run a network
// configuration list's plugins one by one, each exec'd with CNI_COMMAND and friends in its environment and its
// own configuration (plus name, cniVersion, prevResult and runtimeConfig) on stdin.
//   ADD   runs the plugins in order, each getting the previous one's result as prevResult;
//   DEL   runs them in reverse, each getting the cached ADD result, and tolerates what is already gone;
//   CHECK runs them in order with the cached ADD result;
//   VERSION asks one plugin which spec versions it speaks.
// No npm library does this: the CNI libraries are Go (libcni) and Rust; the protocol is exec + JSON, which
// node:child_process does in a page.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeError } from '../errors.js';
import type { Logger } from '../log.js';

export const CNI_VERSION = '1.0.0';
/** Debian's containernetworking-plugins. */
export const DEFAULT_CNI_PATH = ['/usr/lib/cni'];

export interface CniPluginConf {
  type: string;
  capabilities?: Record<string, boolean> | undefined;
  [key: string]: unknown;
}

export interface CniConfList {
  cniVersion: string;
  name: string;
  plugins: CniPluginConf[];
}

/** The Success result (SPEC.md, "ADD Success"); only what shim reads is typed. */
export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[] | undefined;
  ips?: { address: string; gateway?: string; interface?: number }[] | undefined;
  routes?: { dst: string; gw?: string }[] | undefined;
  dns?: { nameservers?: string[] } | undefined;
  [key: string]: unknown;
}

export interface CniRuntimeConf {
  containerId: string;
  /** The network namespace's path (bind mount); '' for a DEL whose namespace is gone. */
  netns: string;
  ifName: string;
  /** CNI_ARGS, as KEY=VALUE pairs (IgnoreUnknown=1 is added so that every plugin accepts the others'). */
  args?: [string, string][] | undefined;
  /** runtimeConfig entries, handed only to plugins that declare the capability (libcni's rule). */
  capabilityArgs?: Record<string, unknown> | undefined;
  pluginDirs?: string[] | undefined;
}

type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

/**
 * ADD through the whole list. `onResult` sees each plugin's result as it arrives, so a caller can record how
 * far a chain got (a DEL after a crash then gets the furthest result as its prevResult).
 */
export async function addNetworkList(
  list: CniConfList,
  runtime: CniRuntimeConf,
  log: Logger,
  onResult?: (result: CniResult) => void,
): Promise<CniResult> {
  let previous: CniResult | undefined;
  for (const plugin of list.plugins) {
    const output = await execPlugin('ADD', list, plugin, runtime, previous, log);
    previous = parseResult(output, plugin.type, 'ADD');
    onResult?.(previous);
  }
  if (!previous) throw new RuntimeError('invalid-config', `network ${list.name}: no plugins`);
  return previous;
}

/** DEL in reverse order. Every plugin is called even if one fails; the first failure is thrown after. */
export async function delNetworkList(list: CniConfList, runtime: CniRuntimeConf, prevResult: CniResult | undefined, log: Logger): Promise<void> {
  let first: unknown;
  for (const plugin of [...list.plugins].reverse()) {
    try {
      await execPlugin('DEL', list, plugin, runtime, prevResult, log);
    } catch (error) {
      first ??= error;
    }
  }
  if (first) throw first;
}

export async function checkNetworkList(list: CniConfList, runtime: CniRuntimeConf, prevResult: CniResult, log: Logger): Promise<void> {
  for (const plugin of list.plugins) await execPlugin('CHECK', list, plugin, runtime, prevResult, log);
}

/** VERSION of one plugin: the spec versions it supports. */
export async function pluginVersions(type: string, log: Logger, pluginDirs = DEFAULT_CNI_PATH): Promise<string[]> {
  const output = await execPlugin(
    'VERSION',
    { cniVersion: CNI_VERSION, name: 'version', plugins: [] },
    { type },
    { containerId: '', netns: '', ifName: '', pluginDirs },
    undefined,
    log,
  );
  const parsed = parseJson(output, type, 'VERSION') as { supportedVersions?: unknown };
  return Array.isArray(parsed.supportedVersions) ? parsed.supportedVersions.map(String) : [];
}

/** The plugin's own configuration as it reads it on stdin (SPEC.md, "Deriving execution configuration"). */
export function pluginStdin(list: CniConfList, plugin: CniPluginConf, runtime: CniRuntimeConf, prevResult: CniResult | undefined): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  if (prevResult) conf.prevResult = prevResult;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [capability, value] of Object.entries(runtime.capabilityArgs ?? {})) {
    if (plugin.capabilities?.[capability]) runtimeConfig[capability] = value;
  }
  if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
  return conf;
}

export function findPlugin(type: string, pluginDirs: readonly string[]): string | undefined {
  if (!/^[A-Za-z0-9_.-]+$/.test(type)) return undefined;
  for (const dir of pluginDirs) {
    const path = join(dir, type);
    if (existsSync(path)) return path;
  }
  return undefined;
}

async function execPlugin(
  command: CniCommand,
  list: CniConfList,
  plugin: CniPluginConf,
  runtime: CniRuntimeConf,
  prevResult: CniResult | undefined,
  log: Logger,
): Promise<string> {
  const pluginDirs = runtime.pluginDirs ?? DEFAULT_CNI_PATH;
  const path = findPlugin(plugin.type, pluginDirs);
  if (!path) {
    throw new RuntimeError('not-found', `cni plugin ${plugin.type}: not found in ${pluginDirs.join(':')}`, {
      stage: 'network',
      hint: 'apt-get install containernetworking-plugins',
    });
  }
  const stdin = command === 'VERSION' ? { cniVersion: CNI_VERSION } : pluginStdin(list, plugin, runtime, prevResult);
  const args = [['IgnoreUnknown', '1'], ...(runtime.args ?? [])].map(([key, value]) => `${key}=${value}`).join(';');
  const env: Record<string, string> = {
    // The plugins exec iptables, ip6tables and the IPAM plugin (found through CNI_PATH).
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: runtime.containerId,
    CNI_NETNS: runtime.netns,
    CNI_IFNAME: runtime.ifName,
    CNI_ARGS: args,
    CNI_PATH: pluginDirs.join(':'),
  };
  const started = Date.now();
  const { code, stdout, stderr } = await spawnWithInput(path, env, JSON.stringify(stdin));
  log.debug(`cni: ${plugin.type} ${command} ${runtime.containerId.slice(0, 12)}: exit ${code} in ${Date.now() - started}ms`);
  if (code === 0) return stdout;
  throw pluginError(plugin.type, command, stdout, stderr, code);
}

/** The error a plugin printed ({code, msg, details}), as one line naming the plugin. */
function pluginError(type: string, command: CniCommand, stdout: string, stderr: string, exitCode: number | null): RuntimeError {
  let message = '';
  try {
    const parsed = JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
    message = [parsed.msg, parsed.details].filter(Boolean).join(': ');
  } catch {
    // Not the spec's error object: whatever it said.
  }
  message ||= (stderr.trim().split('\n').pop() ?? '') || `exit status ${exitCode}`;
  return new RuntimeError('setup-failed', `cni plugin ${type}: ${command}: ${message.replace(/\s*\n\s*/g, '; ')}`, { stage: 'network' });
}

function parseJson(output: string, type: string, command: CniCommand): unknown {
  try {
    return JSON.parse(output);
  } catch {
    throw new RuntimeError('setup-failed', `cni plugin ${type}: ${command}: printed no JSON result`, { stage: 'network' });
  }
}

function parseResult(output: string, type: string, command: CniCommand): CniResult {
  const parsed = parseJson(output, type, command);
  if (typeof parsed !== 'object' || parsed === null) throw new RuntimeError('setup-failed', `cni plugin ${type}: ${command}: result is not an object`);
  return parsed as CniResult;
}

function spawnWithInput(path: string, env: Record<string, string>, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => reject(new RuntimeError('system', `cni plugin ${path}: ${error.message}`, { stage: 'network', cause: error })));
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}
