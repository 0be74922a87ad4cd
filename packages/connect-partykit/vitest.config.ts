import { defineProject } from 'vitest/config'

// Its own config (not the root's auto-project) for the globalSetup that runs the real `partykit dev`.
export default defineProject({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    name: 'connect-partykit',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // As in the root config: expect.poll's own 1 s default is a timing assumption, not a bound on a hang.
    expect: { poll: { timeout: 20_000 } },
  },
})
