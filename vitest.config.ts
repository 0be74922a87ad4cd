import { existsSync, readdirSync } from 'node:fs'
import { defineConfig } from 'vitest/config'

// One root config; every package or app with a test/ folder is a project of its own.
const projectDirs = ['packages', 'apps'].flatMap((group) =>
  existsSync(group)
    ? readdirSync(group)
        .map((name) => `${group}/${name}`)
        .filter((dir) => existsSync(`${dir}/test`) && !existsSync(`${dir}/vitest.config.ts`))
    : [],
)
const ownConfigs = ['packages', 'apps'].flatMap((group) =>
  existsSync(group)
    ? readdirSync(group)
        .map((name) => `${group}/${name}/vitest.config.ts`)
        .filter((file) => existsSync(file))
    : [],
)

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      ...projectDirs.map((dir) => ({
        extends: true as const,
        test: { name: dir.split('/')[1], root: dir, include: ['test/**/*.test.ts'] },
      })),
      ...ownConfigs,
    ],
  },
})
