import type * as Party from 'partykit/server'
import { checkName, IntegrityError, parseFileCid as parseKitCid, verifyCid as verifyKitCid } from '@proj/core/kit'
import { base64pad } from 'multiformats/bases/base64'
import type { CID } from 'multiformats/cid'
import {
  PUSHED_FILE_BYTES,
  PUSHED_FILES_BYTES,
  PUSHED_FILES_MAX,
  type ClientMessage,
  type EntriesMessage,
  type ServerMessage,
  type WireEntry,
  type WireFile,
} from './protocol.js'
import { nameProblem } from './names.js'
import { roomToken } from './room-token.js'

export { MAX_NAME_LENGTH } from './names.js'
export { roomToken } from './room-token.js'

/**
 * The party server for @proj/core databases: one room per database. It stores opaque encrypted files and meta
 * entries; it never sees a key.
 *
 * Environment (partykit.json `vars`, `--var`, or .env):
 * - `PROJ_TOKEN_SECRET`: when set, writes to a room need that room's token, `roomToken(secret, room)`
 *   (HMAC-SHA256, base64url): a token for one room grants no other.
 * - `PROJ_TOKEN`: when set, writes to any room accept this one token.
 *   With either set, writes (file PUT, meta save) need a token (`Authorization: Bearer …` over HTTP,
 *   `?token=…` on the websocket), else 401. Reads stay open: everything stored is encrypted.
 * - `PROJ_MAX_FILE_BYTES`: largest file accepted (default 16 MiB), else 413.
 * - `PROJ_MAX_META_BYTES`: largest meta entry accepted (default 64 KiB), else 413.
 *
 * Room and branch names are 1 to 128 characters, without control characters, `/` or `\`, and not `.` or
 * `..` (else 400). Files and meta entries are named by the canonical string of their CIDv1 (raw, sha2-256):
 * another spelling of the same CID (upper case, another base, CIDv0) is refused with 400, so a file is stored
 * once.
 *
 * Storage layout (Durable Object values are capped at 128 KiB, so files are chunked):
 * - `file:<cid>` -> `{ size, chunks }`, written after all its chunks, so its presence means the file is whole
 * - `file:<cid>:<i>` -> Uint8Array, at most 100 KiB
 * - `meta:<encodeURIComponent(branch)>:<cid>` -> Uint8Array, one per current entry
 */

export const CHUNK_BYTES = 100 * 1024
const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024
const DEFAULT_MAX_META_BYTES = 64 * 1024
/** How far past the limit an oversized upload is still read before its 413 (see readBody). */
const DRAIN_FACTOR = 4
/** Small files a room keeps in memory after storing them, for the pushes of the saves that follow. */
const RECENT_FILES_BYTES = 1024 * 1024
/** Durable Object storage takes at most 128 keys per batched get/put/delete. */
const BATCH_KEYS = 128

interface FileManifest {
  size: number
  chunks: number
}

interface ConnectionState {
  writer: boolean
}

// A server's own answer (status + text), not part of the connector kit: each server speaks its runtime's HTTP
// (workerd here, node:http in connect-raw and connect-s3) and its own body limits; only these lines are alike.
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

const CORS_HEADERS: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, PUT, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type',
  'access-control-max-age': '86400',
}

export default class ProjServer implements Party.Server {
  constructor(readonly room: Party.Room) {}

  /** This room's token under PROJ_TOKEN_SECRET, computed once. */
  private ownToken: Promise<string> | undefined

  private setting(name: string): string | undefined {
    const value = this.room.env[name]
    return typeof value === 'string' && value !== '' ? value : undefined
  }

  /**
   * The room's name as the client named it: PartyKit's room id is the URL path segment as sent, still
   * percent-encoded. Throws 400 when the name is not acceptable (see names.ts).
   */
  private roomName(): string {
    let name: string
    try {
      name = decodeURIComponent(this.room.id)
    } catch {
      throw new HttpError(400, `room name ${JSON.stringify(this.room.id.slice(0, 40))} has an invalid percent-encoding`)
    }
    const problem = nameProblem('room', name)
    if (problem) throw new HttpError(400, problem)
    return name
  }

  private limit(name: string, fallback: number): number {
    const value = Number(this.room.env[name])
    return Number.isFinite(value) && value > 0 ? value : fallback
  }

