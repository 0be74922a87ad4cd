import type { ConnectorError } from '../errors.js'

export type SyncStatus = 'connecting' | 'synced' | 'pending' | 'offline' | 'error'

export interface SyncEvents {
  status: (status: SyncStatus) => void
  error: (error: ConnectorError) => void
  /** Remote changes were merged into the local database. */
  change: () => void
}

export interface SyncOptions {
  /** Meta branch, default 'main'. */
  branch?: string
  /** Poll interval in ms for connectors without `subscribe` (default 1000; 0 disables polling). */
  pollInterval?: number
  /** Longest retry backoff in ms (default 10_000). */
  maxBackoff?: number
  /** How long `flush()` keeps retrying before it rejects with ConnectorError (default 30_000). */
  flushTimeout?: number
}

/** The handle every `connect.*` returns. */
export interface Sync {
  /** Resolves when the first pull has been merged. */
  readonly ready: Promise<void>
  readonly status: SyncStatus
  readonly lastError: ConnectorError | undefined
  /** Resolves when everything local is durable remotely. */
  flush(): Promise<void>
  /** Pulls the remote meta now and merges it. */
  refresh(): Promise<void>
  on<E extends keyof SyncEvents>(event: E, listener: SyncEvents[E]): () => void
  /** Stops promptly, even when the backend is down. The outbox stays on disk. */
  close(): Promise<void>
}
