import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The bench measures the workspace packages as an app installs them: their built `dist/`, not their
 * TypeScript sources through tsx (whose transpiling and source maps cost the measured process ~7 MB of RSS
 * and compile time no user pays). A build older than its sources would measure other code: refuse it.
 */
const MEASURED = ['core', 'connect-raw', 'connect-partykit', 'connector-tests']

function newest(dir: string): { path: string; ms: number } {
  let found = { path: dir, ms: 0 }
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    const candidate = entry.isDirectory() ? newest(path) : { path, ms: statSync(path).mtimeMs }
    if (candidate.ms > found.ms) found = candidate
  }
  return found
}

function oldest(dir: string): number {
  let ms = Infinity
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    ms = Math.min(ms, entry.isDirectory() ? oldest(path) : statSync(path).mtimeMs)
  }
  return ms
}

/** Throws, naming the package and the file, when a measured package's build is missing or older than its sources. */
export function assertBuilt(root: string): void {
  for (const name of MEASURED) {
    const pkg = join(root, 'packages', name)
    let built: number
    try {
      built = oldest(join(pkg, 'dist'))
    } catch {
      throw new Error(`packages/${name} is not built: run \`npm run bench\` (it builds first) or \`node scripts/pnpm.mjs --filter @proj/${name} build\``)
    }
    const source = newest(join(pkg, 'src'))
    if (source.ms > built) {
      throw new Error(`packages/${name}/dist is older than ${source.path.slice(root.length + 1)}: the bench measures the build; run \`npm run bench\` (it builds first) or \`node scripts/pnpm.mjs --filter @proj/${name} build\``)
    }
  }
}
