import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleForNode } from '@proj/test-utils'
import { afterAll } from 'vitest'

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = mkdtempSync(join(tmpdir(), 'proj-cli-bin-'))
afterAll(() => rmSync(outDir, { recursive: true, force: true }))

/**
 * `proj` from the current sources (core and connect-raw through their `source` condition, dependencies
 * included) bundled into one ES module, once per test file: each run then starts in a fraction of the
 * CPU time a TypeScript loader takes, and a signal reaches the CLI itself (one node process).
 */
const bin = bundleForNode({ entry: join(packageDir, 'src', 'proj.ts'), name: 'proj', outDir, tsconfig: join(packageDir, 'tsconfig.json') })
// A failed build is reported by the first run that awaits it, not as an unhandled rejection at import.
bin.catch(() => {})

export interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `proj <args>` as a user does, in its own node process (the bundled sources). */
export async function proj(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Result> {
  const child = spawn(process.execPath, [await bin, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  })
  child.stdin.end(options.input ?? '')
  return outcome(child)
}

/** The child's exit code and everything it wrote, once it has closed its output. */
function outcome(child: ChildProcess): Promise<Result> {
  return new Promise((done, fail) => {
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk) => (stdout += chunk))
    child.stderr?.on('data', (chunk) => (stderr += chunk))
    child.on('error', fail)
    child.on('close', (code) => done({ code, stdout, stderr }))
  })
}

/** `proj serve` on a free port; resolves once it prints its URL. */
export async function serve(args: string[]): Promise<{ url: string; stop: () => Promise<number | null> }> {
  const script = await bin
  return new Promise((started, fail) => {
    const child = spawn(process.execPath, [script, 'serve', '--port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    child.on('error', fail)
    child.stderr.on('data', (chunk) => (output += chunk))
    child.stdout.on('data', (chunk) => {
      output += chunk
      const url = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(output)?.[1]
      if (url) {
        started({
          url,
          stop: () => {
            child.kill('SIGTERM')
            return exited
          },
        })
      }
    })
    void exited.then((code) => fail(new Error(`proj serve exited ${code} before serving: ${output}`)))
  })
}

/** Runs `proj <args>` on a pseudo-terminal (util-linux `script`), as in an interactive shell; stdout and stderr merged. */
export async function projInTerminal(args: string[]): Promise<Result> {
  const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`
  const command = [process.execPath, await bin, ...args].map(quote).join(' ')
  return outcome(spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] }))
}
