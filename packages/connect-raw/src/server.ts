import { createHash, timingSafeEqual } from 'node:crypto'
import { open, type FileHandle } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { join, resolve } from 'node:path'
import { IntegrityError } from '@proj/core/kit'
import { dirConnector, layout } from './dir.js'
import { checkBranch, checkCid, checkDbName } from './names.js'

export interface StoreServerOptions {
  /** The folder holding `<db>/data/<cid>` and `<db>/meta/<branch>.json` (created on the first write). */
  dir: string
  /** When set, writes need `Authorization: Bearer <token>` (reads stay open: everything stored is encrypted). */
  token?: string
  /** Rejects every write with 403; serves what is in `dir`. */
  readOnly?: boolean
  /**
   * Largest accepted upload (file or meta entry) in bytes, default 64 MiB. A larger declared
   * `Content-Length` gets 413 before any of the body is read; a body that grows past it gets 413 too.
   */
  maxBytes?: number
  /**
   * Milliseconds a client has to send a whole request, headers and body (default 30 000). A slower client
   * gets 408 and its connection is closed, so a trickling upload cannot hold a connection open.
   */
  requestTimeout?: number
  /** Milliseconds a client has to send the request headers (default: the smaller of 30 000 and requestTimeout). */
  headersTimeout?: number
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024
const DEFAULT_TIMEOUT = 30_000
/** How far past maxBytes a refused body is still read and dropped (see drainable). */
const DRAIN_SLACK = 1024 * 1024

// A server's own answer (status + text), not part of the connector kit: each server speaks its runtime's HTTP
// (node:http here, workerd in connect-partykit) and its own body limits; only these lines are alike.
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, PUT, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, cache-control',
  'access-control-max-age': '86400',
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`createStoreServer option ${name} must be a positive number, got ${JSON.stringify(value)}`)
  }
  return value
}

function send(res: ServerResponse, status: number, body = '', headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...CORS, 'content-type': 'text/plain; charset=utf-8', ...headers })
  res.end(body)
}

const tooLarge = (maxBytes: number, declared?: string) =>
  new HttpError(413, `Body${declared === undefined ? '' : ` of ${declared} bytes`} is over the limit of ${maxBytes} bytes`)

/** Refuses a declared `Content-Length` over the limit before any of the body is read. */
function checkDeclaredLength(req: IncomingMessage, maxBytes: number): void {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes, declared)
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length
    if (length > maxBytes) throw tooLarge(maxBytes)
    chunks.push(chunk)
  }
  const body = Buffer.concat(chunks)
  return new Uint8Array(body.buffer, body.byteOffset, body.length)
}

/** Splits the path into decoded segments; rejects anything that could leave the store folder. */
function segments(pathname: string): string[] {
  const parts = pathname.split('/').slice(1)
  return parts.map((part) => {
    let decoded: string
    try {
      decoded = decodeURIComponent(part)
    } catch {
      throw new HttpError(400, `Invalid path segment: ${JSON.stringify(part)}`)
    }
    if (decoded === '' || decoded === '.' || decoded === '..' || /[/\\\0]/.test(decoded)) {
      throw new HttpError(400, `Invalid path segment: ${JSON.stringify(decoded)}`)
    }
    return decoded
  })
}

function valid<T>(check: (value: unknown) => asserts value is T, value: unknown): T {
  try {
    check(value)
    return value
  } catch (error) {
    throw new HttpError(400, (error as Error).message)
  }
}

type Route =
  | { kind: 'file'; db: string; cid: string }
  | { kind: 'listing'; db: string; branch: string }
  | { kind: 'entry'; db: string; branch: string; cid: string }

