import type { Database, Sync, SyncOptions } from '@proj/core'
import type { CallOptions, Connector, MetaEntry } from '@proj/core/connector'
import { AuthError, BackendConfigError, describe, metaEntryFromWire, metaEntryToWire, OptionError, splitConnectOptions, verifyCid } from '@proj/core/kit'
import { base64pad } from 'multiformats/bases/base64'
import PartySocket from 'partysocket'
import { PUSHED_FILE_BYTES, PUSHED_FILES_MAX, type PingMessage, type ServerMessage, type WireEntry } from './protocol.js'

export type { ServerMessage, ClientMessage, WireEntry } from './protocol.js'

export interface PartykitOptions {
  /**
   * A fixed room (default: the database name, one room per database). A room holds one database's meta: a
   * second database's load, save or subscribe through this connector is refused (permanent TypeError).
   */
  room?: string
  /** The party name in partykit.json (default `main`). */
  party?: string
  /** The room token, when the server has `PROJ_TOKEN` set: needed for writes. */
  token?: string
  /**
   * A WebSocket constructor. Default: the global one, else the `ws` package (Node 20 has no global
   * WebSocket), so Node needs no extra argument.
   */
  WebSocket?: unknown
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch
  /** How long a save waits for the server's ack, and an HTTP request for its answer, in ms (default 30_000). */
  timeout?: number
  /** Longest wait between reconnection attempts, in ms (default 10_000). */
  maxReconnectionDelay?: number
  /**
   * After this many ms without a message on a room's open socket the client sends a ping; when nothing at
   * all arrives for as long again, it drops the socket (status `offline`) and reconnects. Any message counts
   * as a sign of life, so a busy socket sends no pings, and a server without pings (it answers an error) does
   * not flap. 0 turns it off. Default 10_000: a connection that went silent is reported within 20 s.
   */
  heartbeat?: number
}

/**
 * The connection state of a connector, over all its rooms:
 * - `idle`: no socket yet (nothing saved or subscribed so far)
 * - `connecting`: a socket is opening for the first time
 * - `open`: every socket is connected
 * - `offline`: a socket lost its connection (or never got one) and is retrying with backoff
 * - `closed`: `close()` was called
 */
export type PartykitStatus = 'idle' | 'connecting' | 'open' | 'offline' | 'closed'

export interface PartykitConnector extends Connector {
  readonly name: 'partykit'
  /** Pushes entries as other clients save them (the current set first). */
  subscribe: NonNullable<Connector['subscribe']>
  /** The current connection state. */
  readonly status: PartykitStatus
  /** Calls `listener` whenever `status` changes. Returns a function that stops it. */
  onStatus(listener: (status: PartykitStatus) => void): () => void
  close(): Promise<void>
}

/**
 * A failure reported by the party server (`status` is its HTTP status) or by the transport (`status` 0).
 * Refused credentials are core's `AuthError` instead, and an unknown party `BackendConfigError`.
 */
