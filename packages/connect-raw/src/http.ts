import type { Connector, MetaEntry } from '@proj/core/connector'
import { AuthError, BackendConfigError, metaEntryFromWire, metaEntryToWire, verifyCid, type WireMetaEntry } from '@proj/core/kit'
import { checkBranch, checkCid, checkDbName } from './names.js'

export interface HttpOptions {
  /** Sent as `Authorization: Bearer <token>` on writes (proj-serve --token). */
  token?: string
  /** Injected fetch (default: globalThis.fetch). */
  fetch?: typeof globalThis.fetch
}

/** Replaced entries named per save request: about 6 KB of URL, well under any server's limit. */
const REPLACES_PER_REQUEST = 100

/** One entry of `<db>/meta/<branch>.json`: core's text form of a meta entry. */
export type MetaListingEntry = WireMetaEntry

export function encodeListing(entries: readonly MetaEntry[]): string {
  return JSON.stringify(entries.map(metaEntryToWire))
}

export function decodeListing(json: string, source: string): MetaEntry[] {
  const parsed: unknown = JSON.parse(json)
  if (!Array.isArray(parsed)) throw new Error(`Meta listing ${source} is not a JSON array`)
  return parsed.map((item: unknown) => metaEntryFromWire(item, `Meta listing ${source}`))
}

/**
 * The error an HTTP answer becomes. What the same request will meet again is typed, so sync reports it once
 * and stops: 401/403 (AuthError), 404 on a write (no store at this URL), 405 (a read-only or static server),
 * 413 (the file is over the server's limit), any other 4xx (an Error with that `status`). 408, 429 and 5xx
 * stay plain errors that sync retries. The URL never holds the token (it travels in a header).
 */
async function failure(op: string, target: string, response: Response): Promise<Error> {
  const url = shown(target)
  const { status } = response
  const detail = (await response.text().catch(() => '')).trim().slice(0, 200) || response.statusText
  const answer = `${op} ${url} answered HTTP ${status}${detail ? ` (${detail})` : ''}`
  let error: Error
  if (status === 401) error = new AuthError('http', `${answer}; check the token`)
  else if (status === 403) error = new AuthError('http', answer)
  else if (status === 404) error = new BackendConfigError('http', `no store at this URL: ${answer}`)
  else if (status === 405) error = new BackendConfigError('http', `the store does not accept writes: ${answer}`)
  else if (status === 413) error = new BackendConfigError('http', `the file is larger than the store accepts: ${answer}`)
  else error = new Error(`${op} ${url} failed: HTTP ${status}${detail ? ` ${detail}` : ''}`)
  return Object.assign(error, { status })
}

/** A request that got no answer (refused, reset, DNS): transient, named by operation and URL. */
async function send(fetch: typeof globalThis.fetch, op: string, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init)
  } catch (cause) {
    const reason = (cause as { cause?: { code?: string } })?.cause?.code
    const message = `${(cause as Error)?.message ?? String(cause)}${reason ? ` (${reason})` : ''}`
    throw new Error(`${op} ${shown(url)} failed: ${message}`, { cause })
  }
}

/** The URL for messages, without any user or password it may carry. */
function shown(url: string): string {
  const parsed = new URL(url)
  if (!parsed.username && !parsed.password) return url
  parsed.username = ''
  parsed.password = ''
  return parsed.toString()
}

/**
 * A client of the REST store served by `proj-serve` (or, read-only, by any static web server serving an
 * exported folder): files at `<url>/<db>/data/<cid>`, meta listings at `<url>/<db>/meta/<branch>.json`.
 */
export function httpConnector(url: string, options: HttpOptions = {}): Connector {
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
    throw new TypeError(`Invalid store URL: ${JSON.stringify(url)} (expected http:// or https://)`)
  }
  const base = url.replace(/\/+$/, '')
  const fetch = options.fetch ?? globalThis.fetch
  if (typeof fetch !== 'function') throw new TypeError('httpConnector needs a fetch function (options.fetch)')
  const writeHeaders: Record<string, string> = { 'content-type': 'application/octet-stream' }
  if (options.token) writeHeaders.authorization = `Bearer ${options.token}`

  // The call's signal goes to fetch: a request sync gave up on (timed out, or the sync closed) is ended, not
  // left holding a connection until the server answers.
  const put = async (target: string, bytes: Uint8Array, op: string, signal: AbortSignal | undefined) => {
    const response = await send(fetch, op, target, { method: 'PUT', headers: writeHeaders, body: bytes as BodyInit, signal })
    if (!response.ok) throw await failure(op, target, response)
    await response.arrayBuffer()
  }
  const get = (target: string, op: string, signal: AbortSignal | undefined) => send(fetch, op, target, { method: 'GET', cache: 'no-store', signal })

  return {
    name: 'http',
    id: `http:${base}`,
    async upload(db, cid, bytes, call) {
      checkDbName(db)
      await verifyCid(cid, bytes)
      await put(`${base}/${db}/data/${cid}`, bytes, 'upload', call?.signal)
    },
    async download(db, cid, call) {
      checkDbName(db)
      checkCid(cid)
      const target = `${base}/${db}/data/${cid}`
      const response = await get(target, 'download', call?.signal)
      if (response.status === 404) {
        await response.arrayBuffer()
        return undefined
      }
      if (!response.ok) throw await failure('download', target, response)
      return new Uint8Array(await response.arrayBuffer())
    },
    async has(db, cid, call) {
      checkDbName(db)
      checkCid(cid)
      const target = `${base}/${db}/data/${cid}`
      const response = await send(fetch, 'check', target, { method: 'HEAD', cache: 'no-store', signal: call?.signal })
      if (response.status === 404) return false
      if (!response.ok) throw await failure('check', target, response)
      return true
    },
    async save(db, branch, entry, replaces, call) {
      checkDbName(db)
      checkBranch(branch)
      await verifyCid(entry.cid, entry.bytes)
      for (const cid of replaces) checkCid(cid)
      // The replaced entries travel in the URL, which a server caps (Node: 16 KiB of headers, ~270 CIDs): past
      // REPLACES_PER_REQUEST they go in further PUTs of the same entry, each storing nothing new and removing
      // its share. A failure halfway leaves old entries that the new one contains, and sync saves again.
      const target = `${base}/${db}/meta/${branch}/${entry.cid}`
      if (replaces.length === 0) return put(target, entry.bytes, 'save meta', call?.signal)
      for (let i = 0; i < replaces.length; i += REPLACES_PER_REQUEST) {
        await put(`${target}?replaces=${replaces.slice(i, i + REPLACES_PER_REQUEST).join(',')}`, entry.bytes, 'save meta', call?.signal)
      }
    },
    async load(db, branch, call) {
      checkDbName(db)
      checkBranch(branch)
      const target = `${base}/${db}/meta/${branch}.json`
      const response = await get(target, 'load meta', call?.signal)
      // No listing yet: a new database or branch, which is empty (not an error).
      if (response.status === 404) {
        await response.arrayBuffer()
        return []
      }
      if (!response.ok) throw await failure('load meta', target, response)
      const text = await response.text()
      try {
        return decodeListing(text, target)
      } catch (error) {
        // Retrying would fetch the same page: the URL serves something else (a site's index page for every
        // path, a wrong base URL), which is a configuration to fix, not a store that is away.
        const type = response.headers.get('content-type')?.split(';')[0]?.trim() || 'a body'
        throw new BackendConfigError(
          'http',
          `no store at this URL: load meta ${shown(target)} answered HTTP ${response.status} with ${type} that is not a meta listing (${(error as Error).message.slice(0, 200)})`,
        )
      }
    },
  }
}
