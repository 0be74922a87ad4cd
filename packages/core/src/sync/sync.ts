import * as dagCbor from '@ipld/dag-cbor'
import type { Connector, MetaEntry } from '../connector/api.js'
import type { Replica } from '../database/database.js'
import type { HeadState } from '../database/head.js'
import { ConnectorError, IntegrityError, KeyMismatchError } from '../errors.js'
import type { Sync, SyncEvents, SyncOptions, SyncStatus } from './api.js'
import { openHead, sealHead } from './meta-entry.js'

const UPLOAD_CONCURRENCY = 4
const RECORD_INTERVAL = 1000

/**
 * Replicates one database through one connector: files first, then the meta entry that needs them; pulls
 * entries (pushed or polled) and merges them. The outbox (files not yet uploaded) is derived from local files
 * minus those recorded as uploaded, so it survives restarts.
 */
export function createSync(replica: Promise<Replica>, connector: Connector, options: SyncOptions): Sync {
  return new SyncEngine(replica, connector, options)
}

interface SyncRecord {
  uploaded: string[]
}

class SyncEngine implements Sync {
  readonly ready: Promise<void>
  #status: SyncStatus = 'connecting'
  #lastError: ConnectorError | undefined
  readonly #listeners = new Map<keyof SyncEvents, Set<(...args: never[]) => void>>()
  readonly #connector: Connector
  readonly #options: Required<SyncOptions>
  #replica: Replica | undefined
  #closed = false
  #uploaded = new Set<string>()
  /** Remote entries whose state the local head contains: the next save replaces them. */
  #merged = new Set<string>()
  /** Entries already opened, by CID, so polling does not decrypt the same bytes again. */
  #opened = new Map<string, HeadState | null>()
  #remoteCovers = false
  #wantPush = true
  #wantPull = true
  #running: Promise<void> | undefined
  #attempt = 0
  #wake: (() => void) | undefined
  #timers = new Set<ReturnType<typeof setTimeout>>()
  #cleanups: (() => void)[] = []
  #rejectReady: (error: unknown) => void = () => {}

