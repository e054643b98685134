// The FIFOs containerd names for a process's stdin, stdout and stderr become the process's own descriptors:
// the container reads and writes them directly, with no copy through the server, so its I/O outlives the
// server as it does with runc's shim when the process holds the FIFOs itself.
//
// Node has no fcntl(), so a descriptor must be opened blocking from the start (a container reading a
// non-blocking stdin would see EAGAIN):
//  - stdout, stderr: O_WRONLY would block until containerd's reader is there, O_WRONLY|O_NONBLOCK would fail
//    with ENXIO without one; O_RDWR never blocks on a FIFO, and the container's writes block as they should.
//  - stdin: opening for reading blocks until a writer exists. A writer of our own (O_RDWR, closed right after)
//    is one, so the O_RDONLY open returns at once, and the container sees EOF when the caller's writer closes.

import { closeSync, constants, fchownSync, openSync } from 'node:fs';
import { systemError } from '../errors.js';
import type { HelperStdio } from '../helper/run-helper.js';

export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

export interface OpenedStdio {
  fds: [HelperStdio, HelperStdio, HelperStdio];
  /** Our copies, closed once the helper has its own. */
  close(): void;
}

/**
 * `owner` (runc's io_uid/io_gid): the FIFOs are given to that user, as runc's shim gives its pipes, so that a
 * process running as a non-root user can reopen its own /dev/stdout.
 */
export function openStdio(paths: StdioPaths, owner?: { uid: number; gid: number }): OpenedStdio {
  const opened: number[] = [];
  const close = () => {
    for (const fd of opened.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        // Closed already.
      }
    }
  };
  const open = (path: string, flags: number, what: string) => {
    try {
      const fd = openSync(path, flags);
      opened.push(fd);
      if (owner) fchownSync(fd, owner.uid, owner.gid);
      return fd;
    } catch (error) {
      close();
      throw systemError(error, `open ${what} fifo`, { stage: 'stdio', path });
    }
  };
  let stdin: HelperStdio = 'ignore';
  if (paths.stdin) {
    const writer = open(paths.stdin, constants.O_RDWR, 'stdin');
    stdin = open(paths.stdin, constants.O_RDONLY, 'stdin');
    closeSync(writer);
    opened.splice(opened.indexOf(writer), 1);
  }
  const stdout: HelperStdio = paths.stdout ? open(paths.stdout, constants.O_RDWR, 'stdout') : 'ignore';
  // With a terminal the pty carries both streams: containerd gives no stderr then.
  const stderr: HelperStdio = paths.stderr && !paths.terminal ? open(paths.stderr, constants.O_RDWR, 'stderr') : 'ignore';
  return { fds: [stdin, stdout, stderr], close };
}
