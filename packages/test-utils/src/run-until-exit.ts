import { spawn } from 'node:child_process'

export interface ScriptRun {
  /** The exit code (or signal), or `still running <ms> ms after it started` when it had to be killed. */
  exit: number | string
  /** stdout and stderr, interleaved as they came. */
  output: string
}

/**
 * Runs `node <args>` and waits for it to exit by itself: a script that finished its work but keeps running
 * holds a socket or timer it was told to close, so after `exitWithinMs` it is killed and says so.
 */
export async function runNodeUntilExit(
  args: string[],
  { cwd, env, exitWithinMs }: { cwd: string; env?: Record<string, string>; exitWithinMs: number },
): Promise<ScriptRun> {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exit = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve(`still running ${exitWithinMs} ms after it started`)
    }, exitWithinMs)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      resolve(code ?? String(signal))
    })
  })
  return { exit, output }
}
