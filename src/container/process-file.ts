// An OCI process (runc exec --process FILE, or the spec containerd's Exec sends), checked with the same rules
// as config.json's process: shared by the CLI and the runtime v2 server.

import type { OciProcess } from '../plan/oci-config.js';
import { readOciConfig } from '../plan/read-oci-config.js';

export function parseOciProcess(raw: unknown, where: string): OciProcess {
  // Wrapped into a minimal config so that every process field gets config.json's checks and refusals.
  const { config } = readOciConfig({ ociVersion: '1.0.2', root: { path: '/' }, process: raw }, where);
  return config.process!;
}
