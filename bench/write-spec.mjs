#!/usr/bin/env node
// node bench/write-spec.mjs CAPTURED.bin NO_CGROUP_OUT.bin
//
// Reads a spec frame captured from `shim run` (bench/capture-helper.sh), prints the cgroup.procs files it
// names (one a line: the benchmark creates their directories, since the shim that made them has removed
// them), and writes the same spec without Spec.cgroup_procs, for the helper-without-cgroups variant.
// A raw walk over the top-level fields, so no generated code is needed: only field 13 is dropped.

import { readFileSync, writeFileSync } from 'node:fs';

const CGROUP_PROCS_FIELD = 13;
const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: write-spec.mjs CAPTURED.bin NO_CGROUP_OUT.bin');
  process.exit(2);
}

const frame = readFileSync(input);
const length = frame.readUInt32LE(0);
const message = frame.subarray(4, 4 + length);
if (message.length !== length) throw new Error(`${input}: truncated frame (${message.length} of ${length} bytes)`);

const kept = [];
const cgroupProcs = [];
let offset = 0;
while (offset < message.length) {
  const start = offset;
  const key = readVarint();
  const field = Number(key >> 3n);
  const wireType = Number(key & 7n);
  let value;
  switch (wireType) {
    case 0:
      readVarint();
      break;
    case 1:
      offset += 8;
      break;
    case 2: {
      const size = Number(readVarint());
      value = message.subarray(offset, offset + size);
      offset += size;
      break;
    }
    case 5:
      offset += 4;
      break;
    default:
      throw new Error(`${input}: wire type ${wireType} at byte ${start}`);
  }
  if (field === CGROUP_PROCS_FIELD) cgroupProcs.push(value.toString('utf8'));
  else kept.push(message.subarray(start, offset));
}

const body = Buffer.concat(kept);
const header = Buffer.alloc(4);
header.writeUInt32LE(body.length, 0);
writeFileSync(output, Buffer.concat([header, body]));
for (const path of cgroupProcs) console.log(path);

function readVarint() {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const byte = message[offset++];
    if (byte === undefined) throw new Error(`${input}: varint runs past the end`);
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7n;
  }
}
