import type { CID } from '../blockstore/block.js'
import type { Body } from '../crdt/entry.js'
import type { RangeSource } from './indexer.js'

/**
 * The index of an unnamed map function: kept in memory for that function object only (never persisted, so
 * it can never answer for another closure with the same source), and updated by the same tree diffs as a
 * persisted index. Updates make a new sorted key list instead of changing the one a running query reads.
 */
export class MemoryIndex {
  #rows = new Map<string, Exclude<Body, null>>()
  #keys: string[] = []

  constructor(public docRoot: CID) {}

  /** Applies index changes (null: the row is gone) and records the document tree they bring it to. */
  apply(updates: Map<string, Body>, docRoot: CID): void {
    this.docRoot = docRoot
    if (updates.size === 0) return
    const rows = new Map(this.#rows)
    const added: string[] = []
    for (const [key, body] of updates) {
      if (body === null) rows.delete(key)
      else if (!rows.has(key)) added.push(key)
      if (body !== null) rows.set(key, body)
    }
    added.sort()
    // Merge the kept keys (already sorted) with the added ones (sorted), dropping removed keys.
    const keys: string[] = []
    let i = 0
    for (const key of this.#keys) {
      if (!rows.has(key)) continue
      while (i < added.length && added[i]! < key) keys.push(added[i++]!)
      keys.push(key)
    }
    while (i < added.length) keys.push(added[i++]!)
    this.#rows = rows
    this.#keys = keys
  }

  /** The index as it is now, for one query: later updates do not change what it reads. */
  snapshot(): { docRoot: CID; range: RangeSource } {
    const keys = this.#keys
    const rows = this.#rows
    return {
      docRoot: this.docRoot,
      *range(gte, lt, reverse) {
        const start = gte === undefined ? 0 : lowerBound(keys, gte)
        const end = lt === undefined ? keys.length : lowerBound(keys, lt)
        if (reverse) for (let i = end - 1; i >= start; i--) yield [keys[i]!, 0, rows.get(keys[i]!)!]
        else for (let i = start; i < end; i++) yield [keys[i]!, 0, rows.get(keys[i]!)!]
      },
    }
  }
}

/** The first index whose key is >= `key`. */
function lowerBound(keys: string[], key: string): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (keys[mid]! < key) lo = mid + 1
    else hi = mid
  }
  return lo
}