export class PartykitError extends Error {
  override readonly name = 'PartykitError'
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

type RoomStatus = 'connecting' | 'open' | 'offline'

interface PendingSave {
  /** What was sent, as errors name it: `save`, `upload of <cid>`. */
  op: string
  resolve(): void
  reject(error: Error): void
}

interface Room {
  name: string
  socket: Promise<PartySocket>
  status: RoomStatus
  /** Resolves when the socket is open; replaced by a new promise when it drops. */
  opened: Promise<void>
  markOpen(): void
  pending: Map<string, PendingSave>
  listeners: Map<string, Set<(entries: MetaEntry[], replaced?: readonly string[]) => void>>
  /** The current entries per branch as last pushed; complete once `synced` has arrived on this connection. */
  known: Map<string, Map<string, MetaEntry>>
  /** Whether the server takes file messages: unknown until the first one is answered. */
  fileMessages?: boolean
  /** Files pushed with other clients' saves, not downloaded yet (oldest first; see PUSHED_KEPT_BYTES). */
  pushed: Map<string, Uint8Array>
  pushedBytes: number
  synced: boolean
  /** Set when the server refused the socket itself (auth, unknown party): it is not retried. */
  refused?: Error
  /** Rejects with `refused`, so saves waiting for the socket stop waiting. */
  whenRefused: Promise<never>
  refuse(error: Error): void
  /** Stops the open socket's heartbeat (see watchLiveness); a no-op while none runs. */
  stopHeartbeat(): void
}

const DEFAULT_TIMEOUT = 30_000
const DEFAULT_HEARTBEAT = 10_000
/** Pushed files kept for a download that has not come yet; the oldest go first past this. */
const PUSHED_KEPT_BYTES = 1024 * 1024

/**
 * A connector to a PartyKit server running `@proj/connect-partykit/server`. Files go over HTTP
 * (`/parties/<party>/<room>/data/<cid>`), meta entries over the room's websocket, which pushes every new entry
 * to the other clients at once. Sockets reconnect with backoff (partysocket).
 *
 * `host` is `127.0.0.1:1999`, `http://127.0.0.1:1999` or `https://<project>.<user>.partykit.dev`.
 */
export function partykitConnector(host: string, options: PartykitOptions = {}): PartykitConnector {
  if (typeof host !== 'string' || host === '') throw new TypeError(`partykit host must be a non-empty string: ${String(host)}`)
  if (options === null || typeof options !== 'object') throw new TypeError(`partykit options must be an object: ${String(options)}`)
  for (const key of ['room', 'party', 'token'] as const) {
    const value = options[key]
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw new TypeError(`partykit option ${key} must be a non-empty string: ${String(value)}`)
    }
  }
  const timeout = options.timeout ?? DEFAULT_TIMEOUT
  if (!(timeout > 0)) throw new TypeError(`partykit option timeout must be a positive number: ${String(timeout)}`)
  const heartbeat = checkHeartbeat(options.heartbeat === undefined ? DEFAULT_HEARTBEAT : options.heartbeat)
  const { base, secure } = parseHost(host)
  const party = options.party ?? 'main'
  const fetcher = options.fetch ?? globalThis.fetch.bind(globalThis)
  const rooms = new Map<string, Room>()
  const statusListeners = new Set<(status: PartykitStatus) => void>()
  let closed = false
  /** Aborts requests in flight and wakes saves still waiting for a connection when `close()` is called. */
  const closing = new AbortController()
  const closedError = () => new PartykitError('partykit: the connector was closed', 0)
  const whenClosed = new Promise<never>((_, reject) =>
    closing.signal.addEventListener('abort', () => reject(closedError()), { once: true }),
  )
  whenClosed.catch(() => {})
  let lastStatus: PartykitStatus = 'idle'
  let saveCounter = 0
  /** Per room: the small files uploaded since the last save there, named in the next save (see protocol.ts). */
  const uploadedSinceSave = new Map<string, string[]>()

  const roomOf = (db: string) => options.room ?? db
  /**
   * The database whose meta a fixed `room` holds. The server keeps meta entries per branch, not per database:
   * a second database there would read the first one's entries (merge them, with the same key), so its meta
   * operations are refused. Files are content-addressed: any database may share them.
   */
  let fixedRoomDb: string | undefined
  const checkFixedRoom = (db: string) => {
    if (options.room === undefined) return
    fixedRoomDb ??= db
    if (db === fixedRoomDb) return
    throw Object.assign(
      new TypeError(
        `partykit: database ${JSON.stringify(db)} cannot use room ${JSON.stringify(options.room)}: it holds the meta of database ` +
          `${JSON.stringify(fixedRoomDb)} (a room keeps one database's meta entries; give each database its own room)`,
      ),
      { permanent: true },
    )
  }
  /** The room for messages: its name and the server (never the token). */
  const where = (room: string) => `room "${room}" of party "${party}" at ${base}`
  const roomUrl = (db: string) =>
    `${secure ? 'https' : 'http'}://${base}/parties/${encodeURIComponent(party)}/${encodeURIComponent(roomOf(db))}`

