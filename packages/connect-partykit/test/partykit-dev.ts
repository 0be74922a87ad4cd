import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const partykitBin = join(packageDir, 'node_modules', '.bin', 'partykit')
const fixtureConfig = join(packageDir, 'test', 'fixture', 'partykit.json')

export interface DevServer {
  /** `http://127.0.0.1:<port>` */
  readonly host: string
  readonly persist: string
  /** Stops the server (its whole process group) and starts it again on the same port and persist dir. */
  restart(): Promise<void>
  /** Starts it again after `stop(false)`, on the same port and persist dir. */
  start(): Promise<void>
  /** Stops the server; `removePersist` also deletes the persist dir. */
  stop(removePersist?: boolean): Promise<void>
}

/** A free TCP port on 127.0.0.1 (the OS picks one, we release it for partykit). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/**
 * Starts the real `partykit dev` (workerd) on the fixture config, offline: a free port, a temp `--persist` dir,
 * no request.cf fetch, no hotkeys, no update check. It runs in its own process group (npm bin -> node ->
 * esbuild + workerd), which `stop()` kills as a whole.
 */
export async function startPartykit(vars: Record<string, string> = {}, persistDir?: string): Promise<DevServer> {
  const port = await freePort()
  const persist = persistDir ?? (await mkdtemp(join(tmpdir(), 'proj-partykit-')))
  const host = `http://127.0.0.1:${port}`
  let child: ChildProcess | undefined
  let output = ''

  const start = async () => {
    output = ''
    const args = ['dev', '--port', String(port), '--persist', persist, '--disable-request-cf-fetch', '--no-hotkeys']
    args.push('--config', fixtureConfig)
    for (const [key, value] of Object.entries(vars)) args.push('--var', `${key}=${value}`)
    child = spawn(partykitBin, args, {
      // From the package dir: workerd refuses source paths that climb out of its starting directory.
      cwd: packageDir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_UPDATE_NOTIFIER: '1', CI: '1' },
    })
    // Should the test process exit without running teardown (a forced exit after a hang), take the server along.
    const pid = child.pid
    const onExit = () => {
      try {
        if (pid !== undefined) process.kill(-pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    process.once('exit', onExit)
    child.once('exit', () => process.off('exit', onExit))
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const started = Date.now()
    // Up when the room path answers (a 404 from our server for an unknown path proves the worker is running).
    for (;;) {
      if (child.exitCode !== null) throw new Error(`partykit dev exited with ${child.exitCode}:\n${output}`)
      if (output.includes('Error reloading local server') || Date.now() - started > 60_000) {
        await kill()
        throw new Error(`partykit dev did not start:\n${output}`)
      }
      try {
        const response = await fetch(`${host}/parties/main/probe/nothing`)
        await response.body?.cancel()
        if (response.status === 404) return
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  const kill = async () => {
    const proc = child
    child = undefined
    if (!proc || proc.pid === undefined || proc.exitCode !== null) return
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    try {
      process.kill(-proc.pid, 'SIGTERM')
    } catch {
      return
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-proc.pid!, 'SIGKILL')
      } catch {
        // already gone
      }
    }, 5_000)
    await exited
    clearTimeout(timer)
    // workerd may outlive its parent for a moment: wait until the port is free again.
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(-proc.pid, 0)
      } catch {
        return
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    try {
      process.kill(-proc.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }

  await start()
  return {
    host,
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
