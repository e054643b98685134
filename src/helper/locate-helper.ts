// Where the helper binary is. Its own module, free of protobufjs and the frame code, because main.ts needs
// the path for every verb's context and must stay cheap to load.

import { realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RuntimeError } from '../errors.js';

export const HELPER_NAME = 'shim-helper';

/** The helper sits next to the CLI file (dist/shim -> dist/shim-helper) unless SHIM_HELPER says otherwise. */
export function locateHelper(cliPath: string | undefined, override: string | undefined): string {
  if (override) return resolve(override);
  if (!cliPath) throw new RuntimeError('helper-failed', 'locate shim-helper: the CLI path is unknown', { hint: 'set SHIM_HELPER' });
  // Through symlinks: /usr/local/bin/shim links to /usr/local/lib/shim/shim, and the helper is beside the latter.
  let cliFile = resolve(cliPath);
  try {
    cliFile = realpathSync(cliFile);
  } catch {
    // A CLI path that does not resolve still names the directory to look in.
  }
  return join(dirname(cliFile), HELPER_NAME);
}
