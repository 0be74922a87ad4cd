import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runNodeUntilExit } from '@proj/test-utils'
import { expect, inject, it } from 'vitest'

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..')
/**
 * ws's own close timeout is 30 s: a process still running this long after its script (which ends with close())
 * finished is held by the connector.
 */
const EXIT_BOUND = 15_000

it('close() releases the socket: a script that syncs and closes exits by itself', async () => {
  const script = join(packageDir, 'test/fixture/connect-and-close.mts')
  const { exit, output } = await runNodeUntilExit(['--conditions', 'source', '--import', 'tsx'], script, [inject('partykitHost')], {
    cwd: packageDir,
    exitWithinMs: EXIT_BOUND,
    workWithinMs: 40_000,
  })
  expect({ exit, output: output.trim() }).toEqual({ exit: 0, output: 'closed' })
})
