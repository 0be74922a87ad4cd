/** Errors exported from core. Each has a stable `name` and a message that names the value. */

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError'
  constructor(readonly id: string) {
    super(`Document not found: ${JSON.stringify(id)}`)
  }
}

export class KeyMismatchError extends Error {
  override readonly name = 'KeyMismatchError'
  constructor(readonly database: string, detail = 'the key does not open this database') {
    super(`Wrong key for database ${JSON.stringify(database)}: ${detail}`)
  }
}

export class IntegrityError extends Error {
  override readonly name = 'IntegrityError'
  constructor(readonly cid: string, detail: string) {
    super(`Integrity check failed for ${cid}: ${detail}`)
  }
}

export class ConnectorError extends Error {
  override readonly name = 'ConnectorError'
  constructor(
    readonly connector: string,
    readonly op: string,
    override readonly cause: unknown,
  ) {
    super(`Connector ${connector} failed to ${op}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
  }
}

export class ClosedError extends Error {
  override readonly name = 'ClosedError'
  constructor(readonly database: string) {
    super(`Database ${JSON.stringify(database)} is closed`)
  }
}
