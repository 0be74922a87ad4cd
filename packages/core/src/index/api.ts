import type { Doc, StoredDoc } from '../values/doc.js'

/**
 * Calls `emit(key, value?)` for each row of a document, or returns the key of its one row (Fireproof style:
 * `doc => doc.color`); returning undefined without emitting makes no row.
 */
export type MapFn = (doc: StoredDoc, emit: (key: unknown, value?: unknown) => void) => unknown

export interface QueryOptions {
  /**
   * The name of a map function's persisted index. Without it a map function is indexed in memory for that
   * function object only; with it, the index is kept in the database's files under this name and survives
   * restarts (the name is the identity: another map function source under the same name rebuilds it).
   */
  index?: string
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