  function aggregate(): PartykitStatus {
    if (closed) return 'closed'
    if (rooms.size === 0) return 'idle'
    const states = [...rooms.values()].map((room) => room.status)
    if (states.includes('offline')) return 'offline'
    if (states.includes('connecting')) return 'connecting'
    return 'open'
  }

  function emitStatus(): void {
    const status = aggregate()
    if (status === lastStatus) return
    lastStatus = status
    for (const listener of [...statusListeners]) listener(status)
  }

  /** A save the server refused: refused credentials are AuthError (permanent); the rest keep the status. */
  function saveFailure(room: Room, op: string, status: number, detail: string): Error {
    if (status === 401 || status === 403) {
      return Object.assign(new AuthError('partykit', `${op} in ${where(room.name)} failed (${status}): ${detail}`), { status })
    }
    return new PartykitError(`partykit: ${op} failed (${status}): ${detail}`, status)
  }

  function deliver(room: Room, branch: string, entries: MetaEntry[], replaced?: readonly string[]): void {
    if (entries.length === 0) return
    for (const listener of [...(room.listeners.get(branch) ?? [])]) listener(entries, replaced)
  }

  function onMessage(room: Room, data: unknown): void {
    if (typeof data !== 'string') return
    let message: ServerMessage
    try {
      message = JSON.parse(data) as ServerMessage
    } catch {
      return
    }
    if (message.type === 'ack') {
      const pending = room.pending.get(message.id)
      room.pending.delete(message.id)
      pending?.resolve()
    } else if (message.type === 'error') {
      if (message.id === undefined) return
      const pending = room.pending.get(message.id)
      room.pending.delete(message.id)
      if (pending) pending.reject(saveFailure(room, pending.op, message.status, message.message))
    } else if (message.type === 'entries') {
      if (Array.isArray(message.files)) keepPushed(room, message.files)
      const entries = message.entries.map(fromWire)
      const known = message.full ? new Map<string, MetaEntry>() : (room.known.get(message.branch) ?? new Map())
      for (const cid of message.replaces ?? []) known.delete(cid)
      for (const entry of entries) known.set(entry.cid, entry)
      room.known.set(message.branch, known)
      deliver(room, message.branch, entries, message.replaces)
    } else if (message.type === 'synced') {
      room.synced = true
    }
  }

  function noteUploaded(db: string, cid: string, size: number): void {
    if (size > PUSHED_FILE_BYTES) return
    const recent = uploadedSinceSave.get(roomOf(db)) ?? []
    recent.push(cid)
    uploadedSinceSave.set(roomOf(db), recent.slice(-PUSHED_FILES_MAX))
  }

  /** Keeps the files a push carried for the download that follows; a malformed one is left out. */
  function keepPushed(room: Room, files: unknown[]): void {
    for (const item of files) {
      let file: MetaEntry
      try {
        file = metaEntryFromWire(item, 'a pushed file')
      } catch {
        continue
      }
      if (room.pushed.has(file.cid)) continue
      room.pushed.set(file.cid, file.bytes)
      room.pushedBytes += file.bytes.length
    }
    for (const [cid, bytes] of room.pushed) {
      if (room.pushedBytes <= PUSHED_KEPT_BYTES) break
      room.pushed.delete(cid)
      room.pushedBytes -= bytes.length
    }
  }

  /** The bytes a push carried for `cid`, once, when they hash to it (anything else is downloaded). */
  async function takePushed(db: string, cid: string): Promise<Uint8Array | undefined> {
    const room = rooms.get(roomOf(db))
    const bytes = room?.pushed.get(cid)
    if (!room || !bytes) return undefined
    room.pushed.delete(cid)
    room.pushedBytes -= bytes.length
    try {
      await verifyCid(cid, bytes, 'a pushed file')
      return bytes
    } catch {
      return undefined
    }
  }

