import type { CID } from '../blockstore/block.js'
import type { BlockStore } from '../blockstore/store.js'
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

  async get<T extends Doc = Doc>(id: string): Promise<StoredDoc<T>> {
    checkId(id, 'get()')
    const { root, store } = await this.snapshot()
    const entry = await lookup(store, root, id)
    if (!entry || entry[2] === null) throw new NotFoundError(id)
    return toDoc<T>(id, entry[2])
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
    const rows = (await diff(store, from, root)).map(({ entry }) => toRow(entry))
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
