/**
 * A small IPFS trustless gateway (https://specs.ipfs.tech/http-gateways/trustless-gateway/) over any
 * blockstore, e.g. a Helia node's `helia.blockstore`: `GET|HEAD /ipfs/<cid>?format=raw|car` (or the Accept
 * header `application/vnd.ipld.raw|car`), 404 when the block is absent; `POST /ipfs` with a CAR body stores its
 * blocks after checking each one's hash. For tests and self-hosting; Node only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CarBufferReader } from '@ipld/car/buffer-reader'
import * as CarBufferWriter from '@ipld/car/buffer-writer'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { equals } from 'multiformats/bytes'

type Maybe<T> = T | Promise<T>

/** What the gateway needs of a blockstore; `helia.blockstore` and blockstore-core stores fit. */
export interface GatewayBlockstore {
  has(cid: CID, options?: { offline?: boolean }): Maybe<boolean>
  get(cid: CID, options?: { offline?: boolean }): Maybe<Uint8Array> | AsyncIterable<Uint8Array> | Iterable<Uint8Array>
  put(cid: CID, bytes: Uint8Array): unknown
}

export interface GatewayOptions {
  blockstore: GatewayBlockstore
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0: a free port. */
  port?: number
  /** Largest accepted POST body in bytes (default 256 MiB). */
  maxBody?: number
}

export interface Gateway {
  /** Base URL, e.g. `http://127.0.0.1:41235`: pass it as `gateway` to the connectors. */
  readonly url: string
  close(): Promise<void>
}

const RAW = 'application/vnd.ipld.raw'
const CAR = 'application/vnd.ipld.car'

async function readBlock(blockstore: GatewayBlockstore, cid: CID): Promise<Uint8Array | undefined> {
  if (!(await blockstore.has(cid, { offline: true }))) return undefined
  const value = await blockstore.get(cid, { offline: true })
  if (value instanceof Uint8Array) return value
  const chunks: Uint8Array[] = []
  for await (const chunk of value) chunks.push(chunk)
  if (chunks.length === 1) return chunks[0]
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.length
  }
  return bytes
}

function send(res: ServerResponse, status: number, body: string | Uint8Array, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(body.length) })
  res.end(body)
}

async function readBody(req: IncomingMessage, max: number): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > max) throw Object.assign(new Error(`Body larger than ${max} bytes`), { status: 413 })
    chunks.push(chunk)
  }
  return new Uint8Array(Buffer.concat(chunks))
}

/** The response format a request asks for: `?format=` first, then the Accept header. */
function requestedFormat(url: URL, accept: string | undefined): 'raw' | 'car' | undefined {
  const format = url.searchParams.get('format')
  if (format === 'raw' || format === 'car') return format
  if (format) return undefined
  if (accept?.includes(RAW)) return 'raw'
  if (accept?.includes(CAR)) return 'car'
  return undefined
}

async function handle(options: GatewayOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://gateway')
  const { blockstore } = options
  if ((req.method === 'GET' || req.method === 'HEAD') && url.pathname.startsWith('/ipfs/')) {
    const [cidText = '', ...rest] = url.pathname.slice('/ipfs/'.length).split('/')
    if (rest.length > 0) return send(res, 501, 'Paths below a CID are not supported')
    let cid: CID
    try {
      cid = CID.parse(cidText)
    } catch {
      return send(res, 400, `Invalid CID: ${cidText}`)
    }
    const format = requestedFormat(url, req.headers.accept)
    if (!format) return send(res, 406, 'Ask for format=raw or format=car (or Accept: application/vnd.ipld.raw|car)')
    const bytes = await readBlock(blockstore, cid)
    if (!bytes) return send(res, 404, `Not found: ${cid.toString()}`)
    let body = bytes
    if (format === 'car') {
      // dag-scope=block: the block itself is the whole answer (a raw file has no links).
      const block = { cid, bytes }
      const size = CarBufferWriter.headerLength({ roots: [cid] }) + CarBufferWriter.blockLength(block)
      const writer = CarBufferWriter.createWriter(new ArrayBuffer(size), { roots: [cid] })
      writer.write(block)
      body = writer.close()
    }
    res.writeHead(200, {
      'content-type': format === 'raw' ? RAW : `${CAR}; version=1`,
      'content-length': String(body.length),
      etag: `"${cid.toString()}.${format}"`,
      'cache-control': 'public, max-age=29030400, immutable',
      'x-ipfs-roots': cid.toString(),
    })
    res.end(req.method === 'HEAD' ? undefined : body)
    return
  }
  if (req.method === 'POST' && (url.pathname === '/ipfs' || url.pathname === '/ipfs/')) {
    const body = await readBody(req, options.maxBody ?? 256 * 1024 * 1024)
    let reader: CarBufferReader
    try {
      reader = CarBufferReader.fromBytes(body)
    } catch {
      return send(res, 400, 'The body is not a CAR')
    }
    const blocks = reader.blocks()
    for (const { cid, bytes } of blocks) {
      if (cid.multihash.code !== sha256.code) return send(res, 400, `Unsupported hash for ${cid.toString()}`)
      if (!equals((await sha256.digest(bytes)).digest, cid.multihash.digest)) {
        return send(res, 400, `Block bytes do not hash to ${cid.toString()}`)
      }
    }
    for (const { cid, bytes } of blocks) await blockstore.put(cid, bytes)
    const roots = reader.getRoots().map((root) => root.toString())
    return send(res, 200, JSON.stringify({ roots, blocks: blocks.length }), 'application/json')
  }
  return send(res, 404, 'Not found')
}

/** Starts the gateway on `host:port` (default 127.0.0.1, a free port). */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  if (!options?.blockstore || typeof options.blockstore.get !== 'function') {
    throw new TypeError(`Invalid blockstore: ${String(options?.blockstore)}`)
  }
  const server = createServer((req, res) => {
    handle(options, req, res).catch((error: unknown) => {
      const status = (error as { status?: number }).status ?? 500
      if (!res.headersSent) send(res, status, String((error as Error)?.message ?? error))
      else res.destroy()
    })
  })
  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}