  private async mayWrite(presented: string | null | undefined): Promise<boolean> {
    const shared = this.setting('PROJ_TOKEN')
    const secret = this.setting('PROJ_TOKEN_SECRET')
    if (shared === undefined && secret === undefined) return true
    if (typeof presented !== 'string' || presented === '') return false
    if (shared !== undefined && sameText(presented, shared)) return true
    if (secret === undefined) return false
    this.ownToken ??= roomToken(secret, this.roomName())
    return sameText(presented, await this.ownToken)
  }

  // ---- websocket: meta entries -------------------------------------------------------------------------

  async onConnect(connection: Party.Connection<ConnectionState>, ctx: Party.ConnectionContext): Promise<void> {
    const presented = new URL(ctx.request.url).searchParams.get('token')
    try {
      this.roomName()
    } catch (error) {
      // Nothing is stored under a refused name; every save on this connection gets the same 400.
      connection.setState({ writer: false })
      send(connection, { type: 'error', status: 400, message: errorMessage(error) })
      send(connection, { type: 'synced' })
      return
    }
    connection.setState({ writer: await this.mayWrite(presented) })
    for (const [branch, entries] of await this.allBranches()) {
      send(connection, { type: 'entries', branch, entries, full: true })
    }
    send(connection, { type: 'synced' })
  }

  async onMessage(message: string | ArrayBuffer | ArrayBufferView, sender: Party.Connection<ConnectionState>) {
    let parsed: ClientMessage
    try {
      if (typeof message !== 'string') throw new HttpError(400, 'messages must be JSON text')
      parsed = JSON.parse(message) as ClientMessage
    } catch {
      send(sender, { type: 'error', status: 400, message: 'message is not valid JSON' })
      return
    }
    // Before every check: a ping asks only whether this socket still reaches the room (no token, no name).
    if (parsed?.type === 'ping') return void send(sender, { type: 'pong' })
    const id = typeof parsed?.id === 'string' ? parsed.id : undefined
    try {
      if (parsed?.type !== 'save' && parsed?.type !== 'file') {
        throw new HttpError(400, `unknown message type: ${String((parsed as { type?: unknown } | null)?.type)}`)
      }
      this.roomName()
      if (!sender.state?.writer) throw new HttpError(401, 'this room needs a token for writes')
      if (parsed.type === 'file') {
        await this.fileMessage(parsed.cid, parsed.bytes)
        send(sender, { type: 'ack', id: id ?? '' })
        return
      }
      const { branch, entry, replaces } = parsed
      checkBranch(branch)
      if (typeof entry?.cid !== 'string' || typeof entry.bytes !== 'string') {
        throw new HttpError(400, 'entry must be { cid: string, bytes: base64 string }')
      }
      if (!Array.isArray(replaces) || !replaces.every((cid) => typeof cid === 'string')) {
        throw new HttpError(400, 'replaces must be an array of cid strings')
      }
      for (const cid of replaces) parseFileCid(cid)
      const bytes = decodeBase64(entry.bytes)
      const max = this.limit('PROJ_MAX_META_BYTES', DEFAULT_MAX_META_BYTES)
      if (bytes.length > max) {
        throw new HttpError(413, `meta entry of ${bytes.length} bytes exceeds the limit of ${max} bytes`)
      }
      await verifyCid(entry.cid, bytes)
      const removed = replaces.filter((cid) => cid !== entry.cid)
      const prefix = metaPrefix(branch)
      // No await between the put and the delete: Durable Objects commit them as one atomic write.
      const put = this.room.storage.put(prefix + entry.cid, bytes)
      const deletes = chunked(removed.map((cid) => prefix + cid)).map((keys) => this.room.storage.delete(keys))
      await Promise.all([put, ...deletes])
      send(sender, { type: 'ack', id: id ?? '' })
      // The files this save's push uploaded go along, so the others need not download them (see protocol.ts).
      // Best effort: the entry is pushed without them rather than not at all.
      const files = await this.filesToPush(parsed.files).catch(() => [])
      const push: EntriesMessage = { type: 'entries', branch, entries: [entry], replaces: removed, ...(files.length ? { files } : {}) }
      this.room.broadcast(JSON.stringify(push), [sender.id])
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500
      send(sender, { type: 'error', id, status, message: errorMessage(error) })
    }
  }

  /** Small files stored lately, newest last: a save's push takes them from here (see filesToPush). */
  private readonly recent = new Map<string, Uint8Array>()
  private recentBytes = 0

