// docker run's options beyond the image run's basics, from the command line to the config, the state and
// the helper's spec: -i/-t, -u, --cap-add/--cap-drop, --privileged, --read-only, --tmpfs, --ulimit, --init,
// --restart, --stop-signal, --stop-timeout, --label. The policy (which restarts, which signal) is decided
// here and in docker-lifecycle.ts; the helper is only told plain numbers.

import { join } from 'node:path';
import type { ImageInfo } from '../images/images.js';
import type { OciConfig } from '../plan/oci-config.js';
import { applyDockerRunFlags, hasDockerRunFlags, type DockerRunFlags, type RestartPolicy } from '../plan/docker-run-flags.js';
import type { SpecOptions } from '../spec/encode-spec.js';

export interface DockerRunOptions {
  /** -t: a terminal from the container's devpts; -i: stdin kept open. */
  tty: boolean;
  interactive: boolean;
  /** -u as typed (UID[:GID] or NAME[:GROUP]), resolved against the image's /etc/passwd and /etc/group. */
  user?: string | undefined;
  /** --group-add as typed: GIDs, or names from the image's /etc/group. */
  groupAdd?: string[] | undefined;
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  readOnly: boolean;
  tmpfs: string[];
  ulimits: string[];
  /** --init: the helper's reaper as PID 1. */
  init: boolean;
  restart?: RestartPolicy | undefined;
  /** --stop-signal (a name such as SIGTERM), --stop-timeout (seconds). */
  stopSignal?: string | undefined;
  stopTimeout?: number | undefined;
  labels?: Record<string, string> | undefined;
  /** --detach-keys as typed (docker's default ctrl-p,ctrl-q when unset). */
  detachKeys?: string | undefined;
}

/** What the state keeps of them: start, stop, restart and inspect read it. */
export interface DockerState {
  tty: boolean;
  interactive: boolean;
  init: boolean;
  restart?: RestartPolicy | undefined;
  stopSignal?: string | undefined;
  stopTimeout?: number | undefined;
  labels?: Record<string, string> | undefined;
  detachKeys?: string | undefined;
  user?: string | undefined;
  /** run's flags, for inspect's HostConfig. */
  capAdd?: string[] | undefined;
  capDrop?: string[] | undefined;
  privileged?: boolean | undefined;
  readOnly?: boolean | undefined;
  tmpfs?: string[] | undefined;
  /** How many times the monitor started the process again (read from its pid file). */
  restartCount?: number | undefined;
  /** When the process last started (ISO), for inspect's StartedAt. */
  startedAt?: string | undefined;
  /** `stop` asked for the end: no restart counts against the policy, inspect shows it. */
  stoppedByUser?: boolean | undefined;
  /** The restart delay the monitor waited before the current run (0 before the first restart). */
  restartDelayMs?: number | undefined;
  /** The log is in timed records (LOG_RECORDS): containers made before them have raw logs. */
  logRecords?: boolean | undefined;
}

export const ATTACH_SOCKET = 'attach.sock';
export const PID_FILE = 'pid.json';
export const DEFAULT_STOP_TIMEOUT_S = 10;
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';
/** docker's restart back-off: 100 ms, doubled each restart up to a minute, and 100 ms again after a run of 10 s. */
export const RESTART_DELAY_MS = 100;
export const RESTART_MAX_DELAY_MS = 60_000;
export const RESTART_RESET_AFTER_MS = 10_000;

export async function applyDockerRun(config: OciConfig, options: DockerRunOptions, image: ImageInfo): Promise<void> {
  let user: DockerRunFlags['user'];
  if (options.user !== undefined) {
    // The built-in image is made only when the run goes ahead, and planned again then: a name waits for it.
    if (!image.pending || /^\d+(:\d+)?$/.test(options.user)) {
      const { resolveUser } = await import('../images/images.js');
      user = await resolveUser(options.user, image.pending ? [] : image.layerDirs, `-u ${options.user}`);
    }
  }
  let groupAdd: number[] | undefined;
  if (options.groupAdd?.length && (!image.pending || options.groupAdd.every((entry) => /^\d+$/.test(entry)))) {
    const { resolveGroups } = await import('../images/images.js');
    groupAdd = await resolveGroups(options.groupAdd, image.pending ? [] : image.layerDirs);
  }
  const flags: DockerRunFlags = { ...options, user, groupAdd };
  if (!hasDockerRunFlags(flags)) return;
  const host = options.privileged || options.capAdd.length > 0 ? (await import('../host/read-host-devices.js')).readPrivilegedHost() : undefined;
  applyDockerRunFlags(config, flags, host);
}

export function dockerStateOf(options: DockerRunOptions): DockerState {
  return {
    tty: options.tty,
    interactive: options.interactive,
    init: options.init,
    restart: options.restart,
    stopSignal: options.stopSignal,
    stopTimeout: options.stopTimeout,
    labels: options.labels,
    detachKeys: options.detachKeys,
    user: options.user,
    capAdd: options.capAdd.length > 0 ? options.capAdd : undefined,
    capDrop: options.capDrop.length > 0 ? options.capDrop : undefined,
    privileged: options.privileged || undefined,
    readOnly: options.readOnly || undefined,
    tmpfs: options.tmpfs.length > 0 ? options.tmpfs : undefined,
    logRecords: true,
  };
}

/**
 * The helper's part of a background (run -d, run -it, start) run of a docker-style container: the terminal's
 * attach socket, the pid file each start rewrites, the restart policy as plain numbers, and the reaper.
 */
export function backgroundSpecOptions(docker: DockerState | undefined, stateDir: string, attachNow: boolean): Partial<SpecOptions> {
  if (!docker) return {};
  const restart = docker.restart;
  const enabled = restart !== undefined && restart.name !== 'no';
  return {
    initReaper: docker.init,
    // -i without -t: the socket takes stdin only (the output is followed in the log, streams apart).
    attachSocket: docker.tty || docker.interactive ? join(stateDir, ATTACH_SOCKET) : undefined,
    attachWaitFirst: docker.tty && attachNow,
    attachStdin: !docker.tty && docker.interactive,
    logRecords: docker.logRecords ?? false,
    pidPath: join(stateDir, PID_FILE),
    restart: enabled
      ? {
          enabled: true,
          onlyOnFailure: restart.name === 'on-failure',
          maximum: restart.name === 'on-failure' ? restart.maximum : 0,
          delayMs: RESTART_DELAY_MS,
          maxDelayMs: RESTART_MAX_DELAY_MS,
          resetAfterMs: RESTART_RESET_AFTER_MS,
        }
      : undefined,
  };
}
