import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startPartykitDev, type PartykitDev } from '@proj/test-utils'

export type { PartykitDev }

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * This package's party server (test/fixture/partykit.json) under the real `partykit dev`; `vars` are its
 * `--var`s, `port` the port to try first (see startPartykitDev).
 */
export function startPartykit(vars: Record<string, string> = {}, persist?: string, port?: number): Promise<PartykitDev> {
  return startPartykitDev({
    cwd: packageDir,
    config: join(packageDir, 'test', 'fixture', 'partykit.json'),
    vars,
    ...(persist ? { persist } : {}),
    ...(port === undefined ? {} : { port }),
  })
}