  function openRoom(db: string): Room {
    const name = roomOf(db)
    const existing = rooms.get(name)
    if (existing) return existing
    let markOpen = () => {}
    const room: Room = {
      name,
      socket: undefined as unknown as Promise<PartySocket>,
      status: 'connecting',
      opened: new Promise<void>((resolve) => (markOpen = resolve)),
      markOpen: () => markOpen(),
      pending: new Map(),
      listeners: new Map(),
      known: new Map(),
      pushed: new Map(),
      pushedBytes: 0,
      synced: false,
      whenRefused: undefined as unknown as Promise<never>,
      refuse: () => {},
      stopHeartbeat: () => {},
    }
    room.whenRefused = new Promise<never>((_, reject) => (room.refuse = reject))
    room.whenRefused.catch(() => {})
    room.socket = webSocketConstructor(options.WebSocket).then((WebSocket) => {
      const socket = new PartySocket({
        host: base,
        protocol: secure ? 'wss' : 'ws',
        // partysocket puts these into the URL as they are: escaped as the HTTP requests escape them (roomUrl),
        // or a name with ':', '|', '@' or '&' is another room for saves than for loads and files, and one with
        // '?' or '#' ends the path (its saves land in the room named by what comes before).
        party: encodeURIComponent(party),
        room: encodeURIComponent(name),
        query: options.token ? { token: options.token } : undefined,
        WebSocket,
        maxReconnectionDelay: options.maxReconnectionDelay ?? 10_000,
        minReconnectionDelay: 200,
        startClosed: closed,
      })
      let heard = () => {}
      socket.addEventListener('open', () => {
        room.status = 'open'
        room.markOpen()
        room.stopHeartbeat()
        if (heartbeat > 0) ({ heard, stop: room.stopHeartbeat } = watchLiveness(socket, heartbeat))
        emitStatus()
      })
      socket.addEventListener('message', (event: MessageEvent) => {
        heard()
        onMessage(room, event.data)
      })
      const dropped = () => {
        room.stopHeartbeat()
        heard = () => {}
        const wasOpen = room.status === 'open'
        room.status = 'offline'
        room.synced = false
        if (wasOpen) room.opened = new Promise<void>((resolve) => (markOpen = resolve))
        // A save in flight on the lost connection may or may not have been stored: let the caller retry.
        const error = new PartykitError('partykit: connection lost before the server acknowledged the save', 0)
        for (const pending of room.pending.values()) pending.reject(error)
        room.pending.clear()
        emitStatus()
      }
      socket.addEventListener('close', dropped)
      socket.addEventListener('error', (event: Event) => {
        const refusal = refusedUpgrade(event, `websocket to ${where(name)}`)
        if (refusal) {
          // Reconnecting would be refused the same way: stop, and fail every save with the reason.
          room.refused = refusal
          room.refuse(refusal)
          socket.close()
          for (const pending of room.pending.values()) pending.reject(refusal)
          room.pending.clear()
        }
        if (room.status !== 'open') dropped()
      })
      return socket
    })
    rooms.set(name, room)
    emitStatus()
    return room
  }

