import type { Connector } from '../connector/api.js'
import type { Sync, SyncOptions } from '../sync/api.js'

/** A JSON-like document. `_id` is made (uuidv7) when absent. */
export interface Doc {
  _id?: string
  [field: string]: unknown
}
export type StoredDoc<T extends Doc = Doc> = T & { _id: string }

/** A clock: the CIDs (strings) of the head events. Serializable; pass it back to `changes` and `at`. */
export type Clock = string[]

export interface DatabaseOptions {
  /** Node: files under `<dir>/<name>/` (default `./.proj-data`). Ignored with `storage: 'memory'`. */
  dir?: string
  /** An `exportKey()` string from another device; without it a new key is made and kept locally. */
  key?: string
  /** 'file' (Node default), 'indexeddb' (browser default) or 'memory'. */
  storage?: 'file' | 'memory' | 'indexeddb'
  /** Meta branch, default 'main'. */
  branch?: string
  /**
   * Compact automatically once this many files were written locally since the last compaction
   * (default 100; 0 turns automatic compaction off). See `Database.compact()`.
   */
  compactEvery?: number
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
  clock: Clock
}

export interface AllDocsResult<T extends Doc = Doc> {
  rows: { key: string; value: StoredDoc<T> }[]
  clock: Clock
}

export type MapFn = (doc: StoredDoc, emit: (key: unknown, value?: unknown) => void) => void

export interface QueryOptions {
  key?: unknown
  keys?: unknown[]
  range?: [unknown, unknown]
  prefix?: unknown
  limit?: number
  descending?: boolean
  includeDocs?: boolean
}

export interface QueryRow<T extends Doc = Doc> {
  id: string
  key: unknown
  value: unknown
  doc?: StoredDoc<T>
}

export interface ReadView {
  readonly name: string
  get<T extends Doc = Doc>(id: string, options?: { conflicts?: boolean }): Promise<StoredDoc<T>>
  allDocs<T extends Doc = Doc>(): Promise<AllDocsResult<T>>
  changes<T extends Doc = Doc>(since?: Clock): Promise<ChangesResult<T>>
  query<T extends Doc = Doc>(field: string | MapFn, options?: QueryOptions): Promise<{ rows: QueryRow<T>[] }>
}

export interface Database extends ReadView {
  put<T extends Doc>(doc: T): Promise<WriteResult>
  del(id: string): Promise<WriteResult>
  bulk<T extends Doc>(docs: T[]): Promise<{ ids: string[]; clock: Clock }>
  /** Called after every committed transaction, local or merged from a remote, with the changed docs. */
  subscribe(listener: (changed: ChangeRow[]) => void): () => void
  /** A read-only view of the database at an earlier clock. */
  at(clock: Clock): Promise<ReadView>
  /** The current clock heads. */
  clock(): Promise<Clock>
  /**
   * Rewrites the blocks the current head needs (documents, indexes) into new files of about 1 MiB and
   * deletes the local copies of older files, so disk shrinks after deletes. Remote copies stay valid; reading
   * at a clock older than the compaction then needs a connected replica holding them.
   */
  compact(): Promise<void>
  /** The database key as a string, for `database(name, { key })` on another device. */
  exportKey(): Promise<string>
  /** Starts replicating through a connector; `connect.*` helpers in connector packages call this. */
  connect(connector: Connector, options?: SyncOptions): Sync
  close(): Promise<void>
}
