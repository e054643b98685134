// The esbuild options every bundle shim ships with: scripts/bundle.mjs builds dist/ with them, and
// bench/startup-costs.mjs builds its per-dependency probes with them too, so that what it measures is what
// dist/ loads. One place, so the two cannot drift apart.

export const shippedBundleOptions = {
  bundle: true,
  // CommonJS: require() of a .cjs file does not start Node's ESM loader (~10 ms per command; docs/startup.md).
  format: 'cjs',
  platform: 'node',
  target: 'node18',
  // An import() left external (another verb's file, yargs, execa) becomes a require(): no ESM loader either.
  supported: { 'dynamic-import': false },
  // Identifiers stay readable: --debug prints stacks, and renaming saves little parse time.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  // protobufjs probes for optional modules with an eval'd require; it works without them.
  logOverride: { 'direct-eval': 'silent' },
};
