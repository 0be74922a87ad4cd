import type { CID } from '../blockstore/block.js'
import { MissingBlockError, type BlockStore } from '../blockstore/store.js'
import type { Entry } from '../crdt/entry.js'
import { diff, lookup, scan } from '../crdt/tree.js'
import { NotFoundError } from '../errors.js'
import { checkIndexName, checkQueryOptions, compareRows, indexIdentity, mapper, rowMatches } from '../index/query.js'
import type {
  AllDocsOptions,
  AllDocsResult,
  ChangeRow,
  ChangesCursor,
  ChangesOptions,
  ChangesResult,
  Clock,
  Doc,
  Index,
  MapFn,
  QueryOptions,
  QueryRow,
  ReadView,
  StoredDoc,
} from './api.js'
import { toDoc } from '../values/read-copy.js'
import { checkId, checkOptions, describe } from '../values/validate.js'

/**
 * Reading at a clock whose blocks are no longer stored locally (they were compacted away) and that no
 * connected replica serves.
 */
export class HistoryUnavailableError extends Error {
  override readonly name = 'HistoryUnavailableError'
  constructor(clock: string[], cause?: unknown) {
    super(
      `The history at clock ${JSON.stringify(clock)} is not available: files it needs are not stored here (a compaction removed them, or this device reads lazily and never downloaded them) and no connected replica serves them`,
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

/**
 * A stored body as the caller sees it. Its attachments read as metadata with a `file()` method that fetches
 * the content from `store` (without a store, `file()` explains that the document must be read first).
 */

export function toRow(entry: Entry, store?: BlockStore): ChangeRow {
  return entry[2] === null
    ? { key: entry[0], value: { _id: entry[0] }, deleted: true }
    : { key: entry[0], value: toDoc(entry[0], entry[2], store) }
}

/** The read half of the API over one snapshot; the database reads through it, and so does `at(clock)`. */
export class TreeView implements ReadView {
  constructor(
    readonly name: string,
    protected readonly snapshot: () => Promise<Snapshot>,
    protected readonly resolveClock: (clock: Clock) => Promise<CID>,
  ) {}

  /** Every read's answer passes through here (a subclass may turn the event loop, or name an error). */
  protected settle<R>(read: Promise<R>): Promise<R> {
    return read
  }

  /**
   * With `{ conflicts: true }` the document also carries `_conflicts`: the losing versions of concurrent
   * writes on other replicas, a concurrent deletion as `{ _id, _deleted: true }`, until a later write (or
   * delete) of the id resolves them.
   */
  get<T extends Doc = Doc>(id: string, options?: { conflicts?: boolean }): Promise<StoredDoc<T>> {
    return this.settle(this.#get<T>(id, options))
  }

  async #get<T extends Doc>(id: string, options?: { conflicts?: boolean }): Promise<StoredDoc<T>> {
    checkId(id, 'get()')
    if (options !== undefined && (options === null || typeof options !== 'object')) {
      throw new TypeError(`get() options must be an object, got ${JSON.stringify(options)}`)
    }
    const { root, store } = await this.snapshot()
    const entry = await store.whilePinned(root, () => lookup(store, root, id))
    if (!entry || entry[2] === null) throw new NotFoundError(id, entry !== undefined)
    const doc = toDoc<T>(id, entry[2], store)
    if (options?.conflicts) {
      const losers = (entry[3]?.c ?? []).map(([, body]) =>
        body === null ? ({ _id: id, _deleted: true } as unknown as StoredDoc<T>) : toDoc<T>(id, body, store),
      )
      if (losers.length) return { ...doc, _conflicts: losers }
    }
    return doc
  }

  allDocs<T extends Doc = Doc>(options?: AllDocsOptions): Promise<AllDocsResult<T>> {
    return this.settle(this.#allDocs<T>(options))
  }

  async #allDocs<T extends Doc>(options?: AllDocsOptions): Promise<AllDocsResult<T>> {
    const { keys, limit = Infinity, descending = false, after } = checkAllDocsOptions(options)
    const { root, clock, store } = await this.snapshot()
    const rows: AllDocsResult<T>['rows'] = []
    if (limit === 0) return { rows, clock }
    await store.whilePinned(root, () => this.#collectDocs(store, root, rows, { keys, limit, descending, after }))
    return { rows, clock }
  }

  async #collectDocs<T extends Doc>(
    store: BlockStore,
    root: CID,
    rows: AllDocsResult<T>['rows'],
    { keys, limit = Infinity, descending = false, after }: AllDocsOptions,
  ): Promise<void> {
    if (keys) {
      for (const id of descending ? [...keys].reverse() : keys) {
        const entry = await lookup(store, root, id)
        if (entry && entry[2] !== null) rows.push({ key: id, value: toDoc<T>(id, entry[2], store) })
        if (rows.length >= limit) break
      }
      return
    }
    // The smallest string greater than `after` is `after + '\0'`; descending, `lt` excludes `after` itself.
    const bounds = after === undefined ? {} : descending ? { lt: after } : { gte: after + '\u0000' }
    for await (const [id, , body] of scan(store, root, { reverse: descending, ...bounds })) {
      if (body === null) continue
      rows.push({ key: id, value: toDoc<T>(id, body, store) })
      if (rows.length >= limit) break
    }
  }

  /**
   * The newest state of every id that changed since `since` (every id without it, deletions marked), in id
   * order. With `limit`, a `next` cursor in the result reads the rest of the same changes.
   */
  changes<T extends Doc = Doc>(since?: Clock | ChangesCursor, options?: ChangesOptions): Promise<ChangesResult<T>> {
    return this.settle(this.#changes<T>(since, options))
  }

  async #changes<T extends Doc>(since?: Clock | ChangesCursor, options?: ChangesOptions): Promise<ChangesResult<T>> {
    const { limit = Infinity } = checkOptions(options, 'changes()', ['limit']) as ChangesOptions
    const snapshot = await this.snapshot()
    const { store } = snapshot
    let from: Clock
    let root: CID
    let clock: Clock
    let after: string | undefined
    if (isCursor(since)) {
      if (!('since' in since) && 'limit' in since) {
        // changes({ limit }): options where the first argument (since) goes.
        throw new TypeError(`changes() takes (since, options): got ${describe(since)} as since; for the changes from the start call changes(undefined, ${describe(since)})`)
      }
      checkClock(since.since, 'changes(): the cursor since')
      checkClock(since.clock, 'changes(): the cursor clock')
      if (typeof since.after !== 'string') {
        throw new TypeError(`changes(): the cursor's after must be a string, got ${describe(since.after)}`)
      }
      ;({ since: from, clock, after } = since)
      root = await this.resolveClock(clock)
    } else {
      if (since !== undefined) checkClock(since, 'changes(since)')
      from = since ?? []
      ;({ root, clock } = snapshot)
    }
    const rows: ChangeRow[] = []
    // One row more than asked tells whether a cursor is needed.
    const wanted = limit === Infinity ? Infinity : limit + 1
    const releases = [store.pin(root)]
    try {
    if (from.length === 0) {
      // Every key above `after`: the smallest string greater than it is `after + '\0'`.
      const gte = after ? after + '\u0000' : undefined
      for await (const entry of scan(store, root, { gte })) {
        rows.push(toRow(entry, store))
        if (rows.length >= wanted) break
      }
    } else {
      const fromRoot = await this.resolveClock(from)
      releases.push(store.pin(fromRoot))
      let changed: Awaited<ReturnType<typeof diff>>
      try {
        changed = await diff(store, fromRoot, root)
      } catch (error) {
        if (error instanceof MissingBlockError) throw new HistoryUnavailableError(from, error)
        throw error
      }
      for (const { entry } of changed) {
        if (after && entry[0] <= after) continue
        rows.push(toRow(entry, store))
        if (rows.length >= wanted) break
      }
    }
    } finally {
      for (const release of releases) release()
    }
    if (rows.length <= limit) return { rows: rows as ChangeRow<T>[], clock }
    rows.length = limit
    const next: ChangesCursor = { since: from, clock, after: rows.at(-1)?.key ?? after ?? '' }
    return { rows: rows as ChangeRow<T>[], clock, next }
  }

  query<T extends Doc = Doc>(field: string | MapFn, options?: QueryOptions): Promise<{ rows: QueryRow<T>[] }> {
    return this.settle(this.#query<T>(field, options))
  }

  async #query<T extends Doc>(field: string | MapFn, options?: QueryOptions): Promise<{ rows: QueryRow<T>[] }> {
    const checked = checkQueryOptions(options)
    const map = mapper(field)
    indexIdentity(field, checked)
    const { root, store } = await this.snapshot()
    const rows: QueryRow<T>[] = []
    await store.whilePinned(root, async () => {
      for await (const [id, , body] of scan(store, root)) {
        if (body === null) continue
        const doc = toDoc<T>(id, body, store)
        for (const [key, value] of map(doc)) {
          if (!rowMatches(key, checked)) continue
          rows.push(checked.includeDocs ? { id, key, value, doc } : { id, key, value })
        }
      }
    })
    rows.sort(compareRows)
    if (checked.descending) rows.reverse()
    return { rows: checked.limit === undefined ? rows : rows.slice(0, checked.limit) }
  }

  index(name: string, map: MapFn): Index {
    checkIndexName(name, 'index()')
    if (typeof map !== 'function') throw new TypeError(`index(): expects a map function, got ${describe(map)}`)
    return {
      name,
      query: (options) => {
        if (options !== undefined && options !== null && typeof options === 'object' && 'index' in options) {
          throw new TypeError(`index(${JSON.stringify(name)}).query(): the index is named by index(), not by the index option`)
        }
        return this.query(map, { ...options, index: name })
      },
    }
  }
}

function checkAllDocsOptions(options: unknown): AllDocsOptions {
  const checked = checkOptions(options, 'allDocs()', ['keys', 'limit', 'descending', 'after']) as AllDocsOptions
  if (checked.after !== undefined) {
    checkId(checked.after, 'allDocs(): after')
    if (checked.keys !== undefined) throw new TypeError(`allDocs(): after pages through ids in order, it cannot be combined with keys (after ${JSON.stringify(checked.after)})`)
  }
  if (checked.keys !== undefined) {
    if (!Array.isArray(checked.keys)) throw new TypeError(`allDocs(): keys must be an array of ids, got ${describe(checked.keys)}`)
    checked.keys.forEach((id, i) => checkId(id, `allDocs(): keys[${i}]`))
  }
  return checked
}

function isCursor(since: unknown): since is ChangesCursor {
  return since !== null && typeof since === 'object' && !Array.isArray(since)
}

function checkClock(clock: unknown, where: string): void {
  if (!Array.isArray(clock) || clock.some((cid) => typeof cid !== 'string')) {
    throw new TypeError(`${where} must be a clock (an array of CID strings), got ${describe(clock)}`)
  }
}

/**
 * The view `at(clock)` returns: a read that meets a block no file holds any more (its files were compacted
 * away, and no connected replica serves them) is the clock's history being unavailable, and says so.
 */
export class HistoricalView extends TreeView {
  constructor(
    name: string,
    private readonly clock: Clock,
    snapshot: () => Promise<Snapshot>,
    resolveClock: (clock: Clock) => Promise<CID>,
  ) {
    super(name, snapshot, resolveClock)
  }

  protected override async settle<R>(read: Promise<R>): Promise<R> {
    try {
      return await read
    } catch (error) {
      if (error instanceof MissingBlockError) throw new HistoryUnavailableError(this.clock, error)
      throw error
    }
  }
}
