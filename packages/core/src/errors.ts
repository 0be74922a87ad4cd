/** Errors exported from core. Each has a stable `name` and a message that names the value. */

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError'
  constructor(
    readonly id: string,
    /**
     * The database holds a deletion of the id (at the clock read), where false is an id never written: an
     * editor of the document can tell "deleted under me" from "not created yet" without another read.
     */
    readonly deleted = false,
  ) {
    super(`Document not found: ${JSON.stringify(id)}${deleted ? ' (deleted)' : ''}`)
  }
}

/**
 * A conditional write (`bulk(docs, { ifClock })`) found the database at another clock than the one it was
 * given: something was written or merged since the caller read. Nothing of it was written; read again, then
 * write again.
 */
export class ClockChangedError extends Error {
  override readonly name = 'ClockChangedError'
  constructor(
    /** The clock the write was made against. */
    readonly expected: readonly string[],
    /** The database's clock when the write came to commit. */
    readonly current: readonly string[],
  ) {
    super(
      `The database moved on from the clock this write was made against (${JSON.stringify(expected)}, now ${JSON.stringify(current)}): ` +
        'nothing was written; read again and write again',
    )
  }
}

export class KeyMismatchError extends Error {
  override readonly name = 'KeyMismatchError'
  readonly permanent = true
  constructor(readonly database: string, detail = 'the key does not open this database') {
    super(`Wrong key for database ${JSON.stringify(database)}: ${detail}`)
  }
}

/**
 * This device's key was replaced by a rotation (`rotateKey()` on another device): what was written since is
 * sealed with a newer key this device does not hold, and honest devices refuse what it writes now. Sync stops
 * with status 'error'; `flush()` rejects. Get the current key (a new share link, `exportKey()` on a device
 * that has it). Never names key material.
 */
export class KeyRevokedError extends Error {
  override readonly name = 'KeyRevokedError'
  readonly permanent = true
  constructor(readonly database: string, detail: string) {
    super(`The key of database ${JSON.stringify(database)} was revoked: ${detail}. Open it with the current key (a new share link)`)
  }
}

export class IntegrityError extends Error {
  override readonly name = 'IntegrityError'
  readonly permanent = true
  constructor(readonly cid: string, detail: string) {
    super(`Integrity check failed for ${cid}: ${detail}`)
  }
}

/**
 * A remote head (a meta entry) that contradicts its own clock events: it names a tree root its events do not
 * give. The entry is at fault, not the backend or the files: sync refuses that entry (a warning) and goes on.
 */
export class InconsistentHeadError extends IntegrityError {}

/** The backend refused the credentials (a wrong or missing token, secret or signature). Never retried. */
export class AuthError extends Error {
  override readonly name = 'AuthError'
  readonly permanent = true
  constructor(readonly backend: string, detail: string) {
    super(`${backend} refused the credentials: ${detail}`)
  }
}

/**
 * The backend cannot serve this configuration: a bucket or room that does not exist, a malformed URL or
 * option. Retrying will not help until the configuration changes.
 */
export class BackendConfigError extends Error {
  override readonly name = 'BackendConfigError'
  readonly permanent = true
  constructor(readonly backend: string, detail: string) {
    super(`${backend}: ${detail}`)
  }
}

/**
 * Names of errors that retrying cannot fix. Classified by `name` (not `instanceof`), so an error class from
 * another copy of this package, or a backend SDK's own error, is classified the same way.
 */
const PERMANENT_NAMES = new Set([
  'IntegrityError',
  'KeyMismatchError',
  'AuthError',
  'BackendConfigError',
  'FormatVersionError',
  'KeyRevokedError',
  // AWS SDK (S3) error names.
  'NoSuchBucket',
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
  'AccessDenied',
  'InvalidBucketName',
  'AuthorizationHeaderMalformed',
])

/** HTTP statuses that mean "the request itself is wrong": the same request will fail again. */
function permanentStatus(status: unknown): boolean {
  return typeof status === 'number' && status >= 400 && status < 500 && ![404, 408, 409, 425, 429].includes(status)
}

/**
 * True when retrying the operation cannot succeed: auth, a missing bucket or room, bytes that fail
 * verification, a key mismatch, a malformed configuration. Walks the `cause` chain. Everything else
 * (network errors, 5xx, timeouts) is transient.
 */
export function isPermanentError(error: unknown): boolean {
  const seen = new Set<unknown>()
  let current: unknown = error
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current)
    const e = current as {
      name?: unknown
      permanent?: unknown
      status?: unknown
      statusCode?: unknown
      $metadata?: { httpStatusCode?: unknown }
      cause?: unknown
    }
    if (e.permanent === true) return true
    if (e.permanent === false) return false
    if (typeof e.name === 'string' && PERMANENT_NAMES.has(e.name)) return true
    if (permanentStatus(e.status) || permanentStatus(e.statusCode) || permanentStatus(e.$metadata?.httpStatusCode))
      return true
    current = e.cause
  }
  return false
}

