import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'proj-serve-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it('proj-serve refuses a --port that is not a port number, naming it (an empty one served on a random port)', () => {
  for (const port of ['', ' ', '80x', '65536', '1e3']) {
    const run = spawnSync(process.execPath, [cli, '--dir', dir, '--port', port], { encoding: 'utf8', timeout: 20_000 })
    expect(run.status, `--port ${JSON.stringify(port)}: ${run.stderr}`).toBe(2)
    expect(run.stderr).toContain(`--port must be a port number (0-65535; 0 picks a free one), got ${JSON.stringify(port)}`)
  }
})

it('proj-serve answers wrong usage with exit 2 and the reason, not a stack trace (a value that looks like a flag, an unknown flag)', () => {
  for (const args of [['--port', '-1'], ['--prot', '8080']]) {
    const run = spawnSync(process.execPath, [cli, '--dir', dir, ...args], { encoding: 'utf8', timeout: 20_000 })
    expect(run.status, run.stderr).toBe(2)
    expect(run.stderr).toMatch(/^proj-serve: /)
    expect(run.stderr).toContain('Usage: proj-serve')
    expect(run.stderr).not.toContain('    at ')
  }
})
