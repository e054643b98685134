// containerd-shim-shim-v2: the runtime v2 contract (containerd runtime/v2/README.md, 1.6).
//
//   containerd-shim-shim-v2 -namespace NS -address SOCK -publish-binary BIN -id ID start     (cwd: the bundle)
//     prints the ttrpc address of the server that is to serve ID: a running one of its group, or a new one
//     started here (this process exits; the server stays). Writes it to the bundle's `address` file too,
//     which containerd reads when it restarts.
//   containerd-shim-shim-v2 -namespace NS -address SOCK -id ID -bundle DIR delete
//     the clean-up containerd runs whenever a server's connection closes (after every container's last
//     Shutdown, and after a server died): removes what is left of ID (process, cgroup, state) and prints a
//     DeleteResponse.
//   containerd-shim-shim-v2 ... -socket PATH       (no action: what start runs) the server itself.
//
// containerd runs `start` and `delete` once per container, each a Node start of its own: this file loads
// only Node's own modules and a few small ones; the server and the clean-up of a live container are in
// server.ts (lib/containerd-server.cjs), loaded when needed.

import { spawn } from 'node:child_process';
import { existsSync, writeFileSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { GROUP_SERVICE, READY_FD, parseFlags, type ShimFlags } from './flags.js';
import { groupOf, socketPathOf, stateRootOf } from './shim-paths.js';
import { FrameDecoder, MESSAGE_TYPE_REQUEST, MESSAGE_TYPE_RESPONSE, encodeFrameHeader } from './ttrpc-frames.js';
import { encodeDeleteResponse, encodeTtrpcRequest, ttrpcResponseCode } from './wire.js';

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, launcherPath: string): Promise<number> {
  const flags = parseFlags(argv);
  if (!flags.namespace) flags.namespace = env.NAMESPACE ?? '';
  if (!flags.namespace || !flags.id) {
    process.stderr.write('containerd-shim-shim-v2: -namespace and -id are required (containerd passes them)\n');
    return 2;
  }
  switch (flags.action) {
    case 'start':
      return startServer(flags, argv, launcherPath);
    case 'delete':
      // Nothing left of it (the server deleted it, as it does every time but after a crash): the answer
      // needs no library at all.
      if (!existsSync(join(stateRootOf(flags.namespace, env), flags.id))) {
        writeSync(1, encodeDeleteResponse(0, 128 + 9, new Date()));
        return 0;
      }
      return (await import('./server.js')).cleanUp(flags, env, launcherPath);
    case undefined:
      return (await import('./server.js')).serve(flags, env, launcherPath);
    default:
      process.stderr.write(`containerd-shim-shim-v2: unknown action ${flags.action} (start, delete)\n`);
      return 2;
  }
}

// --- start ---------------------------------------------------------------------------------------------------

async function startServer(flags: ShimFlags, argv: readonly string[], launcherPath: string): Promise<number> {
  const bundle = process.cwd();
  const socket = socketPathOf(flags.address, flags.namespace, groupOf(bundle, flags.namespace));
  let joined = await joinServer(socket, flags.id);
  if (!joined) {
    const answer = await spawnServer(argv, socket, launcherPath);
    // Another start won the race to listen: its server serves this container too.
    joined = answer === 'listening' || (await joinServer(socket, flags.id));
    if (!joined) {
      process.stderr.write(`containerd-shim-shim-v2: start ${flags.id}: the server did not start (${answer})\n`);
      return 1;
    }
  }
  const address = `unix://${socket}`;
  writeFileSync(join(bundle, 'address'), address, { mode: 0o600 });
  process.stdout.write(address);
  return 0;
}

/**
 * Asks a running server to keep itself for this container; false when there is none (or it is leaving).
 * One ttrpc call on a connection of its own, framed and encoded here (wire.ts): no protobufjs on this path.
 */
function joinServer(socket: string, id: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const connection = connect(socket);
    const decoder = new FrameDecoder();
    const done = (joined: boolean) => {
      clearTimeout(timer);
      connection.destroy();
      resolvePromise(joined);
    };
    const timer = setTimeout(() => done(false), 5_000);
    connection.on('error', () => done(false));
    connection.on('close', () => done(false));
    connection.on('connect', () => {
      const request = encodeTtrpcRequest(GROUP_SERVICE, 'Join', Buffer.from(id));
      connection.write(Buffer.concat([encodeFrameHeader(request.length, 1, MESSAGE_TYPE_REQUEST), request]));
    });
    connection.on('data', (chunk: Buffer) => {
      try {
        for (const frame of decoder.push(chunk)) {
          if (frame.type === MESSAGE_TYPE_RESPONSE && frame.streamId === 1) done(ttrpcResponseCode(frame.data) === 0);
        }
      } catch {
        done(false);
      }
    });
  });
}

/** Starts a server in a session of its own, detached from containerd and from us; says what it reported. */
function spawnServer(argv: readonly string[], socket: string, launcherPath: string): Promise<string> {
  const args = argv.filter((arg) => arg !== 'start');
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [launcherPath, ...args, '-socket', socket], {
      // The server's stdout and stderr must not be ours: containerd reads our output to its end.
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
      detached: true,
      cwd: '/',
    });
    let answer = '';
    const readiness = child.stdio[READY_FD] as NodeJS.ReadableStream | null;
    readiness?.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    readiness?.on('end', () => {
      child.unref();
      resolvePromise(answer.trim() || 'it exited without a word');
    });
    child.on('error', (error) => resolvePromise(error.message));
  });
}