export class ConnectorError extends Error {
  override readonly name = 'ConnectorError'
  /** Retrying cannot fix it (see isPermanentError); sync shows status 'error' and stops retrying it. */
  readonly permanent: boolean
  constructor(
    readonly connector: string,
    readonly op: string,
    override readonly cause: unknown,
  ) {
    super(`Connector ${connector} failed to ${op}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    this.permanent = isPermanentError(cause)
  }
}

/**
 * A local record (the head, the keybag) that cannot be what was written: torn, altered, or naming files and
 * clock events that do not match it. The message names the record and where it is stored, and what is wrong.
 */
export class CorruptRecordError extends Error {
  override readonly name = 'CorruptRecordError'
  readonly permanent = true
  constructor(
    /** The record and its place, e.g. `The head record "head.main" of "/data/todos"`. */
    readonly record: string,
    detail: string,
  ) {
    super(`${record} is corrupt: ${detail}`)
  }
}

/**
 * A stored record, file or meta entry was written in a newer format than this version of core reads. Nothing
 * was changed; a newer version of core opens it. Older formats are read (and rewritten in the current format
 * when next written), so this only happens after a downgrade or next to a newer replica. See docs/FORMAT.md.
 */
export class FormatVersionError extends Error {
  override readonly name = 'FormatVersionError'
  readonly permanent = true
  constructor(
    /** What was read and where, e.g. `The head record "head.main" of "/data/todos"`. */
    readonly record: string,
    readonly version: number,
    /** The newest version this code reads. */
    readonly supported: number,
  ) {
    super(
      `${record} has format version ${version}, but this version of @proj/core reads versions up to ${supported}: ` +
        'open it with a newer version',
    )
  }
}

/**
 * A write needs the current version of ids whose part of the document tree this device never downloaded (it
 * started lazily from a backend, and reads only what it needs), and no backend serves it now. Nothing was
 * written; the same write succeeds once a backend is reachable. Writes to parts already read work offline.
 */
export class NotDownloadedError extends Error {
  override readonly name = 'NotDownloadedError'
  readonly permanent = false
  constructor(
    readonly database: string,
    readonly ids: string[],
    cause: unknown,
  ) {
    super(
      `Cannot write ${ids.map((id) => JSON.stringify(id)).join(', ')} to database ${JSON.stringify(database)} now: ` +
        `this device never downloaded the part of the document tree that holds ${ids.length > 1 ? 'them' : 'it'} ` +
        `(it started lazily from a backend), and no backend serves it (${cause instanceof Error ? cause.message : String(cause)}). ` +
        'Nothing was written; retry when a backend is reachable.',
      { cause },
    )
  }
}

export class ClosedError extends Error {
  override readonly name = 'ClosedError'
  constructor(readonly database: string) {
    super(`Database ${JSON.stringify(database)} is closed`)
  }
}

/**
 * `destroy()` was called while another instance of the same database is open in this process or in another
 * tab: deleting its data under it would break it, so nothing was deleted.
 */
export class DatabaseInUseError extends Error {
  override readonly name = 'DatabaseInUseError'
  constructor(
    readonly database: string,
    readonly location: string,
    /** What was refused: destroy() deletes nothing, compact() changes nothing. */
    readonly operation: 'destroy()' | 'compact()' = 'destroy()',
  ) {
    super(
      `Database ${JSON.stringify(database)} at ${JSON.stringify(location)} is open elsewhere (another tab or another ` +
        `database() of the same name)` +
        (operation === 'destroy()'
          ? ': close it there, then destroy() again. Nothing was deleted'
          : ': compact() deletes files the other may still read, so it finishes only while this is the one instance ' +
            'open. Close the other, then compact() again. Nothing was changed'),
    )
  }
}

/**
 * Another process holds the database directory (its `LOCK` file names a live process). Two processes writing
 * one directory would overwrite each other's head, so the second opener gets this instead.
 */
export class DatabaseLockedError extends Error {
  override readonly name = 'DatabaseLockedError'
  constructor(
    /** The database directory (`<dir>/<name>`). */
    readonly path: string,
    /** The lock file, `<path>/LOCK`. */
    readonly lockFile: string,
    readonly pid: number,
    readonly host: string,
  ) {
    super(
      `Database ${JSON.stringify(path)} is open in another process (pid ${pid} on host ${JSON.stringify(host)}, ` +
        `lock file ${JSON.stringify(lockFile)}): close it there first, or delete the lock file if that process no longer runs`,
    )
  }
}

/**
 * A backend call that gave no answer in time (a server that accepts and never replies, a half-open
 * connection, a connector whose promise never settles). Transient: sync retries the call as it does after a
 * network error. Named like the DOMException `AbortSignal.timeout()` raises, so code telling timeouts apart
 * by name sees one kind.
 */
export class CallTimeoutError extends Error {
  override readonly name = 'TimeoutError'
  readonly permanent = false
  constructor(
    /** The connector operation, e.g. 'upload', 'load'. */
    readonly op: string,
    readonly ms: number,
  ) {
    super(`no answer within ${ms} ms`)
  }
}