  private keepRecent(cid: string, bytes: Uint8Array): void {
    if (this.recent.has(cid)) return
    this.recent.set(cid, bytes)
    this.recentBytes += bytes.length
    for (const [old, kept] of this.recent) {
      if (this.recentBytes <= RECENT_FILES_BYTES) break
      this.recent.delete(old)
      this.recentBytes -= kept.length
    }
  }

  /** A small file sent over the socket (see protocol.ts): stored as `PUT data/<cid>` stores it. */
  private async fileMessage(cid: unknown, text: unknown): Promise<void> {
    if (typeof cid !== 'string' || typeof text !== 'string') throw new HttpError(400, 'a file message needs { cid: string, bytes: base64 string }')
    parseFileCid(cid)
    const bytes = decodeBase64(text, 'file bytes')
    const max = Math.min(PUSHED_FILE_BYTES, this.limit('PROJ_MAX_FILE_BYTES', DEFAULT_MAX_FILE_BYTES))
    if (bytes.length > max) throw new HttpError(413, `file of ${bytes.length} bytes exceeds the limit of ${max} bytes for a file message (upload it over HTTP)`)
    await verifyCid(cid, bytes)
    await this.storeFile(cid, bytes)
  }

  /**
   * The small files of a save's `files` hint that this room holds, within the push limits. A hint names
   * nothing the server checks or keeps: a name that is not a canonical file CID, or not held, is left out.
   */
  private async filesToPush(hint: unknown): Promise<WireFile[]> {
    if (!Array.isArray(hint)) return []
    const cids = [...new Set(hint.slice(0, PUSHED_FILES_MAX).filter((cid): cid is string => typeof cid === 'string'))].filter((cid) => {
      try {
        return parseKitCid(cid).toString() === cid
      } catch {
        return false
      }
    })
    if (cids.length === 0) return []
    // Lately stored ones from memory (a file is kept only after it was verified), the rest from storage.
    if (cids.every((cid) => this.recent.has(cid))) {
      const files: WireFile[] = []
      let total = 0
      for (const cid of cids) {
        const bytes = this.recent.get(cid)!
        if (total + bytes.length > PUSHED_FILES_BYTES) continue
        total += bytes.length
        files.push({ cid, bytes: base64pad.baseEncode(bytes) })
      }
      return files
    }
    const manifests = await this.room.storage.get<FileManifest>(cids.map(fileKey))
    const chosen: string[] = []
    let total = 0
    for (const cid of cids) {
      const manifest = manifests.get(fileKey(cid))
      if (!manifest || manifest.chunks !== 1 || manifest.size > PUSHED_FILE_BYTES || total + manifest.size > PUSHED_FILES_BYTES) continue
      total += manifest.size
      chosen.push(cid)
    }
    if (chosen.length === 0) return []
    const chunks = await this.room.storage.get<Uint8Array>(chosen.map((cid) => `${fileKey(cid)}:0`))
    const files: WireFile[] = []
    for (const cid of chosen) {
      const bytes = chunks.get(`${fileKey(cid)}:0`)
      if (bytes) files.push({ cid, bytes: base64pad.baseEncode(bytes) })
    }
    return files
  }

  private async allBranches(): Promise<Map<string, WireEntry[]>> {
    const branches = new Map<string, WireEntry[]>()
    const stored = await this.room.storage.list<Uint8Array>({ prefix: 'meta:' })
    for (const [key, bytes] of stored) {
      const split = key.lastIndexOf(':')
      const branch = decodeURIComponent(key.slice('meta:'.length, split))
      const list = branches.get(branch) ?? []
      list.push({ cid: key.slice(split + 1), bytes: base64pad.baseEncode(bytes) })
      branches.set(branch, list)
    }
    return branches
  }

  private async branchEntries(branch: string): Promise<WireEntry[]> {
    const prefix = metaPrefix(branch)
    const stored = await this.room.storage.list<Uint8Array>({ prefix })
    return [...stored].map(([key, bytes]) => ({ cid: key.slice(prefix.length), bytes: base64pad.baseEncode(bytes) }))
  }

  // ---- HTTP: files, and a meta read --------------------------------------------------------------------

