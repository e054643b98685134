// dist/containerd-shim-shim-v2 (a static binary: src/containerd/launcher.c) answers two of containerd's calls
// itself, without a Node start: `delete` of a container with nothing left, and `start` of a
// container whose group's server is alive. Its answers must be the Node entry's (shim-v2-main.ts) for the same
// calls: both run here, on the built dist/. The start tests run real servers (no containers: they are started
// by Node's `start`, as containerd's first start of a group does) and stop them by pid.

import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { groupOf, joiningDirOf, serverRecordOf, socketPathOf } from '../../src/containerd/shim-paths.js';
import { readField } from '../../src/containerd/wire.js';
import { killPid, repoRoot, waitFor } from '../support/shim.js';

const root = mkdtempSync(join(tmpdir(), 'shim-launcher-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function deleteAnswer(command: string[], id: string): Promise<{ pid: unknown; exitStatus: unknown; seconds: number; bytes: Buffer }> {
  const args = ['-namespace', 'ns1', '-address', '/run/x.sock', '-publish-binary', '/usr/bin/containerd', '-id', id, '-bundle', root, 'delete'];
  const result = await execa(command[0]!, [...command.slice(1), ...args], { env: { SHIM_CONTAINERD_ROOT: root }, encoding: 'buffer', stdin: 'ignore' });
  expect(result.exitCode).toBe(0);
  const bytes = Buffer.from(result.stdout);
  const timestamp = readField(bytes, 3) as Uint8Array;
  return { pid: readField(bytes, 1), exitStatus: readField(bytes, 2), seconds: readField(timestamp, 1) as number, bytes };
}

describe('the launcher', () => {
  it("answers `delete` of a container with nothing left as the Node entry does: no pid, 137, now", async () => {
    const launcher = await deleteAnswer([join(repoRoot, 'dist/containerd-shim-shim-v2')], 'gone1');
    const node = await deleteAnswer([process.execPath, join(repoRoot, 'dist/containerd-shim-shim-v2.cjs')], 'gone1');
    expect(launcher.pid).toBeUndefined();
    expect(launcher.exitStatus).toBe(137);
    expect(launcher).toMatchObject({ pid: node.pid, exitStatus: node.exitStatus });
    expect(Math.abs(launcher.seconds - Date.now() / 1000)).toBeLessThan(30);
    // The same fields in the same order: the same length but for the time's varint lengths.
    expect(launcher.bytes.subarray(0, 3)).toEqual(node.bytes.subarray(0, 3));
  });

  it('hands anything else to Node: another action, or an id that is not a plain name', async () => {
    const other = await execa(join(repoRoot, 'dist/containerd-shim-shim-v2'), ['-namespace', 'ns1', '-id', 'x', 'frobnicate'], { reject: false, env: { SHIM_CONTAINERD_ROOT: root } });
    expect(other.stderr).toContain('unknown action frobnicate');
    const dotted = await execa(join(repoRoot, 'dist/containerd-shim-shim-v2'), ['-namespace', 'ns1', '-id', '../x', 'delete'], { reject: false, env: { SHIM_CONTAINERD_ROOT: root }, encoding: 'buffer' });
    // Node's answer to it (the launcher's would say nothing about ../x): the same nothing-left response here.
    expect(readField(Buffer.from(dotted.stdout), 2)).toBe(137);
  });
});

// --- start ---------------------------------------------------------------------------------------------------

const launcher = join(repoRoot, 'dist/containerd-shim-shim-v2');
const nodeEntry = [process.execPath, join(repoRoot, 'dist/containerd-shim-shim-v2.cjs')];
const servers: number[] = [];
afterAll(() => servers.forEach((pid) => killPid(pid)));

interface StartAnswer {
  stdout: string;
  address: string;
  mode: number;
  answeredBy: string;
}

/** A group's own temp dir: containerd's address (its socket's directory holds s/), bundles, trace. */
function group(graceMs = 60_000) {
  const base = mkdtempSync(join(root, 'g'));
  const address = join(base, 'c.sock');
  const trace = join(base, 'trace');
  const env = { SHIM_CONTAINERD_ROOT: join(base, 'state'), SHIM_CONTAINERD_TRACE: trace, SHIM_CONTAINERD_LINGER_MS: '0', SHIM_CONTAINERD_JOIN_GRACE_MS: String(graceMs) };
  const bundle = (id: string, config: object = { ociVersion: '1.0.2', process: { args: ['true'] } }) => {
    const dir = join(base, 'bundles', id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    return dir;
  };
  const start = async (command: string[], id: string, dir = bundle(id), extraEnv: Record<string, string> = {}): Promise<StartAnswer> => {
    const args = ['-namespace', 'ns1', '-address', address, '-publish-binary', '/usr/bin/containerd', '-id', id, 'start'];
    const result = await execa(command[0]!, [...command.slice(1), ...args], { cwd: dir, env: { ...env, ...extraEnv }, stdin: 'ignore', reject: false });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    // The launcher's trace says who answered (the Node entry, run directly, writes none).
    let answeredBy = 'node entry';
    if (command[0] === launcher) {
      const last = readFileSync(trace, 'utf8').trim().split('\n').at(-1)!.split(' ');
      expect(last.slice(2, 4)).toEqual(['start', id]);
      answeredBy = last[4]!;
    }
    return { stdout: String(result.stdout), address: readFileSync(join(dir, 'address'), 'utf8'), mode: statSync(join(dir, 'address')).mode & 0o777, answeredBy };
  };
  const socket = () => socketPathOf(address, 'ns1', 'namespace:ns1');
  const record = () => serverRecordOf(address, 'ns1', socket())!;
  const serverPid = () => {
    const pid = Number(readFileSync(record(), 'utf8').split(' ')[0]);
    if (!servers.includes(pid)) servers.push(pid);
    return pid;
  };
  return { base, address, bundle, start, socket, record, serverPid };
}

/** Servers listening on this socket, by their command line. */
function serversOn(socket: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`\0-socket\0${socket}\0`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

describe('the launcher: start', () => {
  it("answers start as Node does while the group's server is alive; a sandbox, or a dead server, go to Node", async () => {
    const g = group();
    // The first start of a group: no server yet, Node's answer (it starts the server).
    const first = await g.start(nodeEntry, 'a1');
    // A second through the launcher: answered by it, the same bytes, the same `address` file.
    const second = await g.start([launcher], 'a2');
    expect(second.answeredBy).toBe('launcher');
    expect(second).toEqual({ ...first, answeredBy: 'launcher' });
    expect(first.stdout).toBe(`unix://${g.socket()}`);
    expect(first.address).toBe(first.stdout);
    expect(first.mode).toBe(0o600);
    // Node's rules for the socket (groupOf, socketPathOf) give the launcher's socket.
    expect(socketPathOf(g.address, 'ns1', groupOf(g.bundle('a2'), 'ns1'))).toBe(g.socket());
    // Node's answer for the same container now (it joins the same server).
    const third = await g.start(nodeEntry, 'a2');
    expect(third).toEqual(first);
    // The launcher's container is a joined one until its Create.
    expect(existsSync(join(joiningDirOf(g.socket()), 'a2'))).toBe(true);
    const server = g.serverPid();
    expect(alive(server)).toBe(true);
    const stat = readFileSync(`/proc/${server}/stat`, 'utf8');
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    expect(readFileSync(g.record(), 'utf8')).toBe(`${server} ${startTime} ns1 ${g.address} ${g.socket()}\n`);

    // A pod's container is grouped by its sandbox: Node's to answer (another server).
    const pod = await g.start([launcher], 'p1', g.bundle('p1', { annotations: { 'io.kubernetes.cri.sandbox-id': 'sb1' } }));
    expect(pod.answeredBy).toBe('node');
    expect(pod.stdout).toBe(`unix://${socketPathOf(g.address, 'ns1', 'sandbox:sb1')}`);
    // A pod's server publishes no record (the launcher never answers for it): the namespace's record is untouched.
    expect(readFileSync(g.record(), 'utf8').split(' ')[0]).toBe(String(server));
    servers.push(...serversOn(socketPathOf(g.address, 'ns1', 'sandbox:sb1')));

    // The server SIGKILLed: its record is stale, the launcher hands start to Node, which starts a new server.
    killPid(server);
    await waitFor('the server to die', () => !alive(server));
    const afterDeath = await g.start([launcher], 'a3');
    expect(afterDeath.answeredBy).toBe('node');
    expect(afterDeath.stdout).toBe(first.stdout);
    const successor = g.serverPid();
    expect(successor).not.toBe(server);
    expect(alive(successor)).toBe(true);
    // And the next one is the launcher's again, on the new server.
    expect((await g.start([launcher], 'a4')).answeredBy).toBe('launcher');
    // Unless SHIM_NO_FAST_PATH says Node answers everything: the same answer.
    const slow = await g.start([launcher], 'a5', g.bundle('a5'), { SHIM_NO_FAST_PATH: '1' });
    expect(slow).toEqual({ ...afterDeath, answeredBy: 'node' });
    // A \u escape could spell the sandbox annotation (JSON.parse reads it as groupOf does): Node's to decide.
    const escapedDir = g.bundle('a6');
    writeFileSync(join(escapedDir, 'config.json'), '{"ociVersion":"1.0.2","annotations":{"io.kubernetes.cri.sandbox\\u002did":"sb2"}}');
    const escaped = await g.start([launcher], 'a6', escapedDir);
    expect(escaped.answeredBy).toBe('node');
    expect(escaped.stdout).toBe(`unix://${socketPathOf(g.address, 'ns1', 'sandbox:sb2')}`);
    servers.push(...serversOn(socketPathOf(g.address, 'ns1', 'sandbox:sb2')));
    // No config.json: Node's (the namespace's group, as groupOf reads it; create then says what is missing).
    const bare = g.bundle('a7');
    rmSync(join(bare, 'config.json'));
    expect(await g.start([launcher], 'a7', bare)).toEqual({ ...afterDeath, answeredBy: 'node' });
  }, 30_000);

  it('a server stays for a start the launcher answered until its Create is overdue, then leaves and clears up', async () => {
    const graceMs = 6_000;
    const g = group(graceMs);
    const joined = Date.now();
    await g.start(nodeEntry, 'b1');
    const server = g.serverPid();
    await new Promise((resolvePromise) => setTimeout(resolvePromise, graceMs / 2));
    const answered = Date.now();
    expect((await g.start([launcher], 'b2')).answeredBy).toBe('launcher');
    // b1's Create is overdue (the server would leave now without b2's), b2's is not.
    await new Promise((resolvePromise) => setTimeout(resolvePromise, joined + graceMs + 1_000 - Date.now()));
    expect(Date.now()).toBeLessThan(answered + graceMs);
    expect(alive(server)).toBe(true);
    await waitFor('the server to leave', () => !alive(server), 20_000);
    // Its socket, record and markers went with it.
    expect(existsSync(g.socket())).toBe(false);
    expect(existsSync(g.record())).toBe(false);
    expect(existsSync(joiningDirOf(g.socket()))).toBe(false);
    // With no server, the launcher's start goes to Node (which starts one).
    expect((await g.start([launcher], 'b3')).answeredBy).toBe('node');
    g.serverPid();
  }, 40_000);
});
