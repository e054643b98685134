// node bench/spawn-floor.cjs HELPER SPEC_FRAME_FILE
//
// The floor under any Node CLI that runs a container through the helper: Node starts, loads
// node:child_process, spawns the helper with the same two pipes shim uses (spec on fd 3, status on fd 4),
// writes the captured spec frame, reads the status until the helper exits. No planning, no state, no
// cgroup setup, no clean-up: what `shim run` could cost if everything of its own took no time. run.sh gives
// it the spec without cgroups: a cgroup.procs write every ~60 ms would wait for an RCU grace period each
// time (~6-25 ms), which shim's attach warm-up hides, and the floor must not carry what shim does not pay.
'use strict';
const { spawn } = require('node:child_process');
const { readFileSync } = require('node:fs');

const [helper, specFile] = process.argv.slice(2);
const child = spawn(helper, ['3', '4'], { stdio: ['inherit', 'inherit', 'inherit', 'pipe', 'pipe'], detached: true });
child.stdio[3].on('error', () => {});
child.stdio[3].end(readFileSync(specFile));
child.stdio[4].resume();
child.on('exit', (code, signal) => {
  process.exitCode = signal ? 1 : code;
});
