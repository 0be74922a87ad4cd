import { existsSync, readdirSync } from 'node:fs'
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

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
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
