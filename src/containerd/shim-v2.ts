// The process entry of containerd-shim-shim-v2 (dist/lib/containerd-shim.cjs, loaded by the launcher).

import { main } from './shim-v2-main.js';

main(process.argv.slice(2), process.env, process.argv[1] ?? '').then(
  (code) => {
    // start and delete end here (the server they may have started is a process of its own); serve never does.
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`containerd-shim-shim-v2: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
