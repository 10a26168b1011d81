import { defineConfig } from 'vitest/config';

/**
 * The fast unit run (`npm run test:unit`): test/unit only, no Azurite, no host, no build. Tests
 * that need storage use the in-memory twin (test/support/memory.blob.store.ts).
 */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    // Some files build their corpus in a hook (GDAL writes); a loaded machine needs more than 10 s.
    hookTimeout: 120_000,
  },
});
