import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, inject, it } from 'vitest'

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..')
/** ws's own close timeout is 30 s: a process still running this long after close() is held by the connector. */
const EXIT_BOUND = 15_000

it('close() releases the socket: a script that syncs and closes exits by itself', async () => {
  const child = spawn(
    process.execPath,
    ['--conditions', 'source', '--import', 'tsx', join(packageDir, 'test/fixture/connect-and-close.mts'), inject('partykitHost')],
    { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exit = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve(`still running ${EXIT_BOUND} ms after it started`)
    }, EXIT_BOUND)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code ?? -1)
    })
  })
  expect({ exit, output: output.trim() }).toEqual({ exit: 0, output: 'closed' })
}, 30_000)
