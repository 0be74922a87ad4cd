import type { Clock } from '../clock/api.js'
import type { ConnectorError } from '../errors.js'

export type SyncStatus = 'connecting' | 'synced' | 'pending' | 'offline' | 'error'

/**
 * Something on the backend that this device skipped without stopping sync: a meta entry sealed with
 * another key (a stranger writing to the room or prefix), or bytes that fail verification or decoding.
 * Each is reported once.
 */
export interface SyncWarning {
  kind: 'foreign-entry' | 'unreadable-entry'
  /** CID of the skipped entry. */
  cid: string
  error: Error
}

/** What sync moves, for progress bars on a first sync or a big offline backlog. */
export interface SyncProgress {
  /** The current (or last) push: files it must upload, how many are up, and their bytes so far. */
  upload: { files: number; done: number; bytes: number }
  /** Files downloaded from this backend this session, and their bytes (lazy loads included). */
  download: { files: number; bytes: number }
}

export interface SyncEvents {
  status: (status: SyncStatus) => void
  /**
   * A failure. `error.permanent` tells the kind: permanent failures (auth, missing bucket or room, integrity,
   * wrong key, bad configuration, a needed file the backend lacks) set status 'error' and stop automatic retries; transient ones (network,
   * 5xx, timeouts) set 'offline' and are retried with bounded backoff.
   */
  error: (error: ConnectorError) => void
  /** Something skipped on the backend (see SyncWarning); sync goes on. */
  warning: (warning: SyncWarning) => void
  /** Remote changes were merged into the local database. */
  change: () => void
  /** After every file uploaded or downloaded, and when a push knows how many files it must upload. */
  progress: (progress: SyncProgress) => void
}

export interface SyncOptions {
  /** Meta branch, default 'main'. */
  branch?: string
  /** Poll interval in ms for connectors without `subscribe` (default 1000; 0 disables polling). */
  pollInterval?: number
  /** Longest retry backoff in ms (default 10_000). */
  maxBackoff?: number
  /**
   * How long `flush()` and `refresh()` keep retrying transient failures before they reject (default 30_000).
   * Without `callTimeout`, half of it bounds each backend call.
   */
  flushTimeout?: number
  /**
   * How long one backend call (an upload, a download, a meta load or save) may go unanswered, in ms, plus 1 ms
   * per 64 bytes the call carries (default: half of `flushTimeout`). A call that gets no answer by then fails
   * as a transient `TimeoutError` and is retried, each timeout in a row of one operation doubling the
   * allowance (up to 8 times). Shorter finds a hung connection sooner (a phone changing networks); longer
   * suits a backend that is slow rather than away.
   */
  callTimeout?: number
}

/** The handle every `connect.*` returns. */
export interface Sync {
  /**
   * Resolves when the first pull has been merged. Transient failures are retried; a permanent one (auth, a
   * missing bucket, a key that opens none of the backend's entries: KeyMismatchError, a file an entry needs
   * that the backend says it lacks: MissingFileError) rejects it at once, and so does close() before the first
   * pull was merged.
   */
  readonly ready: Promise<void>
  readonly status: SyncStatus
  readonly lastError: ConnectorError | undefined
  /** Meta entries skipped so far (sealed with another key, or unreadable); see the 'warning' event. */
  readonly skipped: number
  /**
   * Resolves with the local clock once the backend durably holds it: every file that clock needs was
   * uploaded (each upload succeeded) before a meta entry naming it was saved, so any device with the key can
   * read that clock from the backend alone. Rejects on a permanent failure, or when transient ones outlast
   * `flushTimeout`; nothing local is lost either way.
   */
  flush(): Promise<Clock>
  /** Pulls the remote meta now and merges it; transient failures are retried until `flushTimeout`. */
  refresh(): Promise<void>
  /** What has been uploaded and downloaded (see the 'progress' event). */
  readonly progress: SyncProgress
  /**
   * Stops pushing and pulling (a metered connection, a big backlog to send later). Local writes go on and
   * queue; lazy reads of files not held locally still download. `flush()` and `refresh()` reject while paused.
   */
  pause(): void
  /** Starts again after pause(): pulls what was missed and pushes what queued up. */
  resume(): void
  readonly paused: boolean
  /**
   * What the next push would upload: the files the local head needs that this backend does not hold yet
   * (walking file headers, stopping at files known held with everything they reference), and their bytes.
   * `{ files: 0, bytes: 0 }` after a successful flush() with no write since. Answers from local state, also
   * while the backend cannot be reached (it does not wait for the first pull).
   */
  pending(): Promise<{ files: number; bytes: number }>
  on<E extends keyof SyncEvents>(event: E, listener: SyncEvents[E]): () => void
  /**
   * Stops promptly, even when the backend is down. The outbox stays on disk. Closes the connector too, unless
   * another open sync uses the same connector object (one connector may serve several databases).
   */
  close(): Promise<void>
}
