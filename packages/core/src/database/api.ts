import type { Clock } from '../clock/api.js'
import type { Connector } from '../connector/api.js'
import type { Sync, SyncOptions, SyncStatus } from '../sync/api.js'
import type { MapFn, QueryOptions, QueryRow } from '../index/api.js'
import type { Doc, StoredDoc } from '../values/doc.js'

export type { Doc, StoredDoc, MapFn, QueryOptions, QueryRow }


export type { Clock }

/** An option not listed here, or a value an option does not take, is a TypeError naming it (database/options.ts). */
/** Options of `bulk()`. */
export interface BulkOptions {
  /**
   * Commit only at this clock: a read-modify-write that must not overwrite a change made or merged since its
   * read (read at `clock()`, write with `{ ifClock }`, read again and retry on ClockChangedError).
   */
  ifClock?: Clock
}

export interface DatabaseOptions {
  /**
   * Node: files under `<dir>/<name>/` (default `./.proj-data`). With `storage: 'memory'`: without `dir` each
   * `database()` gets a fresh store; with it, databases of the same name and `dir` share one in this process.
   */
  dir?: string
  /** An `exportKey()` string from another device; without it a new key is made and kept locally. */
  key?: string
  /** 'file' (Node default), 'indexeddb' (browser default) or 'memory'. */
  storage?: 'file' | 'memory' | 'indexeddb'
  /**
   * What an acknowledged write survives. 'power' (default): fsync'd (IndexedDB: strict) before it resolves, a power
   * loss loses nothing acknowledged. 'process': handed to the OS (IndexedDB: relaxed) before it resolves, a crash
   * of the process loses nothing acknowledged, a power loss may lose the latest writes; several times faster.
   * Anything else is a TypeError naming the value. Memory storage accepts both.
   */
  durability?: 'process' | 'power'
  /** Meta branch, default 'main'. */
  branch?: string
  /**
   * Compact automatically once this many files were written locally since the last compaction
   * (default 100, and then only once 1 MiB was written since; 0 turns automatic compaction off). Either way
   * it waits until the bytes written since reach half of what the last compaction wrote. See `Database.compact()`.
   */
  compactEvery?: number
  /**
   * Bytes of stored blocks kept in memory once read (default 32 MiB): reads beyond it open their files
   * again, so a database larger than memory is scanned or indexed in bounded memory. A positive integer;
   * anything else is a TypeError naming the value.
   */
  cacheBytes?: number
}

/** What `info()` reports: where the database stands, what it stores here, and what each sync has left to send. */
export interface DatabaseInfo {
  name: string
  /** Where the data lives: the database directory (Node), the IndexedDB database name, or 'memory'. */
  location: string
  branch: string
  /** The current clock heads (empty for a database without writes). */
  clock: Clock
  /** Documents that exist at this clock (deleted ones left out). */
  docCount: number
  /** Files stored locally (on a device that reads lazily, files only a backend holds are not counted). */
  files: { count: number; bytes: number }
  /** One per open `connect()`, in the order they were made. */
  syncs: SyncInfo[]
}

export interface SyncInfo {
  /** The connector's name ('http', 's3', 'partykit', …) and, when it has one, its backend id (URL, bucket…). */
  connector: string
  backend?: string
  status: SyncStatus
  paused: boolean
  /** Files the local head needs that this backend does not hold yet, and their bytes (see `Sync.pending()`). */
  pending: { files: number; bytes: number }
}

export interface DestroyOptions {
  /**
   * Delete the key kept with the data too (default false). Without it, `database(name)` on this device later
   * opens an empty database under the same key, which can pull everything back from a backend.
   */
  key?: boolean
}

export interface WriteResult {
  id: string
  clock: Clock
}

export interface ChangeRow<T extends Doc = Doc> {
  key: string
  value: StoredDoc<T>
  deleted?: true
}

export interface ChangesResult<T extends Doc = Doc> {
  rows: ChangeRow<T>[]
  /** Pass as `since` next time (the clock the rows were read at). */
  clock: Clock
  /** Present when `limit` left rows out: pass it as `since` to `changes()` to read the next ones. */
  next?: ChangesCursor
}

/**
 * Where a limited `changes()` stopped: the rest of the changes from `since` to `clock`, after the id `after`.
 * JSON-serializable.
 */
export interface ChangesCursor {
  since: Clock
  clock: Clock
  after: string
}

export interface ChangesOptions {
  /** At most this many rows (in id order); `next` in the result continues. */
  limit?: number
}

