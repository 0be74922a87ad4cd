import { encodeDagCbor } from '../format/dag-cbor-encode.js'
import type { Body, Entry, EntryMeta, Version } from '../format/tree-node.js'

export type { Body, Entry, EntryMeta, Version }

/**
 * How far (in clock heights) below the winner a superseded or conflicting version is remembered. Older ones
 * are forgotten, which bounds the metadata of a document rewritten often; a conflict with a version written
 * more than HORIZON transactions before the winner is resolved silently (last writer wins).
 */
export const HORIZON = 64

/**
 * The deterministic winner between two concurrent versions of one id (neither saw the other; a version that
 * saw another supersedes it instead, see `joinEntries`): a document beats a deletion, as in CouchDB, so a
 * delete never silently erases a write it did not observe; then the higher clock height; then the larger
 * encoded body. A total order, so merge order never matters.
 */
export function wins(a: Entry, b: Entry): boolean {
  return compareVersions([a[1], a[2]], [b[1], b[2]]) > 0
}

function compareVersions(a: Version, b: Version): number {
  if ((a[1] === null) !== (b[1] === null)) return a[1] === null ? -1 : 1
  if (a[0] !== b[0]) return a[0] - b[0]
  return compareBytes(encodeDagCbor(a[1]), encodeDagCbor(b[1]))
}

/** A 53-bit digest of a version (two 32-bit FNV-1a variants over its dag-cbor bytes). */
export function versionDigest(version: Version): number {
  const bytes = encodeDagCbor(version)
  let a = 0x811c9dc5
  let b = 0x9747b28c
  for (let i = 0; i < bytes.length; i++) {
    a = Math.imul(a ^ bytes[i]!, 0x01000193)
    b = Math.imul(b ^ bytes[i]!, 0x5bd1e995)
    b ^= b >>> 15
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff)
}

function versionsOf(entry: Entry): Version[] {
  return [[entry[1], entry[2]], ...(entry[3]?.c ?? [])]
}

function make(id: string, live: Version[], superseded: [number, number][]): Entry {
  const [winner, ...conflicts] = live
  const meta: EntryMeta = {}
  if (conflicts.length) meta.c = conflicts
  if (superseded.length) meta.s = superseded
  return meta.c || meta.s ? [id, winner![0], winner![1], meta] : [id, winner![0], winner![1]]
}

/**
 * A local write of `body` at `height` over `previous`: it supersedes every version `previous` holds, which
 * resolves its conflicts.
 */
export function writeEntry(id: string, height: number, body: Body, previous: Entry | undefined): Entry {
  if (!previous) return [id, height, body]
  const floor = height - HORIZON
  const superseded = new Map<number, [number, number]>()
  for (const pair of previous[3]?.s ?? []) if (pair[0] >= floor) superseded.set(pair[1], pair)
  for (const version of versionsOf(previous)) {
    if (version[0] >= floor) superseded.set(versionDigest(version), [version[0], versionDigest(version)])
  }
  return make(id, [[height, body]], sortPairs([...superseded.values()]))
}

/**
 * Joins two entries of one id (a multi-value register): the live versions are those of both sides that
 * neither side supersedes; the highest wins (see `wins`) and the others are its conflicts. It depends only on
 * the union of what both sides know (pruned by a threshold that only rises), so it is commutative,
 * associative and idempotent: replicas converge whatever the merge order.
 */
export function joinEntries(a: Entry, b: Entry): Entry {
  const versions = new Map<number, Version>()
  for (const version of [...versionsOf(a), ...versionsOf(b)]) versions.set(versionDigest(version), version)
  let top = -Infinity
  for (const [height] of versions.values()) top = Math.max(top, height)
  const floor = top - HORIZON
  const superseded = new Map<number, [number, number]>()
  for (const pair of [...(a[3]?.s ?? []), ...(b[3]?.s ?? [])]) if (pair[0] >= floor) superseded.set(pair[1], pair)
  let live = [...versions].filter(([digest, v]) => !superseded.has(digest) && v[0] >= floor).map(([, v]) => v)
  if (live.length === 0) live = [...versions.values()]
  live.sort((x, y) => compareVersions(y, x))
  return make(a[0], live, sortPairs([...superseded.values()]))
}

function sortPairs(pairs: [number, number][]): [number, number][] {
  return pairs.sort((x, y) => x[0] - y[0] || x[1] - y[1])
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
