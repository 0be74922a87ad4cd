import * as dagCbor from '@ipld/dag-cbor'

/** A document body as stored: the doc without `_id`, or null for a deletion (a tombstone). */
export type Body = Record<string, unknown> | null

/**
 * One key of the document map: [id, height of the clock event that wrote it, body].
 * Tombstones stay, so merges of replicas that have and have not seen a delete agree.
 */
export type Entry = [id: string, height: number, body: Body]

/**
 * The deterministic winner between two versions of one id: the higher clock height (a write that saw the
 * other always has a higher height), then the larger encoded body. Commutative, so merge order never matters.
 */
export function wins(a: Entry, b: Entry): boolean {
  if (a[1] !== b[1]) return a[1] > b[1]
  return compareBytes(dagCbor.encode(a[2]), dagCbor.encode(b[2])) > 0
}

export function sameEntry(a: Entry, b: Entry): boolean {
  return a[1] === b[1] && compareBytes(dagCbor.encode(a[2]), dagCbor.encode(b[2])) === 0
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
