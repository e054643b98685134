// Checks of process fields whose JSON type is right but whose value the kernel would take to mean something
// else: an id of -1 or 2^32-1 is setresuid's "leave it unchanged" (the process would keep running as root),
// and an environment entry without "=" or with a NUL is cut or dropped by execve. runc refuses both (its JSON
// decoder for the ids, its init for the environment, in these words).

import { RuntimeError } from '../errors.js';
import type { OciProcess } from './oci-config.js';

/** The largest id a process can hold: (uid_t)-1 is reserved for "no change". */
const MAX_ID = 0xffff_fffe;

/**
 * The most entries one repeated field of the Spec may have: the helper's nanopb counts them in 16 bits, and
 * would refuse more only as "decode shim.v1.Spec: too many array entries".
 */
const MAX_LIST_ENTRIES = 65_535;

export function checkProcessValues(process: OciProcess): void {
  for (const field of ['args', 'env'] as const) {
    const count = process[field]?.length ?? 0;
    if (count > MAX_LIST_ENTRIES) {
      throw new RuntimeError('invalid-config', `config.json: process.${field} has ${count} entries; at most ${MAX_LIST_ENTRIES} are taken`);
    }
  }
  const checkId = (value: number, field: string) => {
    if (!Number.isInteger(value) || value < 0 || value > MAX_ID) {
      throw new RuntimeError('invalid-config', `config.json: ${field} ${value} is not an id (a whole number from 0 to ${MAX_ID})`);
    }
  };
  checkId(process.user.uid, 'process.user.uid');
  checkId(process.user.gid, 'process.user.gid');
  (process.user.additionalGids ?? []).forEach((gid, index) => checkId(gid, `process.user.additionalGids[${index}]`));
  (process.env ?? []).forEach((entry, index) => {
    const invalid = (why: string) => new RuntimeError('invalid-config', `config.json: process.env[${index}] ${JSON.stringify(entry)}: invalid environment variable: ${why}`);
    const equals = entry.indexOf('=');
    if (equals < 0) throw invalid('missing \'=\'');
    if (equals === 0) throw invalid('name cannot be empty');
    if (entry.includes('\0')) throw invalid('contains nul byte (\\x00)');
  });
}
