import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    name: 'react',
    root: import.meta.dirname,
    environment: 'happy-dom',
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    // As in the root config: expect.poll's own 1 s default is a timing assumption, not a bound on a hang.
    expect: { poll: { timeout: 20_000 } },
  },
})
