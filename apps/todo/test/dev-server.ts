import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const appDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const partykitBin = join(appDir, 'node_modules', '.bin', 'partykit')

export interface DevServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** Starts it again after `stop(false)`, on the same port and persist dir. */
  start(): Promise<void>
  /** Stops the server (its whole process group); `removePersist` also deletes the persist dir. */
  stop(removePersist?: boolean): Promise<void>
}

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
 * The todo app's own `partykit dev` (apps/todo/partykit.json: the party + the built page in public/) on a free
 * port with a temp `--persist` dir, offline (no request.cf fetch, no update check, no hotkeys).
 */
export async function startDevServer(): Promise<DevServer> {
  const port = await freePort()
  const persist = await mkdtemp(join(tmpdir(), 'proj-todo-'))
  const url = `http://127.0.0.1:${port}`
  let child: ChildProcess | undefined
  let output = ''

  const kill = async () => {
    const proc = child
    child = undefined
    if (!proc || proc.pid === undefined || proc.exitCode !== null) return
    const pid = proc.pid
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    try {
      process.kill(-pid, 'SIGTERM')
    } catch {
      return
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {
        // gone
      }
    }, 5_000)
    await exited
    clearTimeout(timer)
    // workerd may outlive its parent for a moment: wait until the whole group is gone.
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(-pid, 0)
      } catch {
        return
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {
      // gone
    }
  }

  const start = async () => {
    output = ''
    const args = ['dev', '--port', String(port), '--persist', persist, '--disable-request-cf-fetch', '--no-hotkeys']
    const proc = spawn(partykitBin, args, {
      cwd: appDir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_UPDATE_NOTIFIER: '1', CI: '1' },
    })
    child = proc
    const onExit = () => {
      try {
        if (proc.pid !== undefined) process.kill(-proc.pid, 'SIGKILL')
      } catch {
        // gone
      }
    }
    process.once('exit', onExit)
    proc.once('exit', () => process.off('exit', onExit))
    proc.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    proc.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const started = Date.now()
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`partykit dev exited with ${proc.exitCode}:\n${output}`)
      if (Date.now() - started > 60_000) {
        await kill()
        throw new Error(`partykit dev did not start:\n${output}`)
      }
      try {
        // Both halves up: the party, and the static page once it is built.
        const party = await fetch(`${url}/parties/main/probe/meta/main`)
        await party.body?.cancel()
        const page = existsSync(join(appDir, 'public', 'style.css')) ? await fetch(`${url}/style.css`) : undefined
        await page?.body?.cancel()
        if (party.ok && (page === undefined || page.ok)) return
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  await start()
  return {
    url,
    start,
    async stop(removePersist = true) {
      await kill()
      if (removePersist) await rm(persist, { recursive: true, force: true })
    },
  }
}
