import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { closeServer, listenOnLoopback } from './loopback-server.js'

export interface SilentServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** Requests held (read, never answered), and how many of them the client ended (closed its connection). */
  readonly held: number
  readonly ended: number
  stop(): Promise<void>
}

/**
 * A server on 127.0.0.1 that reads the requests `holds` picks (default: all) and never answers them, counting
 * those the client ends: a backend that accepted a call and went silent, to check that a client gives a call
 * up by ending its request. Other requests go to `otherwise` (default: 404). Websocket upgrades are reset.
 */
export async function silentServer(
  holds: (req: IncomingMessage) => boolean = () => true,
  otherwise: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => void res.writeHead(404).end(),
): Promise<SilentServer> {
  let held = 0
  let ended = 0
  const server = createServer((req, res) => {
    if (!holds(req)) return otherwise(req, res)
    held++
    req.resume()
    res.on('close', () => ended++)
  })
  server.on('upgrade', (_req, socket) => socket.destroy())
  const url = await listenOnLoopback(server)
  return {
    url,
    get held() {
      return held
    },
    get ended() {
      return ended
    },
    stop: () => closeServer(server),
  }
}