  constructor(replica: Promise<Replica>, connector: Connector, options: SyncOptions) {
    this.#connector = connector
    this.#options = {
      branch: options.branch ?? '',
      pollInterval: options.pollInterval ?? 1000,
      maxBackoff: options.maxBackoff ?? 10_000,
      flushTimeout: options.flushTimeout ?? 30_000,
    }
    let resolveReady!: () => void
    let rejectReady!: (error: unknown) => void
    this.ready = new Promise<void>((resolve, reject) => {
      resolveReady = resolve
      rejectReady = reject
    })
    this.ready.catch(() => {})
    this.#rejectReady = rejectReady
    this.#start(replica).then(resolveReady, rejectReady)
  }

  get status(): SyncStatus {
    return this.#status
  }

  get lastError(): ConnectorError | undefined {
    return this.#lastError
  }

  get #db(): string {
    return this.#replica!.name
  }

  get #branch(): string {
    return this.#options.branch || this.#replica!.branch
  }

  /** The record of what this backend holds, when the connector names its backend (see Connector.id). */
  #recordName: string | undefined

  async #start(replicaPromise: Promise<Replica>): Promise<void> {
    const replica = await replicaPromise
    this.#replica = replica
    if (this.#connector.id) {
      const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(this.#connector.id))
      const hex = [...new Uint8Array(digest).subarray(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join('')
      this.#recordName = `sync.${this.#connector.name}.${hex}.${this.#branch}`
      const record = await replica.storage.readRecord(this.#recordName)
      if (record) this.#uploaded = new Set((dagCbor.decode(record) as SyncRecord).uploaded)
    }
    this.#cleanups.push(
      replica.store.addSource(async (cid) => {
        try {
          const bytes = await this.#connector.download(this.#db, cid)
          // A file that came from this backend is there already: never upload it back.
          if (bytes) this.#uploaded.add(cid)
          return bytes
        } catch (error) {
          throw this.#fail('download', error)
        }
      }),
      replica.onHead(() => {
        this.#remoteCovers = false
        this.#wantPush = true
        this.#setStatus(this.#status === 'offline' || this.#status === 'error' ? this.#status : 'pending')
        this.#kick()
      }),
    )
    replica.onClose(() => this.close())
    if (this.#connector.onStatus) {
      this.#cleanups.push(
        this.#connector.onStatus((status) => {
          if (status === 'offline') this.#setStatus('offline')
          else if (status === 'open' && this.#status === 'offline') {
            // Back online: catch up on what was missed and push what queued up.
            this.#attempt = 0
            this.#wantPull = true
            this.#wantPush = true
            this.#wake?.()
            this.#kick()
          }
        }),
      )
    }
    if (this.#connector.subscribe) {
      this.#cleanups.push(
        this.#connector.subscribe(this.#db, this.#branch, (entries) => {
          void this.#exclusiveMerge(entries).catch((error) => this.#fail('merge', error))
        }),
      )
    }
    // The first pull has to succeed for `ready`: transport failures are retried with backoff until it does
    // (or the sync is closed); bytes that fail verification reject `ready` at once, and retrying goes on.
    let rejected = false
    for (;;) {
      if (this.#closed) return
      try {
        await this.#pull()
        break
      } catch (error) {
        const failure = this.#fail('load', error)
        if (!rejected && !isTransient(failure)) {
          rejected = true
          this.#rejectReady(failure)
        }
        await this.#sleep(this.#backoff())
      }
    }
    this.#attempt = 0
    this.#wantPull = false
    this.#kick()
    this.#schedulePoll()
  }

  #schedulePoll(): void {
    if (this.#closed || this.#options.pollInterval <= 0) return
    // A pushing backend is still polled, slowly: a push lost while reconnecting is caught up this way.
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      this.#wantPull = true
      this.#kick()
      this.#schedulePoll()
    }, this.#connector.subscribe ? this.#options.pollInterval * 10 : this.#options.pollInterval)
    this.#timers.add(timer)
  }

  #kick(): void {
    if (this.#closed || !this.#replica || this.#running) return
    this.#running = this.#loop().finally(() => {
      this.#running = undefined
      if ((this.#wantPush || this.#wantPull) && !this.#closed && this.#attempt === 0) this.#kick()
    })
  }

  async #loop(): Promise<void> {
    while (!this.#closed && (this.#wantPull || this.#wantPush)) {
      try {
        if (this.#wantPull) {
          this.#wantPull = false
          await this.#pull()
        }
        if (this.#wantPush) {
          this.#wantPush = false
          await this.#push()
        }
        this.#attempt = 0
        this.#setStatus(this.#remoteCovers && !this.#wantPush ? 'synced' : 'pending')
      } catch (error) {
        this.#fail('sync', error)
        this.#wantPull = true
        this.#wantPush = true
        await this.#sleep(this.#backoff())
      }
    }
  }

  #backoff(): number {
    const base = Math.min(2 ** this.#attempt * 100, this.#options.maxBackoff)
    this.#attempt++
    return base / 2 + Math.random() * (base / 2)
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closed) return resolve()
      const timer = setTimeout(() => {
        this.#timers.delete(timer)
        this.#wake = undefined
        resolve()
      }, ms)
      this.#timers.add(timer)
      this.#wake = () => {
        clearTimeout(timer)
        this.#timers.delete(timer)
        this.#wake = undefined
        resolve()
      }
    })
  }

  #mergeChain: Promise<void> = Promise.resolve()
  #waiting: MetaEntry[] = []

  /**
   * Merges entries one batch at a time. Entries that arrive while a merge runs (a fast writer's pushes) wait
   * and are merged together: the newest first, so the older ones it contains become cheap no-op merges.
   */
  #exclusiveMerge(entries: MetaEntry[]): Promise<void> {
    this.#waiting.push(...entries)
    const run = this.#mergeChain.then(() => this.#mergeEntries(this.#waiting.splice(0)))
    this.#mergeChain = run.catch(() => {})
    return run
  }

  async #mergeEntries(entries: MetaEntry[]): Promise<void> {
    const replica = this.#replica!
    const opened: { entry: MetaEntry; head: HeadState }[] = []
    for (const entry of entries) {
      let head = this.#opened.get(entry.cid)
      if (head === undefined) {
        try {
          head = await openHead(replica.store.key, entry, this.#db)
        } catch (error) {
          // A tampered or foreign entry is never applied; it is reported and skipped.
          if (error instanceof IntegrityError || error instanceof KeyMismatchError || error instanceof TypeError) {
            this.#opened.set(entry.cid, null)
            this.#fail('open a meta entry', error)
            continue
          }
          throw error
        }
        this.#opened.set(entry.cid, head)
      }
      if (head) opened.push({ entry, head })
    }
    opened.sort((a, b) => b.head.height - a.head.height)
    for (const { entry, head } of opened) {
      await replica.merge(head)
      this.#merged.add(entry.cid)
      const local = replica.head()
      if (local && local.root.equals(head.root)) this.#remoteCovers = true
    }
  }

  async #pull(): Promise<void> {
    let entries: MetaEntry[]
    try {
      entries = await this.#connector.load(this.#db, this.#branch)
    } catch (error) {
      throw this.#fail('load', error)
    }
    this.#remoteCovers = false
    const current = new Set(entries.map((entry) => entry.cid))
    for (const cid of this.#merged) if (!current.has(cid)) this.#merged.delete(cid)
    // Entries the backend no longer holds will not come back: a long live session must not keep them all.
    for (const cid of this.#opened.keys()) if (!current.has(cid)) this.#opened.delete(cid)
    await this.#exclusiveMerge(entries)
    const local = this.#replica!.head()
    // The backend holds the local state when one of its current entries has the local root.
    if (!local || entries.some((e) => this.#opened.get(e.cid)?.root.equals(local.root))) this.#remoteCovers = true
    if (!this.#remoteCovers) this.#wantPush = true
    this.#emit('change')
  }

  async #push(): Promise<void> {
    const replica = this.#replica!
    const head = replica.head()
    if (!head) return
    // Nothing to send when an entry there already has this state (a device that only pulled, a reader).
    if (this.#remoteCovers) return
    await this.#uploadClosure(head.files)
    if (this.#closed) return
    this.#saveRecordSoon()
    // Every file the head needs is uploaded (the pending set was drained), so the entry may point at them.
    const entry = await sealHead(replica.store.key, head)
    const replaces = [...this.#merged].filter((cid) => cid !== entry.cid)
    try {
      await this.#connector.save(this.#db, this.#branch, entry, replaces)
    } catch (error) {
      throw this.#fail('save', error)
    }
    this.#opened.set(entry.cid, head)
    for (const cid of replaces) this.#merged.delete(cid)
    this.#merged.add(entry.cid)
    this.#remoteCovers = replica.head() === head
  }

  /**
   * Uploads every file the head needs that this backend may lack: from the head files, following each file
   * header's references, stopping at files known to be there (whoever put them there uploaded their
   * references first). Files come from local storage or, when this device never downloaded them, from
   * another connected source.
   */
  async #uploadClosure(start: string[]): Promise<void> {
    const replica = this.#replica!
    const queue = start.filter((file) => !this.#uploaded.has(file))
    const seen = new Set(queue)
    const uploadOne = async (file: string) => {
      const bytes = await replica.store.fileBytes(file)
      for (const next of await replica.store.fileReferences(file)) {
        if (!this.#uploaded.has(next) && !seen.has(next)) {
          seen.add(next)
          queue.push(next)
        }
      }
      try {
        await this.#connector.upload(this.#db, file, bytes)
      } catch (error) {
        throw this.#fail('upload', error)
      }
    }
    // Files are uploaded in dependency order per wave: a file's references go up in the same or an earlier
    // wave than the meta entry, which is saved only after every wave.
    while (queue.length && !this.#closed) {
      const wave = queue.splice(0, UPLOAD_CONCURRENCY * 4)
      let next = 0
      const worker = async () => {
        while (next < wave.length && !this.#closed) await uploadOne(wave[next++]!)
      }
      await Promise.all(Array.from({ length: UPLOAD_CONCURRENCY }, worker))
      for (const file of wave) this.#uploaded.add(file)
    }
  }

  #recordTimer: ReturnType<typeof setTimeout> | undefined

  /**
   * What this backend holds is kept on disk so a restart does not upload everything again. It only saves
   * work (uploads are idempotent and a push re-walks what is missing), so it is written at most once a second
   * rather than on every push, and on close.
   */
  #saveRecordSoon(): void {
    if (this.#recordTimer || this.#closed) return
    this.#recordTimer = setTimeout(() => {
      this.#recordTimer = undefined
      void this.#saveRecord()
    }, RECORD_INTERVAL)
    // Never keeps a process alive: losing this write only costs a re-walk after a restart.
    ;(this.#recordTimer as { unref?: () => void }).unref?.()
  }

  async #saveRecord(): Promise<void> {
    if (!this.#recordName) return
    await this.#replica?.storage
      .writeRecord(this.#recordName, dagCbor.encode({ uploaded: [...this.#uploaded] }))
      .catch((error) => this.#fail('record what the backend holds', error))
  }

  #fail(op: string, error: unknown): ConnectorError {
    const wrapped =
      error instanceof ConnectorError ? error : new ConnectorError(this.#connector.name, op, error)
    if (this.#lastError !== wrapped) {
      this.#lastError = wrapped
      this.#setStatus(isTransient(wrapped) ? 'offline' : 'error')
      this.#emit('error', wrapped)
    }
    return wrapped
  }

  #setStatus(status: SyncStatus): void {
    if (this.#status === status || this.#closed) return
    this.#status = status
    this.#emit('status', status)
  }

  #emit<E extends keyof SyncEvents>(event: E, ...args: Parameters<SyncEvents[E]>): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        ;(listener as (...a: unknown[]) => void)(...args)
      } catch (error) {
        console.error(`Sync ${event} listener threw:`, error)
      }
    }
  }

  on<E extends keyof SyncEvents>(event: E, listener: SyncEvents[E]): () => void {
    let set = this.#listeners.get(event)
    if (!set) this.#listeners.set(event, (set = new Set()))
    set.add(listener as (...args: never[]) => void)
    return () => set!.delete(listener as (...args: never[]) => void)
  }

  async refresh(): Promise<void> {
    await this.ready
    try {
      await this.#pull()
    } catch (error) {
      throw this.#fail('refresh', error)
    }
    this.#kick()
  }

  async flush(): Promise<void> {
    const deadline = Date.now() + this.#options.flushTimeout
    await this.#raceDeadline(this.ready, deadline)
    const replica = this.#replica!
    for (;;) {
      if (this.#closed) throw new ConnectorError(this.#connector.name, 'flush', new Error('the sync was closed'))
      await replica.idle()
      this.#wantPush = true
      this.#wantPull = true
      this.#wake?.()
      this.#kick()
      await this.#raceDeadline(this.#settle(), deadline)
      const head = replica.head()
      if (!head || this.#remoteCovers) {
        // Confirm against the backend: with a one-blob meta another writer may have replaced our entry.
        this.#wantPull = true
        this.#kick()
        await this.#raceDeadline(this.#settle(), deadline)
        const after = replica.head()
        if (!after || (this.#remoteCovers && after === head)) return
      }
      await this.#raceDeadline(this.#sleep(50), deadline)
    }
  }

  async #settle(): Promise<void> {
    while (this.#running) await this.#running
  }

  async #raceDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
    const remaining = deadline - Date.now()
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            this.#lastError ??
              new ConnectorError(this.#connector.name, 'flush', new Error(`not durable after ${this.#options.flushTimeout} ms`)),
          ),
        Math.max(0, remaining),
      )
    })
    try {
      return await Promise.race([promise, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#status = 'offline'
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    this.#wake?.()
    for (const cleanup of this.#cleanups.splice(0)) cleanup()
    if (this.#recordTimer) clearTimeout(this.#recordTimer)
    if (this.#replica) await this.#saveRecord()
    await this.#connector.close?.().catch(() => {})
  }
}

/** Network failures, 5xx and timeouts may pass; auth, missing buckets, bad bytes or a wrong key will not. */
function isTransient(error: ConnectorError): boolean {
  return !error.permanent
}
