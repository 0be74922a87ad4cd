import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const bin = join(here, '..', 'src', 'proj.ts')
// tsx as a loader inside one node process (as core's crash test): a signal then reaches the CLI itself.
const tsxLoader = join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'esm', 'index.mjs')

export interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `proj <args>` as a user does, in its own node process (the sources, through the `source` condition). */
export function proj(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Result> {
  const child = spawn(process.execPath, ['--conditions', 'source', '--import', tsxLoader, bin, ...args], {
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
export function serve(args: string[]): Promise<{ url: string; stop: () => Promise<number | null> }> {
  return new Promise((started, fail) => {
    const child = spawn(process.execPath, ['--conditions', 'source', '--import', tsxLoader, bin, 'serve', '--port', '0', ...args], {
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
export function projInTerminal(args: string[]): Promise<Result> {
  const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`
  const command = [process.execPath, '--conditions', 'source', '--import', tsxLoader, bin, ...args].map(quote).join(' ')
  return outcome(spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] }))
}