function route(pathname: string): Route {
  const parts = segments(pathname)
  const [db, area, ...rest] = parts
  if (db === undefined || area === undefined) throw new HttpError(404, 'Not found')
  valid(checkDbName, db)
  if (area === 'data' && rest.length === 1) return { kind: 'file', db, cid: valid(checkCid, rest[0]) }
  if (area === 'meta' && rest.length === 1 && rest[0]!.endsWith('.json')) {
    return { kind: 'listing', db, branch: valid(checkBranch, rest[0]!.slice(0, -'.json'.length)) }
  }
  if (area === 'meta' && rest.length === 2) {
    return { kind: 'entry', db, branch: valid(checkBranch, rest[0]), cid: valid(checkCid, rest[1]) }
  }
  throw new HttpError(404, 'Not found')
}

function pathOf(dir: string, r: Route): string {
  if (r.kind === 'file') return layout.file(dir, r.db, r.cid)
  if (r.kind === 'listing') return layout.listing(dir, r.db, r.branch)
  return join(layout.entries(dir, r.db, r.branch), r.cid)
}

/**
 * The REST store: `GET|PUT /<db>/data/<cid>`, `GET /<db>/meta/<branch>.json`,
 * `PUT /<db>/meta/<branch>/<entryCid>?replaces=<cid>,<cid>`. Files on disk mirror the URLs, so a static server
 * of the same folder answers every GET the same way. Returns an unstarted `http.Server`: call `listen()`.
 */
