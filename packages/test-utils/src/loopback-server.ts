import { mkdtemp, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface LoopbackServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** Drops open connections, closes the server, then removes its temp dir. */
  stop(): Promise<void>
}

/**
 * Serves `create(dir)` (e.g. proj-serve's `createStoreServer({ dir, token })`) from a fresh temp dir on
 * 127.0.0.1; `port` reuses a port (a server "coming back"), default a free one.
 */
export async function serveFromTempDir(
  prefix: string,
  create: (dir: string) => Server,
  port = 0,
): Promise<LoopbackServer & { readonly dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`))
  const server = create(dir)
  const url = await listenOnLoopback(server, port)
  return {
    url,
    dir,
    async stop() {
      await closeServer(server)
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Listens on 127.0.0.1 (`port` 0: a free one) and returns `http://127.0.0.1:<port>`. */
export async function listenOnLoopback(server: Server, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** Closes the server without waiting for keep-alive connections to time out. */
export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}
