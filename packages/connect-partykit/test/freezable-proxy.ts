import { createServer, connect as connectTcp, type AddressInfo, type Socket } from 'node:net'

export interface FreezableProxy {
  /** `http://127.0.0.1:<port>`: point a client here instead of at the target. */
  readonly url: string
  /** Bytes forwarded so far, client to server and server to client. */
  readonly sent: number
  readonly received: number
  /**
   * Stops forwarding bytes in both directions without closing anything: the connections stay open, as behind
   * a dead router or a server that stopped answering. New connections are accepted and held the same way.
   */
  freeze(): void
  /** Forwards again, starting with the bytes held while frozen. */
  resume(): void
  stop(): Promise<void>
}

/** A TCP proxy on 127.0.0.1 to `target` (`http://host:port`) that can be frozen: a silent network loss on demand. */
export async function freezableProxy(target: string): Promise<FreezableProxy> {
  const { hostname, port } = new URL(target)
  let frozen = false
  let sent = 0
  let received = 0
  const sockets = new Set<Socket>()
  /** Per direction: bytes held while frozen, written on resume. */
  const held: { to: Socket; chunks: Buffer[]; count: (n: number) => void }[] = []

  const forward = (from: Socket, to: Socket, count: (n: number) => void) => {
    const queue = { to, chunks: [] as Buffer[], count }
    held.push(queue)
    from.on('data', (chunk: Buffer) => {
      if (frozen) return void queue.chunks.push(chunk)
      count(chunk.length)
      to.write(chunk)
    })
    // An end or error on one side ends the other, as the OS would; nothing is ended while frozen by the proxy.
    from.on('close', () => {
      to.destroy()
      held.splice(held.indexOf(queue), 1)
    })
    from.on('error', () => to.destroy())
  }

  const server = createServer((client) => {
    const upstream = connectTcp(Number(port), hostname)
    sockets.add(client).add(upstream)
    client.on('close', () => sockets.delete(client))
    upstream.on('close', () => sockets.delete(upstream))
    forward(client, upstream, (n) => (sent += n))
    forward(upstream, client, (n) => (received += n))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get sent() {
      return sent
    },
    get received() {
      return received
    },
    freeze() {
      frozen = true
    },
    resume() {
      frozen = false
      for (const queue of held) {
        for (const chunk of queue.chunks.splice(0)) {
          if (queue.to.destroyed) continue
          queue.count(chunk.length)
          queue.to.write(chunk)
        }
      }
    },
    async stop() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
