import type { CID } from '../blockstore/block.js'
import type { BlockStore } from '../blockstore/store.js'
import type { Body, Entry } from '../crdt/entry.js'
import { compareKeys } from '../crdt/entry.js'
import { applyEntries, diff, lookup, type NewBlock } from '../crdt/tree.js'
import type { Doc, StoredDoc } from '../values/doc.js'
import { readCopy, toDoc } from '../values/read-copy.js'
import type { QueryOptions, QueryRow } from './api.js'
import { decodeKey, encodeKey, encodePrefix, prefixEnd } from './encode.js'
import { rowMatches, type Mapper } from './query.js'

/**
 * A secondary index is a second prolly tree (the same node format and chunking as the document tree, see
 * crdt/tree.ts) whose keys are `encodeKey(emittedKey) + docId`, so the tree's plain string order is the
 * CouchDB collation of the emitted keys, then the doc id. An entry's body holds the emitted value(s):
 * `{}` (no value), `{ v }` (one value) or `{ m: [...] }` (one doc emitted the same key several times).
 * Rows a document stops emitting become tombstones (body null) so that an update only rewrites the paths it
 * touches; compaction rebuilds each index from the live documents, which drops them.
 */

/** The entries with `gte <= key < lt` of an index, in order or reversed (a tree, or an in-memory index). */
export type RangeSource = (gte: string | undefined, lt: string | undefined, reverse: boolean) => AsyncIterable<Entry> | Iterable<Entry>


/** Hands each row document `id` emits to `row`: its index key (the emitted key's encoding, then the id) and body. */
export function emitRows(map: Mapper, id: string, body: Exclude<Body, null>, row: (key: string, body: Record<string, unknown>) => void): void {
  const emitted = map(toDoc(id, body))
  if (emitted.length === 1) {
    // The usual case (a field, a map function emitting once): no grouping of repeated keys needed.
    const value = emitted[0]![1]
    return row(encodeKey(emitted[0]![0]) + id, value === undefined ? {} : { v: value })
  }
  const grouped = new Map<string, unknown[]>()
  for (const [key, value] of emitted) {
    const full = encodeKey(key) + id
    let values = grouped.get(full)
    if (!values) grouped.set(full, (values = []))
    values.push(value)
  }
  for (const [full, values] of grouped) {
    if (values.length === 1) row(full, values[0] === undefined ? {} : { v: values[0] })
    else row(full, { m: values.map((v) => (v === undefined ? null : v)) })
  }
}

function rowsOf(map: Mapper, id: string, body: Body): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>()
  if (body !== null) emitRows(map, id, body, (key, row) => out.set(key, row))
  return out
}

/**
 * The index rows that change when the document tree goes from `fromDocs` to `toDocs` (null: a row removed):
 * a tree diff, so the work is proportional to the documents that changed.
 */
export async function indexChanges(store: BlockStore, map: Mapper, fromDocs: CID, toDocs: CID): Promise<Map<string, Body>> {
  const changes = await diff(store, fromDocs, toDocs)
  const updates = new Map<string, Body>()
  for (const { entry, previous } of changes) {
    const before = previous ? rowsOf(map, previous[0], previous[2]) : new Map<string, Record<string, unknown>>()
    const after = rowsOf(map, entry[0], entry[2])
    for (const key of before.keys()) if (!after.has(key)) updates.set(key, null)
    for (const [key, value] of after) {
      const old = before.get(key)
      if (old === undefined || JSON.stringify(old) !== JSON.stringify(value)) updates.set(key, value)
    }
  }
  return updates
}

/** Brings an index tree from the document tree `fromDocs` to `toDocs`; returns its new root and the blocks to commit. */
export async function updateIndex(
  store: BlockStore,
  map: Mapper,
  indexRoot: CID,
  fromDocs: CID,
  toDocs: CID,
): Promise<{ root: CID; blocks: NewBlock[] }> {
  const updates = await indexChanges(store, map, fromDocs, toDocs)
  if (updates.size === 0) return { root: indexRoot, blocks: [] }
  const entries: Entry[] = [...updates]
    .sort(([a], [b]) => compareKeys(a, b))
    .map(([key, body]) => [key, 0, body])
  return applyEntries(store, indexRoot, entries, () => true)
}

function maxBound(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return a > b ? a : b
}

function minBound(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return a < b ? a : b
}

function* expand(entry: Entry, reverse: boolean): Generator<QueryRow> {
  const [key, next] = decodeKey(entry[0])
  const id = entry[0].slice(next)
  const body = entry[2] as { v?: unknown; m?: unknown[] }
  // The emitted values are the index leaf's: a caller changing one must not change what later queries return.
  if (body.m) for (const value of reverse ? [...body.m].reverse() : body.m) yield { id, key, value: readCopy(value) }
  else yield { id, key, value: readCopy(body.v) }
}

/** Answers a query from an index; `includeDocs` reads the documents from the tree `docRoot` the index reflects. */
export async function queryIndex<T extends Doc>(
  source: RangeSource,
  store: BlockStore,
  docRoot: CID,
  options: QueryOptions,
): Promise<QueryRow<T>[]> {
  const reverse = options.descending === true
  const limit = options.limit ?? Infinity
  const rows: QueryRow[] = []
  if (limit === 0) return []
  const collect = async (gte: string | undefined, lt: string | undefined, stopAtLimit: boolean) => {
    for await (const entry of source(gte, lt, reverse)) {
      if (entry[2] === null) continue
      for (const row of expand(entry, reverse)) {
        if (!rowMatches(row.key, options)) continue
        rows.push(row)
      }
      if (stopAtLimit && rows.length >= limit) return
    }
  }
  const hasKey = 'key' in options && options.key !== undefined
  if (options.keys && !hasKey) {
    // Each key is a range of its own; the rows come back in collation order like the scan did.
    const prefixes = [...new Set(options.keys.map(encodeKey))].sort()
    if (reverse) prefixes.reverse()
    for (const prefix of prefixes) await collect(prefix, prefixEnd(prefix), false)
  } else {
    let gte: string | undefined
    let lt: string | undefined
    if (hasKey) {
      gte = encodeKey(options.key)
      lt = prefixEnd(gte)
    }
    if (options.range) {
      gte = maxBound(gte, encodeKey(options.range[0]))
      lt = minBound(lt, prefixEnd(encodeKey(options.range[1])))
    }
    if (options.prefix !== undefined) {
      const prefix = encodePrefix(options.prefix)
      gte = maxBound(gte, prefix)
      lt = minBound(lt, prefixEnd(prefix))
    }
    if (gte === undefined || lt === undefined || gte < lt) await collect(gte, lt, true)
  }
  const result = (limit === Infinity ? rows : rows.slice(0, limit)) as QueryRow<T>[]
  if (options.includeDocs) {
    for (const row of result) {
      const entry = await lookup(store, docRoot, row.id)
      if (entry && entry[2] !== null) row.doc = toDoc(row.id, entry[2], store) as StoredDoc<T>
    }
  }
  return result
}