  async onRequest(req: Party.Request): Promise<Response> {
    if (req.method === 'OPTIONS') return new Response(null, { status: 204, headers: CORS_HEADERS })
    try {
      const url = new URL(req.url)
      // /parties/<party>/<room>/<kind>/<name>
      const parts = url.pathname.split('/').filter((part) => part !== '')
      const [kind, name] = parts.slice(3).map(decodeSegment)
      if (parts.length === 5 && kind === 'data' && name !== undefined) {
        this.roomName()
        if (req.method === 'GET') return await this.getFile(parseFileCid(name).toString())
        if (req.method === 'HEAD') return await this.hasFile(parseFileCid(name).toString())
        if (req.method === 'PUT') return await this.putFile(req, name)
      } else if (parts.length === 5 && kind === 'meta' && name !== undefined && req.method === 'GET') {
        this.roomName()
        checkBranch(name)
        return json({ entries: await this.branchEntries(name) })
      } else {
        throw new HttpError(404, `no such resource: ${url.pathname}`)
      }
      throw new HttpError(405, `method ${req.method} is not allowed on ${url.pathname}`)
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500
      // A body refused before it was read (bad name, token) is read and dropped first, as readBody does.
      if (req.body !== null && !req.bodyUsed) {
        await drain((req.body as unknown as ReadableStream<Uint8Array>).getReader(), this.limit('PROJ_MAX_FILE_BYTES', DEFAULT_MAX_FILE_BYTES) * DRAIN_FACTOR).catch(() => 0)
      }
      return json({ error: errorMessage(error) }, status)
    }
  }

  private async putFile(req: Party.Request, cid: string): Promise<Response> {
    parseFileCid(cid)
    const auth = req.headers.get('authorization')
    if (!(await this.mayWrite(auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined))) {
      throw new HttpError(401, 'this room needs a token for writes')
    }
    const max = this.limit('PROJ_MAX_FILE_BYTES', DEFAULT_MAX_FILE_BYTES)
    const bytes = await readBody(req, max)
    await verifyCid(cid, bytes)
    await this.storeFile(cid, bytes)
    return new Response(null, { status: 204, headers: CORS_HEADERS })
  }

  /** Stores a verified file (nothing when it is stored already): chunks first, its manifest last. */
  private async storeFile(cid: string, bytes: Uint8Array): Promise<void> {
    if (bytes.length <= PUSHED_FILE_BYTES) this.keepRecent(cid, bytes)
    // One chunk: the chunk and its manifest in one put, which Durable Objects commit atomically (a small
    // file stored again is the same two values: no read first).
    if (bytes.length > 0 && bytes.length <= CHUNK_BYTES) {
      await this.room.storage.put({ [`${fileKey(cid)}:0`]: bytes, [fileKey(cid)]: { size: bytes.length, chunks: 1 } satisfies FileManifest })
      return
    }
    if ((await this.room.storage.get<FileManifest>(fileKey(cid))) !== undefined) return
    const chunks = Math.ceil(bytes.length / CHUNK_BYTES)
    const values: Record<string, Uint8Array> = {}
    for (let i = 0; i < chunks; i++) {
      values[`${fileKey(cid)}:${i}`] = bytes.slice(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES)
    }
    const keys = Object.keys(values)
    for (const batch of chunked(keys)) {
      await this.room.storage.put(Object.fromEntries(batch.map((key) => [key, values[key]])))
    }
    // The manifest last: a file is visible only once all its chunks are stored.
    await this.room.storage.put(fileKey(cid), { size: bytes.length, chunks } satisfies FileManifest)
  }

  /** HEAD: whether the room holds the file, from its manifest alone (no chunk is read). */
  private async hasFile(cid: string): Promise<Response> {
    const manifest = await this.room.storage.get<FileManifest>(fileKey(cid))
    if (manifest === undefined) throw new HttpError(404, `no file ${cid}`)
    return new Response(null, {
      status: 200,
      headers: { ...CORS_HEADERS, 'content-length': String(manifest.size), 'cache-control': 'public, immutable' },
    })
  }

