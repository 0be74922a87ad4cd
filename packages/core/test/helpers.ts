import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach } from 'vitest'

const dirs: string[] = []

/** A fresh temp directory, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'proj-core-'))
  dirs.push(dir)
  return dir
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A seeded generator of numbers in [0, 1) (xorshift32), so a failing random test replays. */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
}

export function dataFiles(dir: string, name: string): string[] {
  return readdirSync(join(dir, name, 'files')).filter((f) => !f.startsWith('.'))
}

export function readDataFile(dir: string, name: string, file: string): Buffer {
  return readFileSync(join(dir, name, 'files', file))
}

/** tsx as a loader inside one node process: its CLI would fork a grandchild that outlives SIGKILL. */
export const tsxLoader = join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'esm', 'index.mjs')

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures')

/**
 * Runs `test/fixtures/<fixture>` in a child process that prints one line per acknowledged operation, and
 * kills it with SIGKILL `afterMs` after its first line, or once it has printed `afterLines` lines. Resolves
 * with the complete lines printed before the kill (what it acknowledged); rejects if it exits by itself.
 */
export function runUntilKilled(
  fixture: string,
  args: string[],
  kill: { afterMs: number } | { afterLines: number },
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions', 'source', '--import', tsxLoader, join(fixtures, fixture), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    let killTimer: NodeJS.Timeout | undefined
    child.stdout.on('data', (chunk) => {
      out += chunk
      if ('afterLines' in kill) {
        if (out.split('\n').length > kill.afterLines) child.kill('SIGKILL')
      } else if (!killTimer) {
        killTimer = setTimeout(() => child.kill('SIGKILL'), kill.afterMs)
      }
    })
    child.stderr.on('data', (chunk) => (err += chunk))
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`${fixture} exited with ${code}: ${err}`))
      // Only complete lines were acknowledged before the kill.
      resolve(out.split('\n').slice(0, -1))
    })
  })
}
