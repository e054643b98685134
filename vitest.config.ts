import { defineConfig } from 'vitest/config';

// Four tiers (STYLE.md): pure logic, raw bytes to the real helper, real containers through the real CLI, and
// real orchestrators calling the real CLI.
// The two root tiers start real containers; two workers keep them inside CI's two cores.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 10_000 } },
      {
        test: {
          name: 'helper',
          include: ['test/helper/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
          pool: 'forks',
          poolOptions: { forks: { maxForks: 2, minForks: 1 } },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
          poolOptions: { forks: { maxForks: 2, minForks: 1 } },
        },
      },
      {
        // Real callers (podman, containerd's ctr, buildah) driving dist/shim as their runtime: each file owns a
        // private instance of its caller, so the files run side by side like the integration tier.
        test: {
          name: 'interop',
          include: ['test/interop/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: 'forks',
          poolOptions: { forks: { maxForks: 2, minForks: 1 } },
        },
      },
    ],
  },
});