export interface AllDocsOptions {
  /** Only these ids, in this order; ids not found (or deleted) are left out. */
  keys?: string[]
  limit?: number
  /** Id order reversed (or `keys` reversed). */
  descending?: boolean
  /**
   * Only ids after this one in the order read (greater ascending, smaller descending): pass the last key of a
   * page to read the next page. Not with `keys`.
   */
  after?: string
}

export interface AllDocsResult<T extends Doc = Doc> {
  rows: { key: string; value: StoredDoc<T> }[]
  clock: Clock
}

/** A named map-function index, as Fireproof's `index(name, mapFn)`: `db.index(name, fn).query(options)`. */
export interface Index {
  readonly name: string
  query<T extends Doc = Doc>(options?: Omit<QueryOptions, 'index'>): Promise<{ rows: QueryRow<T>[] }>
}

export interface ReadView {
  readonly name: string
  get<T extends Doc = Doc>(id: string, options?: { conflicts?: boolean }): Promise<StoredDoc<T>>
  allDocs<T extends Doc = Doc>(options?: AllDocsOptions): Promise<AllDocsResult<T>>
  changes<T extends Doc = Doc>(since?: Clock | ChangesCursor, options?: ChangesOptions): Promise<ChangesResult<T>>
  query<T extends Doc = Doc>(field: string | MapFn, options?: QueryOptions): Promise<{ rows: QueryRow<T>[] }>
  /** `query(map, { ...options, index: name })` as a handle. */
  index(name: string, map: MapFn): Index
}

export interface Database extends ReadView {
  /**
   * `{ _id, _deleted: true }` deletes the document, as `del(_id)`. A `_conflicts` field is ignored: the put
   * resolves the conflicts a read with `{ conflicts: true }` listed there.
   */
  put<T extends Doc>(doc: T): Promise<WriteResult>
  del(id: string): Promise<WriteResult>
  /**
   * One transaction; a document `{ _id, _deleted: true }` is a deletion. With `ifClock` (a clock from
   * `clock()` or a write's result), it commits only if the database is still at that clock, and rejects with
   * ClockChangedError, writing nothing, when anything was written or merged here since.
   */
  bulk<T extends Doc>(docs: T[], options?: BulkOptions): Promise<{ ids: string[]; clock: Clock }>
  /** Called after every committed transaction, local or merged from a remote, with the changed docs. */
  subscribe(listener: (changed: ChangeRow[]) => void): () => void
  /** A read-only view of the database at an earlier clock. */
  at(clock: Clock): Promise<ReadView>
  /** The current clock heads. */
  clock(): Promise<Clock>
  /**
   * Rewrites the blocks the current head needs (documents, indexes) into new files of about 256 KiB and
   * deletes the local copies of older files, so disk shrinks after deletes. Remote copies stay valid; reading
   * at a clock older than the compaction then needs a connected replica holding them. Writes made meanwhile
   * do not wait for the rewrite, and are kept. It deletes files another instance over the same storage (a tab,
   * another `database()` of the name) may read: while one is open it rejects with `DatabaseInUseError`,
   * nothing changed (automatic compaction waits for a moment this instance is the only one open).
   */
  compact(): Promise<void>
  /** The database key as a string, for `database(name, { key })` on another device. */
  exportKey(): Promise<string>
  /**
   * Replaces the database key with a new random one and returns it (as `exportKey()` then does): what is
   * written from now on is sealed with it, and devices holding only the old key can read nothing new, while
   * their later writes are refused (they get KeyRevokedError). The new key still reads the whole history: the
   * old keys travel with the database, sealed by the new one. Devices given the new key follow on sync.
   */
  rotateKey(): Promise<string>
  /** Starts replicating through a connector; `connect.*` helpers in connector packages call this. */
  connect(connector: Connector, options?: SyncOptions): Sync
  /**
   * Document count, clock, local files and bytes, and per open sync what is not uploaded yet. Counting walks
   * the document tree once per clock (on a device that reads lazily, that downloads the tree's nodes).
   */
  info(): Promise<DatabaseInfo>
  /**
   * Closes this database (and its syncs) and deletes its local data: files, head, indexes, sync records, and
   * the key only with `{ key: true }`. Backends keep their copies. Rejects with `DatabaseInUseError`, deleting
   * nothing, while another instance (a tab, another `database()` of the same name) has it open. Works on a
   * database that failed to open (a wrong key, a corrupt record), which is when it is most needed.
   */
  destroy(options?: DestroyOptions): Promise<void>
  close(): Promise<void>
}
