// The Spec the CLI sends back as a plain object (enums and uint64s as numbers), for tests: the CLI itself
// loads only the encoders (src/spec/encode-spec.ts), so the decoder comes from the full generated module.

import { shim } from '../../src/spec/generated/shim.js';

export function decodeSpec(bytes: Uint8Array): shim.v1.Spec {
  return shim.v1.Spec.decode(bytes);
}
