import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export interface ScriptRun {
  /** The exit code (or signal), or why it had to be killed (still running after its work, or at the work bound). */
  exit: number | string
  /** stdout and stderr, interleaved as they came. */
  output: string
}

const runner = fileURLToPath(new URL('./script-runner.mjs', import.meta.url))

/**
 * Runs `node <nodeOptions> <script> <args>` and waits for it to exit by itself: a script whose top-level code has
 * finished but that keeps running holds a socket or timer it was told to close, so `exitWithinMs` after that
 * moment it is killed and says so. The bound counts from the end of the script's own work, not from its start,
 * so a slow start (a loaded machine, a TypeScript loader) cannot use it up; `workWithinMs` bounds the work.
 */
export async function runNodeUntilExit(
  nodeOptions: string[],
  script: string,
  args: string[],
  { cwd, env, exitWithinMs, workWithinMs = 120_000 }: { cwd: string; env?: Record<string, string>; exitWithinMs: number; workWithinMs?: number },
): Promise<ScriptRun> {
  const child = spawn(process.execPath, [...nodeOptions, runner, script, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exit = await new Promise<number | string>((resolve) => {
    const killAfter = (ms: number, why: string) =>
      setTimeout(() => {
        child.kill('SIGKILL')
        resolve(why)
      }, ms)
    let timer = killAfter(workWithinMs, `still working ${workWithinMs} ms after it started`)
    const finished = child.stdio[3] as NodeJS.ReadableStream
    finished.on('data', () => {
      clearTimeout(timer)
      timer = killAfter(exitWithinMs, `still running ${exitWithinMs} ms after its top-level code finished`)
    })
    // 'close', not 'exit': 'exit' may come before the last output has been read from the pipes.
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve(code ?? String(signal))
    })
  })
  return { exit, output }
}