  /**
   * Sends the message `build` makes with a fresh id on the room's socket, and waits for the server's ack, or
   * until sync gives the call up (`signal`, see CallOptions): then it stops waiting and forgets the ack.
   */
  async function exchange(room: Room, build: (id: string) => string, op: string, what: string, signal?: AbortSignal): Promise<void> {
    const id = `${Date.now().toString(36)}-${(saveCounter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`
    const message = build(id)
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PartykitError(`partykit: ${what} got no answer within ${timeout} ms`, 0)), timeout)
      onAbort = () => reject(new PartykitError(`partykit: ${what} was given up: ${String((signal?.reason as Error)?.message ?? signal?.reason)}`, 0))
      if (signal?.aborted) onAbort()
      else signal?.addEventListener('abort', onAbort, { once: true })
    })
    expired.catch(() => {})
    try {
      const socket = await Promise.race([room.socket, expired, whenClosed, room.whenRefused])
      await Promise.race([room.opened, expired, whenClosed, room.whenRefused])
      if (closed) throw new PartykitError(`partykit: ${op}: the connector is closed`, 0)
      const acked = new Promise<void>((resolve, reject) => room.pending.set(id, { op, resolve, reject }))
      socket.send(message)
      await Promise.race([acked, expired, whenClosed])
    } finally {
      room.pending.delete(id)
      clearTimeout(timer)
      if (onAbort) signal?.removeEventListener('abort', onAbort)
    }
  }

  /**
   * Uploads a small file as a message on the room's open socket (see protocol.ts): no HTTP request. False
   * when it cannot (no open socket here, a server without file messages, a transport failure): upload over
   * HTTP then. A refusal of the write itself (token, hash, size) is thrown as HTTP would answer it.
   */
  async function uploadOverSocket(db: string, cid: string, bytes: Uint8Array, signal: AbortSignal | undefined): Promise<boolean> {
    const room = rooms.get(roomOf(db))
    if (!room || room.status !== 'open' || room.refused || room.fileMessages === false || bytes.length > PUSHED_FILE_BYTES) return false
    try {
      await exchange(room, (id) => JSON.stringify({ type: 'file', id, cid, bytes: base64pad.baseEncode(bytes) }), `upload of ${cid}`, `upload of ${cid}`, signal)
    } catch (error) {
      const status = (error as { status?: number }).status ?? 0
      // An older server: 400 "unknown message type" to its first file message.
      if (status === 400 && room.fileMessages !== true && /unknown message type/.test((error as Error).message)) {
        room.fileMessages = false
        return false
      }
      if (status >= 400 && status < 500) throw error
      return false
    }
    room.fileMessages = true
    return true
  }

  /** `signal` is sync's (CallOptions): a request sync gave up on is ended, and not retried. */
  async function request(url: string, init: RequestInit, what: string, signal?: AbortSignal): Promise<Response> {
    // Every request here is idempotent (files are immutable), so a transport failure is retried once: a
    // keep-alive connection the server had already dropped fails the first attempt only.
    for (let attempt = 1; ; attempt++) {
      if (closed) throw new PartykitError(`partykit: ${what}: the connector is closed`, 0)
      try {
        const signals = [AbortSignal.timeout(timeout), closing.signal, ...(signal ? [signal] : [])]
        return await fetcher(url, { ...init, signal: AbortSignal.any(signals) })
      } catch (cause) {
        const name = (cause as Error)?.name
        if (attempt < 2 && !closed && !signal?.aborted && name !== 'TimeoutError' && name !== 'AbortError') continue
        const error = new PartykitError(`partykit: ${what} failed: ${(cause as Error)?.message ?? String(cause)}`, 0)
        ;(error as { cause?: unknown }).cause = cause
        throw error
      }
    }
  }

  /**
   * The error an answer becomes: refused credentials are AuthError and a path no party serves (404 where our
   * server never answers 404) BackendConfigError, both permanent; anything else a PartykitError whose status
   * decides (other 4xx permanent, 5xx transient).
   */
  async function failure(response: Response, what: string, db: string): Promise<Error> {
    let detail = response.statusText
    try {
      const body = (await response.clone().json()) as { error?: string }
      if (typeof body?.error === 'string') detail = body.error
    } catch {
      detail = (await response.text().catch(() => '')).trim().slice(0, 200) || response.statusText
    }
    const { status } = response
    if (status === 401 || status === 403 || status === 404) {
      const message = `${what} in ${where(roomOf(db))} failed (${status}): ${detail}`
      const error = status === 404 ? new BackendConfigError('partykit', `no party serves this path: ${message}`) : new AuthError('partykit', message)
      return Object.assign(error, { status })
    }
    return new PartykitError(`partykit: ${what} failed (${status}): ${detail}`, status)
  }

  return {
    name: 'partykit',
    id: `partykit:${base}/${party}/${options.room ?? ''}`,

    get status() {
      return aggregate()
    },

    onStatus(listener) {
      if (typeof listener !== 'function') throw new TypeError(`onStatus listener must be a function: ${String(listener)}`)
      statusListeners.add(listener)
      return () => void statusListeners.delete(listener)
    },

    async upload(db, cid, bytes, call?: CallOptions) {
      checkName('db', db)
      checkName('cid', cid)
      if (!(bytes instanceof Uint8Array)) throw new TypeError(`upload bytes must be a Uint8Array: ${String(bytes)}`)
      if (await uploadOverSocket(db, cid, bytes, call?.signal)) {
        noteUploaded(db, cid, bytes.length)
        return
      }
      const headers: Record<string, string> = { 'content-type': 'application/octet-stream' }
      if (options.token) headers.authorization = `Bearer ${options.token}`
      const what = `upload of ${cid}`
      const response = await request(`${roomUrl(db)}/data/${encodeURIComponent(cid)}`, { method: 'PUT', headers, body: bytes as Uint8Array<ArrayBuffer> }, what, call?.signal)
      if (!response.ok) throw await failure(response, what, db)
      await response.body?.cancel()
      noteUploaded(db, cid, bytes.length)
    },

    async download(db, cid, call?: CallOptions) {
      checkName('db', db)
      checkName('cid', cid)
      const pushed = await takePushed(db, cid)
      if (pushed) return pushed
      const what = `download of ${cid}`
      const response = await request(`${roomUrl(db)}/data/${encodeURIComponent(cid)}`, { method: 'GET' }, what, call?.signal)
      if (response.status === 404) {
        await response.body?.cancel()
        return undefined
      }
      if (!response.ok) throw await failure(response, what, db)
      return new Uint8Array(await response.arrayBuffer())
    },

    async has(db, cid, call?: CallOptions) {
      checkName('db', db)
      checkName('cid', cid)
      const what = `check of ${cid}`
      const response = await request(`${roomUrl(db)}/data/${encodeURIComponent(cid)}`, { method: 'HEAD' }, what, call?.signal)
      await response.body?.cancel()
      if (response.status === 404) return false
      if (!response.ok) throw await failure(response, what, db)
      return true
    },

    async load(db, branch, call?: CallOptions) {
      checkName('db', db)
      checkName('branch', branch)
      checkFixedRoom(db)
      const what = `load of ${db}/${branch}`
      const response = await request(`${roomUrl(db)}/meta/${encodeURIComponent(branch)}`, { method: 'GET' }, what, call?.signal)
      if (!response.ok) throw await failure(response, what, db)
      const text = await response.text()
      let entries: unknown
      try {
        entries = (JSON.parse(text) as { entries?: unknown } | null)?.entries
        if (!Array.isArray(entries)) throw new Error('no "entries" array in it')
      } catch (error) {
        // Retrying would read the same page: the host serves something else (a site's index page for every
        // path, a wrong host), which is a configuration to fix, not a party that is away.
        const type = response.headers.get('content-type')?.split(';')[0]?.trim() || 'a body'
        const message = `${what} in ${where(roomOf(db))} answered ${response.status} with ${type} that is not a meta listing (${(error as Error).message.slice(0, 200)})`
        throw new BackendConfigError('partykit', `no party serves this path: ${message}`)
      }
      return (entries as WireEntry[]).map(fromWire)
    },

    async save(db, branch, entry, replaces, call?: CallOptions) {
      checkName('db', db)
      checkName('branch', branch)
      checkFixedRoom(db)
      if (entry === null || typeof entry !== 'object' || typeof entry.cid !== 'string' || !(entry.bytes instanceof Uint8Array)) {
        throw new TypeError(`save entry must be { cid: string, bytes: Uint8Array }: ${String(entry)}`)
      }
      if (!Array.isArray(replaces) || !replaces.every((cid) => typeof cid === 'string')) {
        throw new TypeError(`save replaces must be an array of cid strings: ${String(replaces)}`)
      }
      if (closed) throw new PartykitError('partykit: save: the connector is closed', 0)
      const room = openRoom(db)
      if (room.refused) throw room.refused
      // The files uploaded since the previous save here: the server pushes them with this entry.
      const files = uploadedSinceSave.get(room.name) ?? []
      uploadedSinceSave.delete(room.name)
      await exchange(
        room,
        (id) => JSON.stringify({ type: 'save', id, branch, entry: toWire(entry), replaces: [...replaces], ...(files.length ? { files } : {}) }),
        'save',
        `save to ${db}/${branch}`,
        call?.signal,
      )
      // Keep the pushed view current: our own saves are not echoed back to us.
      const known = room.known.get(branch) ?? new Map<string, MetaEntry>()
      for (const cid of replaces) known.delete(cid)
      known.set(entry.cid, entry)
      room.known.set(branch, known)
    },

    subscribe(db, branch, onEntries) {
      checkName('db', db)
      checkName('branch', branch)
      checkFixedRoom(db)
      if (typeof onEntries !== 'function') throw new TypeError(`subscribe onEntries must be a function: ${String(onEntries)}`)
      if (closed) throw new PartykitError('partykit: subscribe: the connector is closed', 0)
      const room = openRoom(db)
      // Each call gets its own wrapper, so subscribing the same function twice needs two unsubscribes.
      const listener = (entries: MetaEntry[], replaced?: readonly string[]) => onEntries(entries, replaced)
      const set = room.listeners.get(branch) ?? new Set()
      set.add(listener)
      room.listeners.set(branch, set)
      // Already connected: hand over the current set now (after returning); else the connect message brings it.
      if (room.synced) {
        queueMicrotask(() => {
          const current = [...(room.known.get(branch)?.values() ?? [])]
          if (set.has(listener) && current.length > 0) listener(current)
        })
      }
      return () => void set.delete(listener)
    },

    async close() {
      if (closed) return
      closed = true
      closing.abort()
      const error = new PartykitError('partykit: the connector was closed before the server acknowledged the save', 0)
      await Promise.all(
        [...rooms.values()].map(async (room) => {
          for (const pending of room.pending.values()) pending.reject(error)
          room.pending.clear()
          room.listeners.clear()
          room.stopHeartbeat()
          const socket = await room.socket.catch(() => undefined)
          socket?.close()
          endConnection(socket)
        }),
      )
      emitStatus()
      statusListeners.clear()
    },
  }
}

