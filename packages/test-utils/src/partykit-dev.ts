import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.js'
import { killGroupOnExit, stopGroup } from './process-group.js'

export interface PartykitDevOptions {
  /**
   * The project folder: `partykit dev` runs there (workerd refuses source paths that climb out of its starting
   * directory) with that folder's own `node_modules/.bin/partykit`.
   */
  cwd: string
  /** `--config` (default: the folder's partykit.json). */
  config?: string
  /** `--var KEY=VALUE` for each entry. */
  vars?: Record<string, string>
  /** `--persist` dir (default: a new temp dir, removed by `stop()`). */
  persist?: string
  /** True once the server is up (default: an unknown room path answers 404, so the worker runs). */
  ready?: (url: string) => Promise<boolean>
  /**
   * The port to try first (default: a free one). A free port can be taken between choosing it and `partykit
   * dev` binding it: when that finds the address in use, it starts again on another free port, up to
   * START_ATTEMPTS times in all.
   */
  port?: number
}

export interface PartykitDev {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly persist: string
  /** Stops the server and starts it again on the same port and persist dir (it does not move to another port). */
  restart(): Promise<void>
  /** Starts it again after `stop(false)`, on the same port and persist dir. */
  start(): Promise<void>
  /** Stops the server (its whole process group); `removePersist` (default) also deletes the persist dir. */
  stop(removePersist?: boolean): Promise<void>
}

const START_TIMEOUT_MS = 60_000
const START_ATTEMPTS = 4

/** `partykit dev` could not bind its port: something else listens there. */
class PortInUseError extends Error {}

async function unknownRoomAnswers404(url: string): Promise<boolean> {
  const response = await fetch(`${url}/parties/main/probe/nothing`)
  await response.body?.cancel()
  return response.status === 404
}

/**
 * Starts the real `partykit dev` (workerd) offline: a free port, a temp `--persist` dir, no request.cf fetch,
 * no hotkeys, no update check. It runs in its own process group (npm bin -> node -> esbuild + workerd), which
 * `stop()` ends as a whole. A port taken before it binds it is replaced by another free one (`port`).
 * Recipe: shared/INFRA.md (PartyKit).
 */
export async function startPartykitDev(options: PartykitDevOptions): Promise<PartykitDev> {
  const { cwd, config, vars = {}, ready = unknownRoomAnswers404 } = options
  let port = options.port ?? (await freePort())
  const persist = options.persist ?? (await mkdtemp(join(tmpdir(), 'proj-partykit-')))
  const url = () => `http://127.0.0.1:${port}`
  let child: ChildProcess | undefined

  const kill = async () => {
    const proc = child
    child = undefined
    if (proc) await stopGroup(proc)
  }

  const start = async () => {
    let output = ''
    const args = ['dev', '--port', String(port), '--persist', persist, '--disable-request-cf-fetch', '--no-hotkeys']
    if (config) args.push('--config', config)
    for (const [key, value] of Object.entries(vars)) args.push('--var', `${key}=${value}`)
    const proc = spawn(join(cwd, 'node_modules', '.bin', 'partykit'), args, {
      cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_UPDATE_NOTIFIER: '1', CI: '1' },
    })
    child = proc
    killGroupOnExit(proc)
    proc.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    proc.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const started = Date.now()
    // Its own "Ready on" line first: until then whatever answers on the port may be another server.
    const readyLine = new RegExp(`Ready on http://\\S+:${port}\\b`)
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`partykit dev exited with ${proc.exitCode}:\n${output}`)
      // workerd says it as "Address already in use (0.0.0.0:<port>)" or "… in use; toString() = 0.0.0.0:<port>".
      if (new RegExp(`Address already in use.*:${port}\\b`).test(output)) {
        await kill()
        throw new PortInUseError(`partykit dev could not listen on port ${port}, the address is in use:\n${output}`)
      }
      if (output.includes('Error reloading local server') || Date.now() - started > START_TIMEOUT_MS) {
        await kill()
        throw new Error(`partykit dev did not start:\n${output}`)
      }
      try {
        if (readyLine.test(output) && (await ready(url()))) return
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  for (let attempt = 1; ; attempt++) {
    try {
      await start()
      break
    } catch (error) {
      if (!(error instanceof PortInUseError) || attempt === START_ATTEMPTS) throw error
      port = await freePort()
    }
  }
  return {
    url: url(),
    persist,
    async restart() {
      await kill()
      await start()
    },
    start,
    async stop(removePersist = true) {
      await kill()
      if (removePersist) await rm(persist, { recursive: true, force: true })
    },
  }
}
