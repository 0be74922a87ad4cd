import * as CarBufferWriter from '@ipld/car/buffer-writer'
import type { CID } from 'multiformats/cid'
import type { FileStore } from '@proj/core/connector'
import { AuthError, BackendConfigError, IntegrityError, parseFileCid, verifyCid } from '@proj/core/kit'
import { receiptRecorder, type ReceiptProblem } from './receipt-failures.js'
import { W3upServiceError } from './w3up-service-error.js'

/**
 * The part of a `@web3-storage/w3up-client` Client (or `@storacha/client`) this package uses: a client with a
 * current space that may `blob/add`, `index/add` and `upload/add`.
 */
export interface W3upClient {
  /**
   * `options.fetch` is the fetch it uses for the blob's PUT and for polling receipts; `options.signal` ends the
   * upload when sync gives the call up (see core's CallOptions).
   */
  uploadCAR(car: Blob, options?: { fetch?: typeof globalThis.fetch; signal?: AbortSignal }): Promise<{ toString(): string }>
}

/** Where files are read: one trustless gateway base URL (`https://w3s.link`) or several, tried in order. */
export type Gateways = string | readonly string[]

export interface GatewayOptions {
  gateway: Gateways
  /** Injected fetch (browser, tests); default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch
}

export interface IpfsFilesOptions extends GatewayOptions {
  client: W3upClient
}

/** Normalises `gateway` to a list of base URLs without a trailing slash; a TypeError names a bad value. */
export function gatewayList(gateway: unknown): string[] {
  const list = typeof gateway === 'string' ? [gateway] : Array.isArray(gateway) ? (gateway as unknown[]) : undefined
  if (!list || list.length === 0) {
    throw new TypeError(`Invalid gateway: ${JSON.stringify(gateway)} (expected a URL string or a non-empty array)`)
  }
  return list.map((url) => {
    if (typeof url !== 'string' || !URL.canParse(url)) throw new TypeError(`Invalid gateway URL: ${JSON.stringify(url)}`)
    return url.replace(/\/+$/, '')
  })
}

/** A CAR whose only root and only block is the raw block `cid` → `bytes`: what `uploadCAR` stores as is. */
export function singleBlockCar(cid: CID, bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const block = { cid, bytes }
  const size = CarBufferWriter.headerLength({ roots: [cid] }) + CarBufferWriter.blockLength(block)
  const writer = CarBufferWriter.createWriter(new ArrayBuffer(size), { roots: [cid] })
  writer.write(block)
  return writer.close() as Uint8Array<ArrayBuffer> // written into the ArrayBuffer above
}

/**
 * Reads `cid` as a raw block from trustless gateways (`GET /ipfs/<cid>?format=raw`), trying each in order, and
 * returns the first bytes that hash to `cid`. `undefined` when every gateway answers 404; IntegrityError when
 * a gateway answered with other bytes and none answered correctly; any other failure throws. `signal` (sync's,
 * see core's CallOptions) ends the request in flight, and no further gateway is tried.
 */
export async function fetchBlock(
  gateways: readonly string[],
  cid: CID,
  fetchImpl: typeof globalThis.fetch = globalThis.fetch,
  signal?: AbortSignal,
): Promise<Uint8Array | undefined> {
  let failure: unknown
  for (const base of gateways) {
    const url = `${base}/ipfs/${cid.toString()}?format=raw`
    try {
      const response = await fetchImpl(url, { headers: { accept: 'application/vnd.ipld.raw' }, signal })
      if (response.status === 404) {
        await response.body?.cancel()
        continue
      }
      if (!response.ok) {
        await response.body?.cancel()
        throw new Error(`GET ${url} answered ${response.status} ${response.statusText}`)
      }
      const bytes = new Uint8Array(await response.arrayBuffer())
      await verifyCid(cid, bytes)
      return bytes
    } catch (error) {
      if (signal?.aborted) throw error
      // A gateway that lies or fails must not hide another that holds the block; the first failure is kept.
      failure ??= error
    }
  }
  if (failure === undefined) return undefined
  if (failure instanceof IntegrityError) throw failure
  throw new Error(`Could not fetch ${cid.toString()} from ${gateways.join(', ')}: ${String((failure as Error)?.message ?? failure)}`, {
    cause: failure,
  })
}

/** The first error named `name` in the cause chain. */
function causeNamed(error: unknown, name: string): Error | undefined {
  const seen = new Set<unknown>()
  for (let e = error as Error | undefined; e && typeof e === 'object' && !seen.has(e); e = e.cause as Error) {
    seen.add(e)
    if (e.name === name) return e
  }
  return undefined
}

/**
 * What a failed w3up upload becomes. A step the service runs itself that failed (`receipt`: e.g. its
 * blob/accept), or a receipt that cannot be read, is W3upServiceError, retried. A space this agent holds no
 * valid delegation for (missing, expired, revoked: ucanto's `Unauthorized`) is AuthError; a client without a
 * current space, or a space without a storage provider (`InsufficientStorage`), is BackendConfigError: both
 * permanent, never retried. Anything else (network, service errors) stays a plain error that sync retries.
 */
function uploadFailure(cid: string, error: unknown, receipt: ReceiptProblem | undefined): Error {
  const what = `upload of ${cid}`
  if (receipt?.kind === 'failed') {
    // ucanto's messages nest the reasons; the first line says what failed, the last one why.
    const lines = receipt.message.split('\n').map((line) => line.replace(/^\s*-\s*/, '').trim()).filter(Boolean)
    const reason = [receipt.name, lines[0], lines.length > 1 ? lines.at(-1) : undefined].filter(Boolean).join(': ')
    const detail = `the service's ${receipt.ability} failed: ${reason}`
    return Object.assign(new W3upServiceError(cid, detail, receipt.ability), { cause: error })
  }
  if (receipt?.kind === 'unreadable') {
    const detail = `its receipt ${receipt.url} is unreadable: ${receipt.detail}`
    return Object.assign(new W3upServiceError(cid, detail), { cause: error })
  }
  const unauthorized = causeNamed(error, 'Unauthorized')
  const noStorage = causeNamed(error, 'InsufficientStorage')
  const message = (error as Error)?.message ?? String(error)
  let typed: Error
  if (unauthorized) {
    // ucanto's message lists the whole capability; its first line says what was refused.
    const refused = unauthorized.message.split('\n')[0]
    typed = new AuthError('w3up', `${what}: ${refused} (the agent has no valid delegation for the current space)`)
  } else if (noStorage) {
    typed = new BackendConfigError('w3up', `${what}: ${noStorage.message} (provision the space)`)
  } else if (/missing current space/.test(message)) {
    typed = new BackendConfigError('w3up', `${what}: the client has no current space (client.setCurrentSpace(did))`)
  } else {
    return new Error(`w3up ${what} failed: ${message}`, { cause: error })
  }
  return Object.assign(typed, { cause: error })
}

/**
 * Files on IPFS: `upload` stores each file as one raw block through w3up (web3.storage / Storacha), so any
 * IPFS gateway serves it by the file's own CID; `download` reads it from trustless gateways and verifies it.
 * Files are content-addressed and global: the `db` argument does not namespace them.
 */
export function ipfsFiles(options: IpfsFilesOptions): FileStore {
  if (!options || typeof options.client?.uploadCAR !== 'function') {
    throw new TypeError(`Invalid client: ${String(options?.client)} (expected a w3up client with uploadCAR)`)
  }
  const { client } = options
  const gateways = gatewayList(options.gateway)
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis)
  return {
    async upload(_db, cid, bytes, call) {
      const parsed = parseFileCid(cid)
      if (!(bytes instanceof Uint8Array)) throw new TypeError(`Invalid bytes for ${cid}: expected a Uint8Array`)
      await verifyCid(parsed, bytes)
      const car = singleBlockCar(parsed, bytes)
      const receipts = receiptRecorder()
      let root
      try {
        root = await client.uploadCAR(new Blob([car]), { fetch: receipts.fetch, ...(call?.signal ? { signal: call.signal } : {}) })
      } catch (error) {
        throw uploadFailure(cid, error, await receipts.problem())
      }
      if (root.toString() !== parsed.toString()) {
        throw new Error(`w3up stored ${cid} under root ${root.toString()}`)
      }
    },
    async download(_db, cid, call) {
      return fetchBlock(gateways, parseFileCid(cid), fetchImpl, call?.signal)
    },
  }
}
