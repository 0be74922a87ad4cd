import type { CID } from '../blockstore/block.js'
import { MissingBlockError, type BlockStore } from '../blockstore/store.js'
import type { Body, Entry } from '../crdt/entry.js'
import { diff, lookup, scan } from '../crdt/tree.js'
import { NotFoundError } from '../errors.js'
import { checkQueryOptions, compareRows, mapper, rowMatches } from '../index/query.js'
import type {
  AllDocsResult,
  ChangeRow,
  ChangesResult,
  Clock,
  Doc,
  MapFn,
  QueryOptions,
  QueryRow,
  ReadView,
  StoredDoc,
} from './api.js'
import { checkId } from './validate.js'

/**
 * Reading at a clock whose blocks are no longer stored locally (they were compacted away) and that no
 * connected replica serves.
 */
export class HistoryUnavailableError extends Error {
  override readonly name = 'HistoryUnavailableError'
  constructor(clock: string[], cause?: unknown) {
    super(
      `The history at clock ${JSON.stringify(clock)} is not available: it predates a compaction that removed its local files, and no connected replica serves them`,
      { cause },
    )
  }
}

/** A document tree at one clock, and what a reader needs to resolve an older clock. */
export interface Snapshot {
  store: BlockStore
  root: CID
  clock: Clock
}

export function toDoc<T extends Doc>(id: string, body: Body): StoredDoc<T> {
  return { _id: id, ...(body ?? {}) } as StoredDoc<T>
}

export function toRow(entry: Entry): ChangeRow {
  return entry[2] === null
    ? { key: entry[0], value: { _id: entry[0] }, deleted: true }
    : { key: entry[0], value: toDoc(entry[0], entry[2]) }
}

/** The read half of the API over one snapshot; the database reads through it, and so does `at(clock)`. */
export class TreeView implements ReadView {
  constructor(
    readonly name: string,
    protected readonly snapshot: () => Promise<Snapshot>,
    protected readonly resolveClock: (clock: Clock) => Promise<CID>,
  ) {}

  /**
   * With `{ conflicts: true }` the document also carries `_conflicts`: the losing versions of concurrent
   * writes on other replicas (deletions left out), until a later write to the id resolves them.
   */
  async get<T extends Doc = Doc>(id: string, options?: { conflicts?: boolean }): Promise<StoredDoc<T>> {
    checkId(id, 'get()')
    if (options !== undefined && (options === null || typeof options !== 'object')) {
      throw new TypeError(`get() options must be an object, got ${JSON.stringify(options)}`)
    }
    const { root, store } = await this.snapshot()
    const entry = await lookup(store, root, id)
    if (!entry || entry[2] === null) throw new NotFoundError(id)
    const doc = toDoc<T>(id, entry[2])
    if (options?.conflicts) {
      const losers = (entry[3]?.c ?? []).filter(([, body]) => body !== null).map(([, body]) => toDoc<T>(id, body))
      if (losers.length) return { ...doc, _conflicts: losers }
    }
    return doc
  }

  async allDocs<T extends Doc = Doc>(): Promise<AllDocsResult<T>> {
    const { root, clock, store } = await this.snapshot()
    const rows: AllDocsResult<T>['rows'] = []
    for await (const [id, , body] of scan(store, root)) {
      if (body !== null) rows.push({ key: id, value: toDoc<T>(id, body) })
    }
    return { rows, clock }
  }

  async changes<T extends Doc = Doc>(since?: Clock): Promise<ChangesResult<T>> {
    const { root, clock, store } = await this.snapshot()
    if (since === undefined || since.length === 0) {
      const rows: ChangeRow[] = []
      for await (const entry of scan(store, root)) rows.push(toRow(entry))
      return { rows: rows as ChangeRow<T>[], clock }
    }
    if (!Array.isArray(since) || since.some((cid) => typeof cid !== 'string')) {
      throw new TypeError(`changes(since): since must be a clock (an array of CID strings), got ${JSON.stringify(since)}`)
    }
    const from = await this.resolveClock(since)
    let changed: Awaited<ReturnType<typeof diff>>
    try {
      changed = await diff(store, from, root)
    } catch (error) {
      if (error instanceof MissingBlockError) throw new HistoryUnavailableError(since, error)
      throw error
    }
    const rows = changed.map(({ entry }) => toRow(entry))
    return { rows: rows as ChangeRow<T>[], clock }
  }

  async query<T extends Doc = Doc>(field: string | MapFn, options: QueryOptions = {}): Promise<{ rows: QueryRow<T>[] }> {
    checkQueryOptions(options)
    const map = mapper(field)
    const { root, store } = await this.snapshot()
    const rows: QueryRow<T>[] = []
    for await (const [id, , body] of scan(store, root)) {
      if (body === null) continue
      const doc = toDoc<T>(id, body)
      for (const [key, value] of map(doc)) {
        if (!rowMatches(key, options)) continue
        rows.push(options.includeDocs ? { id, key, value, doc } : { id, key, value })
      }
    }
    rows.sort(compareRows)
    if (options.descending) rows.reverse()
    return { rows: options.limit === undefined ? rows : rows.slice(0, options.limit) }
  }
}