/**
 * Node's `ws`, after the close frames, waits up to 30 s for the server to end the TCP connection (partykit dev
 * does not), and that socket keeps the process alive: the close frame is on its way, so end it now. Browser
 * sockets have no `terminate` and need nothing.
 */
function endConnection(socket: PartySocket | undefined): void {
  const underlying = (socket as unknown as { _ws?: { terminate?: () => void } } | undefined)?._ws
  underlying?.terminate?.()
}

function checkHeartbeat(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value
  throw new OptionError('partykitConnector', 'heartbeat', `option heartbeat must be a number of ms >= 0 (0: no heartbeat), got ${describe(value)}`)
}

/** What a client sends to check that its socket still reaches the server (see protocol.ts). */
const PING = JSON.stringify({ type: 'ping' } satisfies PingMessage)

/**
 * The heartbeat of an open socket. Browsers expose no websocket ping frames, and a connection whose network
 * went silently away (a dead router, a suspended laptop, a server that stopped answering) looks open until
 * TCP gives up, minutes later: sync would stay 'synced' and saves wait for their whole ack timeout. So after
 * `interval` ms without any message, it sends a ping; when nothing at all has arrived `interval` ms after
 * that, it reconnects the socket, which reports it closed at once (status offline, saves in flight rejected
 * for sync to retry). `heard()` is called on every message: any message is a sign of life (traffic needs no
 * pings; a server that does not know pings answers with an error, which counts as well).
 */