  private async getFile(cid: string): Promise<Response> {
    const manifest = await this.room.storage.get<FileManifest>(fileKey(cid))
    if (manifest === undefined) throw new HttpError(404, `no file ${cid}`)
    const out = new Uint8Array(manifest.size)
    const keys = Array.from({ length: manifest.chunks }, (_, i) => `${fileKey(cid)}:${i}`)
    let offset = 0
    for (const batch of chunked(keys)) {
      const values = await this.room.storage.get<Uint8Array>(batch)
      for (const key of batch) {
        const chunk = values.get(key)
        if (chunk === undefined) throw new HttpError(500, `file ${cid} is missing its chunk ${key}`)
        out.set(chunk, offset)
        offset += chunk.length
      }
    }
    if (offset !== manifest.size) throw new HttpError(500, `file ${cid} has ${offset} bytes, expected ${manifest.size}`)
    return new Response(out, {
      status: 200,
      headers: { ...CORS_HEADERS, 'content-type': 'application/octet-stream', 'cache-control': 'public, immutable' },
    })
  }
}

function fileKey(cid: string): string {
  return `file:${cid}`
}

function metaPrefix(branch: string): string {
  return `meta:${encodeURIComponent(branch)}:`
}

function send(connection: Party.Connection, message: ServerMessage): void {
  connection.send(JSON.stringify(message))
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...CORS_HEADERS, 'content-type': 'application/json' },
  })
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function chunked<T>(items: T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += BATCH_KEYS) out.push(items.slice(i, i + BATCH_KEYS))
  return out
}

function decodeBase64(text: string, what = 'entry bytes'): Uint8Array {
  try {
    return base64pad.baseDecode(text)
  } catch {
    throw new HttpError(400, `${what} are not valid base64`)
  }
}

/** Compares without an early exit, so the time taken does not reveal how much of a token matched. */
function sameText(a: string, b: string): boolean {
  let diff = a.length ^ b.length
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0)
  return diff === 0
}

/**
 * Reads a request body, answering 413 past `max` bytes. An oversized body is still read (and dropped) up to
 * `DRAIN_FACTOR` times the limit: answering before the client has sent it all resets the connection, and a
 * client that reuses it (keep-alive) then sees its next request fail instead of this clear 413.
 */
async function readBody(req: Party.Request, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get('content-length'))
  const drainLimit = max * DRAIN_FACTOR
  const tooBig = (size: number) => new HttpError(413, `file of ${size} bytes exceeds the limit of ${max} bytes`)
  if (req.body === null) return new Uint8Array(0)
  const reader = (req.body as unknown as ReadableStream<Uint8Array>).getReader()
  if (Number.isFinite(declared) && declared > max) {
    if (declared <= drainLimit) await drain(reader, drainLimit)
    else await reader.cancel()
    throw tooBig(declared)
  }
  const parts: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.length
    if (size > max) {
      size += await drain(reader, drainLimit - size)
      throw tooBig(size)
    }
    parts.push(value)
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const part of parts) {
    bytes.set(part, offset)
    offset += part.length
  }
  return bytes
}

/** Reads and drops up to `budget` bytes; cancels the stream past that. Returns how many bytes it read. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, budget: number): Promise<number> {
  let read = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return read
    read += value.length
    if (read > budget) {
      await reader.cancel()
      return read
    }
  }
}

/**
 * Throws 400 unless `text` is the canonical string of a CIDv1 with the raw codec and sha2-256 (core's
 * parseFileCid): one file has one name, so no spelling of its CID stores a second copy.
 */
function parseFileCid(text: string): CID {
  try {
    return parseKitCid(text)
  } catch (error) {
    throw new HttpError(400, (error as Error).message)
  }
}

/** Throws 400 unless `text` is a canonical file CID of exactly these bytes (core's verifyCid). */
async function verifyCid(text: string, bytes: Uint8Array): Promise<void> {
  try {
    await verifyKitCid(text, bytes, 'this upload')
  } catch (error) {
    if (error instanceof IntegrityError || error instanceof TypeError) throw new HttpError(400, error.message)
    throw error
  }
}

/** A name as shown in an error: long ones cut, so a huge name does not make a huge answer. */
function clip(text: string): string {
  return text.length > 100 ? `${text.slice(0, 100)}…` : text
}

/** Branch names follow core's one rule (checkName in @proj/core/kit); room names are the server's own. */
function checkBranch(branch: unknown): asserts branch is string {
  try {
    checkName(branch, 'branch name')
  } catch (error) {
    throw new HttpError(400, (error as Error).message)
  }
}

/** A URL path segment, decoded; a malformed escape is the client's error (400), not the server's. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new HttpError(400, `invalid percent-encoding in the path segment ${JSON.stringify(segment.slice(0, 40))}`)
  }
}
