/**
 * The connector contract. A connector moves opaque bytes: encrypted files named by the CID of their bytes,
 * and encrypted meta entries. It never sees keys or plaintext and never interprets the clock. Only `sync`
 * calls connectors.
 */

/** One encrypted meta entry. `cid` is the CIDv1 (raw codec, sha2-256) of `bytes`, as a string. */
export interface MetaEntry {
  readonly cid: string
  readonly bytes: Uint8Array
}

/**
 * What sync passes with every call. `signal` is aborted when sync stops waiting for the call: it got no
 * answer within its allowance (`callTimeout`), or the sync closed. A connector should then end the call's
 * request (pass the signal to `fetch`, the S3 client…) and may reject with anything: sync ignores how an
 * abandoned call settles. One that ignores the signal still works; its request runs on until it ends itself.
 */
export interface CallOptions {
  readonly signal?: AbortSignal
}

/** Immutable files, named by the CIDv1 (raw, sha2-256) string of their bytes. */
export interface FileStore {
  /** Idempotent: uploading the same cid twice is not an error. Resolves once the bytes are durable. */
  upload(db: string, cid: string, bytes: Uint8Array, options?: CallOptions): Promise<void>
  /**
   * The stored bytes, or `undefined` when absent. Throws only for transport or auth failures. `undefined` is
   * the backend's answer that it lacks the file (404, NoSuchKey): sync takes a file it needs and no source
   * holds as permanent (MissingFileError), so a backend unable to tell must throw rather than say absent.
   */
  download(db: string, cid: string, options?: CallOptions): Promise<Uint8Array | undefined>
  /**
   * Optional: whether the backend holds the file, without sending it. Sync uses it once per session to find
   * files the backend lost (deleted on the server) and upload them again from this device.
   */
  has?(db: string, cid: string, options?: CallOptions): Promise<boolean>
}

/** A set of meta entries per branch. No compare-and-swap: concurrent savers must both survive. */
export interface MetaStore {
  /** Adds `entry`, then removes the entries named in `replaces` (their cids), which it has merged. */
  save(db: string, branch: string, entry: MetaEntry, replaces: readonly string[], options?: CallOptions): Promise<void>
  /** All current entries of the branch (empty when none). */
  load(db: string, branch: string, options?: CallOptions): Promise<MetaEntry[]>
  /**
   * Optional push: calls `onEntries` with entries as they arrive (the current set first, then new ones).
   * Entries already seen may be delivered again. Returns an unsubscribe function. `replaced`, when the
   * backend tells, names the entries the delivered save removed (its `replaces`): their saver had merged them,
   * so a subscriber still behind may skip them.
   */
  subscribe?(db: string, branch: string, onEntries: (entries: MetaEntry[], replaced?: readonly string[]) => void): () => void
}

export interface Connector extends FileStore, MetaStore {
  /** Short name used in errors and status, e.g. 's3', 'partykit'. */
  readonly name: string
  /**
   * Names the backend instance (endpoint, bucket, prefix, room…). Sync remembers per id which files the
   * backend holds, so a restart does not upload them again; without an id nothing is remembered across
   * restarts (still correct: a push re-walks what the head needs).
   */
  readonly id?: string
  /**
   * Optional: the transport's own connection state, for backends with a persistent connection (a websocket).
   * Sync shows 'offline' as soon as the connection drops and pulls again when it is back.
   */
  onStatus?(listener: (status: 'idle' | 'connecting' | 'open' | 'offline' | 'closed') => void): () => void
  /** Releases sockets and timers. The database and its outbox stay intact. */
  close?(): Promise<void>
}