function watchLiveness(socket: PartySocket, interval: number): { heard(): void; stop(): void } {
  let lastHeard = Date.now()
  /** When the unanswered ping went out; undefined when none is (a message after it answers it). */
  let pingedAt: number | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  const schedule = (ms: number, then: () => void) => {
    timer = setTimeout(then, Math.max(0, ms))
    // A heartbeat alone does not keep a Node process alive (close() stops it anyway).
    ;(timer as { unref?: () => void }).unref?.()
  }
  const check = () => {
    if (stopped) return
    const now = Date.now()
    if (pingedAt === undefined) {
      const silent = now - lastHeard
      if (silent < interval) return schedule(interval - silent, check)
      pingedAt = now
      socket.send(PING)
      return schedule(interval, check)
    }
    const waited = now - pingedAt
    if (waited < interval) return schedule(interval - waited, check)
    // One more turn first: after a stall of this event loop, an answer may be waiting in the socket unread
    // (Node runs due timers before it reads sockets).
    schedule(0, () => {
      if (stopped) return
      if (pingedAt === undefined) return check()
      stopped = true
      const stale = (socket as unknown as { _ws?: { terminate?: () => void } })._ws
      socket.reconnect(4000, 'no answer to the heartbeat')
      // The silent connection's close handshake cannot complete: end it rather than wait for ws's 30 s.
      stale?.terminate?.()
    })
  }
  schedule(interval, check)
  return {
    heard: () => {
      lastHeard = Date.now()
      pingedAt = undefined
    },
    stop: () => {
      stopped = true
      clearTimeout(timer)
    },
  }
}

