#!/usr/bin/env node
// node scripts/proto-subset.mjs IN.json OUT.json NAMESPACE TYPE...
//
// Keeps only the named types (and nothing else) of one namespace of a protobufjs JSON descriptor
// (`pbjs -t json`), so that pbjs can generate code for those alone: the CLI decodes only Status frames (and
// the Error and enums they hold), and a decoder for every Spec message would be code each create loads and
// never runs. pbjs's own --filter does not find names inside a package (protobufjs-cli 1.1), hence this.
// Fails when a kept message refers to a type that is not kept, so the subset can never be silently incomplete.

import { readFileSync, writeFileSync } from 'node:fs';

const [input, output, namespace, ...types] = process.argv.slice(2);
if (!input || !output || !namespace || types.length === 0) {
  console.error('usage: proto-subset.mjs IN.json OUT.json NAMESPACE TYPE...');
  process.exit(2);
}
const root = JSON.parse(readFileSync(input, 'utf8'));
let holder = root;
for (const part of namespace.split('.')) {
  holder = holder.nested?.[part];
  if (!holder) throw new Error(`proto-subset: no namespace ${namespace} in ${input}`);
}
const kept = {};
for (const type of types) {
  if (!holder.nested?.[type]) throw new Error(`proto-subset: no type ${namespace}.${type} in ${input}`);
  kept[type] = holder.nested[type];
}
const scalars = new Set(['double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool', 'string', 'bytes']);
for (const [name, type] of Object.entries(kept)) {
  for (const [field, spec] of Object.entries(type.fields ?? {})) {
    if (!scalars.has(spec.type) && !kept[spec.type]) throw new Error(`proto-subset: ${name}.${field} needs ${spec.type}, which is not kept`);
  }
}
holder.nested = kept;
writeFileSync(output, `${JSON.stringify(root, null, 1)}\n`);
