import { existsSync, readdirSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join, relative, sep } from 'node:path'
import { defineConfig } from 'vitest/config'

// One root config; every package or app with a test/ folder is a project of its own. Folders are found from
// this file's directory, not the cwd, so `npx vitest run` works from anywhere in the repo.
const repo = import.meta.dirname
const folders = ['packages', 'apps'].flatMap((group) =>
  existsSync(join(repo, group)) ? readdirSync(join(repo, group)).map((name) => join(repo, group, name)) : [],
)
const hasOwnConfig = (dir: string) => existsSync(join(dir, 'vitest.config.ts'))
const projectDirs = folders.filter((dir) => existsSync(join(dir, 'test')))

// Run from inside a package (`npm test`, `npx vitest run` in its folder): that package's tests only.
const inside = (dir: string) => {
  const path = relative(dir, process.cwd())
  return path === '' || (!path.startsWith('..') && !path.startsWith(sep) && !path.includes(`..${sep}`))
}
const here = projectDirs.find(inside)
const selected = here ? [here] : projectDirs

// Most test files wait on child processes, fsync, servers or timers rather than computing, so on a 2-core
// machine two files at once finish well before one at a time (vitest's default there is cpus - 1 = 1).
const maxWorkers = Math.max(2, availableParallelism() - 1)

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers,
    // expect.poll's own default (1 s) is a timing assumption: a poll whose condition a loaded machine reaches
    // later fails though nothing is wrong. Polls wait on a condition, so the bound only needs to end a real hang.
    expect: { poll: { timeout: 20_000 } },
    projects: selected.map((dir) =>
      hasOwnConfig(dir)
        ? join(dir, 'vitest.config.ts')
        : {
            extends: true as const,
            test: { name: relative(repo, dir).split(sep)[1]!, root: dir, include: ['test/**/*.test.ts'] },
          },
    ),
  },
})
