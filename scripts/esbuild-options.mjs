// The esbuild options every bundle shim ships with: scripts/bundle.mjs builds dist/ with them, and
// bench/startup-costs.mjs builds its per-dependency probes with them too, so that what it measures is what
// dist/ loads. One place, so the two cannot drift apart.

export const shippedBundleOptions = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node18',
  // Identifiers stay readable: --debug prints stacks, and renaming saves little parse time.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  // Dependencies written as CommonJS (protobufjs) call require() for Node built-ins; an ESM chunk has no
  // require of its own, so each chunk gets one.
  banner: { js: "import { createRequire as __shimCreateRequire } from 'node:module'; const require = __shimCreateRequire(import.meta.url);" },
  // protobufjs probes for optional modules with an eval'd require; it works without them.
  logOverride: { 'direct-eval': 'silent' },
};