export function createStoreServer(options: StoreServerOptions): Server {
  if (typeof options?.dir !== 'string' || options.dir === '') {
    throw new TypeError(`createStoreServer needs { dir }, got ${JSON.stringify(options?.dir)}`)
  }
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token === '')) {
    throw new TypeError('createStoreServer option token must be a non-empty string')
  }
  const dir = resolve(options.dir)
  const store = dirConnector(dir)
  const maxBytes = positive('maxBytes', options.maxBytes, DEFAULT_MAX_BYTES)
  const requestTimeout = positive('requestTimeout', options.requestTimeout, DEFAULT_TIMEOUT)
  const headersTimeout = positive('headersTimeout', options.headersTimeout, Math.min(DEFAULT_TIMEOUT, requestTimeout))
  if (headersTimeout > requestTimeout) {
    throw new TypeError(`createStoreServer option headersTimeout (${headersTimeout}) must not exceed requestTimeout (${requestTimeout})`)
  }
  const expectedAuth = options.token === undefined ? undefined : digest(`Bearer ${options.token}`)

  const authorized = (req: IncomingMessage): boolean => {
    if (expectedAuth === undefined) return true
    const presented = req.headers.authorization
    return typeof presented === 'string' && timingSafeEqual(digest(presented), expectedAuth)
  }

  const serveGet = async (req: IncomingMessage, res: ServerResponse, r: Route) => {
    // Opened once, its size read from the open file: a save renames a new listing into place at any moment,
    // and a size taken from the path could belong to the other version than the bytes then read.
    let handle: FileHandle
    try {
      handle = await open(pathOf(dir, r), 'r')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new HttpError(404, 'Not found')
      if ((error as NodeJS.ErrnoException).code === 'EISDIR') throw new HttpError(404, 'Not found')
      throw error
    }
    let size: number
    try {
      const info = await handle.stat()
      if (!info.isFile()) throw new HttpError(404, 'Not found')
      size = info.size
    } catch (error) {
      await handle.close()
      throw error
    }
    const headers: Record<string, string> = {
      ...CORS,
      'content-length': String(size),
      'content-type': r.kind === 'listing' ? 'application/json' : 'application/octet-stream',
      // Files never change; the meta does.
      'cache-control': r.kind === 'file' ? 'public, max-age=31536000, immutable' : 'no-cache',
    }
    res.writeHead(200, headers)
    if (req.method === 'HEAD') {
      await handle.close()
      return void res.end()
    }
    await new Promise<void>((done, fail) => {
      const stream = handle.createReadStream().on('error', fail).on('end', done)
      // A client that goes away mid-body: close the file now, not whenever the handle is collected.
      res.on('close', () => {
        stream.destroy()
        done()
      })
      stream.pipe(res)
    })
  }

  const servePut = async (req: IncomingMessage, res: ServerResponse, r: Route, url: URL) => {
    if (r.kind === 'listing') throw new HttpError(405, 'The listing is written by PUT /<db>/meta/<branch>/<cid>')
    checkDeclaredLength(req, maxBytes)
    // Only now, with the token, the name and the size checked, ask a client that waits for it for the body.
    if (awaitsContinue(req)) {
      res.writeContinue()
      continued.add(req)
    }
    const bytes = await readBody(req, maxBytes)
    try {
      if (r.kind === 'file') {
        await store.upload(r.db, r.cid, bytes)
      } else {
        const param = url.searchParams.get('replaces')
        const replaces = param ? param.split(',').map((cid) => valid(checkCid, cid)) : []
        await store.save(r.db, r.branch, { cid: r.cid, bytes }, replaces)
      }
    } catch (error) {
      if (error instanceof IntegrityError || error instanceof TypeError) throw new HttpError(400, error.message)
      throw error
    }
    send(res, 201, 'Created')
  }

  /** Requests that sent `Expect: 100-continue` and were told to go on. */
  const continued = new WeakSet<IncomingMessage>()
  /** A client that waits for `100 Continue` before sending its body (curl does for bodies over 1 MiB). */
  const awaitsContinue = (req: IncomingMessage) => /^100-continue$/i.test(req.headers.expect ?? '') && !continued.has(req)

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const handle = async () => {
      const method = req.method ?? 'GET'
      if (method === 'OPTIONS') return send(res, 204)
      // Route on the raw path: URL parsing would resolve '..' and '%2e%2e' before we could reject them.
      const raw = req.url ?? '/'
      const query = raw.indexOf('?')
      const pathname = query === -1 ? raw : raw.slice(0, query)
      const url = new URL(query === -1 ? '/' : `/${raw.slice(query)}`, 'http://store')
      const write = method !== 'GET' && method !== 'HEAD'
      if (write) {
        if (method !== 'PUT') throw new HttpError(405, `Method ${method} not allowed`)
        if (options.readOnly) throw new HttpError(403, 'This store is read-only')
        if (!authorized(req)) throw new HttpError(401, 'Missing or wrong token')
      }
      const r = route(pathname)
      if (write) await servePut(req, res, r, url)
      else await serveGet(req, res, r)
    }
    handle().catch((error: unknown) => {
      if (res.headersSent || res.destroyed || req.socket.destroyed) return void res.destroy(error as Error)
      if (error instanceof HttpError) {
        const headers: Record<string, string> = {}
        if (error.status === 405) headers.allow = options.readOnly ? 'GET, HEAD, OPTIONS' : 'GET, HEAD, PUT, OPTIONS'
        if (error.status === 401) headers['www-authenticate'] = 'Bearer'
        if (!req.complete && (awaitsContinue(req) || !drainable(req, maxBytes))) {
          // Node reads and drops the rest of an unread body to keep the connection open for the next request;
          // for a huge body, or one of unknown length, close the connection after this answer instead.
          headers.connection = 'close'
        }
        return send(res, error.status, error.message, headers)
      }
      send(res, 500, (error as Error)?.message ?? 'Internal error')
    })
  }

  const server = createServer(
    {
      requestTimeout,
      headersTimeout,
      // Node checks the two timeouts only this often (30 s by default), which would let a slow client run over.
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(headersTimeout / 2))),
    },
    handler,
  )
  // A client sending `Expect: 100-continue` gets its answer (401, 403, 400, 413) before it sends the body.
  server.on('checkContinue', handler)
  return server
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/**
 * True when the request declared a body small enough to read and drop after an error answer. Dropping it
 * keeps the connection usable, and a client still sending sees the answer rather than a reset connection.
 */
function drainable(req: IncomingMessage, maxBytes: number): boolean {
  const declared = req.headers['content-length']
  return declared !== undefined && Number(declared) <= maxBytes + DRAIN_SLACK
}