/**
 * The error for a websocket the server refused before it opened: 401/403 AuthError, 404 (no such party)
 * BackendConfigError; undefined for anything retrying may fix. Only Node's `ws` reports the status
 * ("Unexpected server response: 401"); browsers hide it, so there a refused socket keeps retrying and the
 * refusal surfaces through the HTTP calls and saves.
 */
function refusedUpgrade(event: Event, what: string): Error | undefined {
  const text = (event as { message?: unknown }).message
  const status = Number(typeof text === 'string' ? /Unexpected server response: (\d{3})/.exec(text)?.[1] : undefined)
  if (status === 401 || status === 403) return Object.assign(new AuthError('partykit', `${what} refused (${status})`), { status })
  if (status === 404) return Object.assign(new BackendConfigError('partykit', `${what}: no such party (404)`), { status })
  return undefined
}

/** Options of `connect.partykit`, flat: the connector's, plus core's sync options (`branch`, `maxBackoff`, …). */
export type ConnectPartykitOptions = PartykitOptions & SyncOptions

export const connect = {
  /**
   * Replicates `db` in realtime through the PartyKit room named after it (`options.room` to override).
   * Returns core's `Sync` handle.
   */
  partykit(db: Pick<Database, 'name' | 'connect'>, host: string, options: ConnectPartykitOptions = {}): Sync {
    if (!db || typeof db.connect !== 'function') throw new TypeError(`connect.partykit needs a database: ${String(db)}`)
    const { own, sync } = splitConnectOptions<PartykitOptions>('connect.partykit', options, [
      'room',
      'party',
      'token',
      'WebSocket',
      'fetch',
      'timeout',
      'maxReconnectionDelay',
      'heartbeat',
    ])
    const connector = partykitConnector(host, { ...own, room: own.room ?? db.name })
    return db.connect(connector, sync)
  },
}

// Only a non-empty string here: the server owns the name rules (room names are its own, branch names core's)
// and answers 400 naming the value.
function checkName(what: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') throw new TypeError(`partykit ${what} must be a non-empty string: ${String(value)}`)
}

const toWire = metaEntryToWire
const fromWire = (entry: WireEntry): MetaEntry => metaEntryFromWire(entry, 'partykit: a meta entry from the server')

function parseHost(host: string): { base: string; secure: boolean } {
  const match = /^(https?|wss?):\/\//.exec(host)
  const base = host.replace(/^(https?|wss?):\/\//, '').replace(/\/+$/, '')
  if (match) return { base, secure: match[1] === 'https' || match[1] === 'wss' }
  // No scheme: plain for local and private addresses, TLS otherwise (partysocket's rule).
  const local = /^(localhost|127\.0\.0\.1|\[::1\]|192\.168\.|10\.)/.test(base)
  return { base, secure: !local }
}

async function webSocketConstructor(given: unknown): Promise<unknown> {
  if (given !== undefined) return given
  if (typeof globalThis.WebSocket === 'function') return globalThis.WebSocket
  // Node 20 has no global WebSocket; `ws` is loaded only there, so browser bundles never need it.
  const ws = await import('ws')
  return ws.default
}
