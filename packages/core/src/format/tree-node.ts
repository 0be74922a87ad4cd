import * as dagCbor from '@ipld/dag-cbor'
import { sha256 } from 'multiformats/hashes/sha2'
import { IntegrityError } from '../errors.js'
import { CID, encodeBlock, type Block } from './block.js'

/** A document body as stored: the doc without `_id`, or null for a deletion (a tombstone). */
export type Body = Record<string, unknown> | null

/** One version of a document: the height of the clock event that wrote it, and its body. */
export type Version = [height: number, body: Body]

/**
 * What an entry knows beyond its winning version: `c`, the concurrent versions that lost (conflicts, winner
 * order), and `s`, the versions it supersedes as [height, digest] (sorted), so a later merge can tell a
 * version someone overwrote from one written concurrently. Absent when both are empty.
 */
export interface EntryMeta {
  c?: Version[]
  s?: [number, number][]
}

/**
 * One key of the document map: [id, height of the clock event that wrote it, body, meta?].
 * Tombstones stay, so merges of replicas that have and have not seen a delete agree.
 */
export type Entry = [id: string, height: number, body: Body, meta?: EntryMeta]

/**
 * Prolly tree nodes (document and index trees), dag-cbor blocks `{ l: level, e: entries }`: a leaf (l = 0)
 * holds entries in key order, a branch holds `[last key of the child, child CID]`. Content-addressed, so they
 * carry no version of their own: the header of the file holding them does (see file.ts).
 */
export interface LeafNode {
  l: 0
  e: Entry[]
}
export interface BranchNode {
  l: number
  /** [last key of the child, child CID] */
  e: [string, CID][]
}
export type TreeNode = LeafNode | BranchNode

/**
 * A leaf is encoded from the dag-cbor bytes of its entries, each encoded once and remembered: a write
 * changes one entry of a leaf of ~32, and encoding the other 31 again was most of a single put's CPU
 * (packages/core/bench/sequential-puts.ts). CBOR is compositional, so the bytes are exactly dag-cbor's
 * encoding of `{ e: entries, l: 0 }` (keys "e" < "l"; test/format.test.ts checks it on random leaves).
 */
export async function encodeTreeNode(node: TreeNode): Promise<Block<TreeNode>> {
  if (node.l !== 0) return encodeBlock<TreeNode>(node)
  const parts = (node as LeafNode).e.map(encodedEntry)
  const count = arrayHeader(parts.length)
  let size = LEAF_PREFIX.length + count.length + LEAF_SUFFIX.length
  for (const part of parts) size += part.length
  const bytes = new Uint8Array(size)
  bytes.set(LEAF_PREFIX, 0)
  bytes.set(count, LEAF_PREFIX.length)
  let at = LEAF_PREFIX.length + count.length
  for (const part of parts) {
    bytes.set(part, at)
    at += part.length
  }
  bytes.set(LEAF_SUFFIX, at)
  return { cid: CID.createV1(dagCbor.code, await sha256.digest(bytes)), bytes, value: node }
}

/** map(2), text "e", then the entries array; and after it text "l", unsigned 0. */
const LEAF_PREFIX = Uint8Array.of(0xa2, 0x61, 0x65)
const LEAF_SUFFIX = Uint8Array.of(0x61, 0x6c, 0x00)

const entryBytes = new WeakMap<Entry, Uint8Array>()

function encodedEntry(entry: Entry): Uint8Array {
  let bytes = entryBytes.get(entry)
  if (!bytes) entryBytes.set(entry, (bytes = dagCbor.encode(entry)))
  return bytes
}

/** A CBOR array header (major type 4) of the shortest form, as dag-cbor requires. */
function arrayHeader(length: number): Uint8Array {
  if (length < 24) return Uint8Array.of(0x80 + length)
  if (length < 0x100) return Uint8Array.of(0x98, length)
  if (length < 0x10000) return Uint8Array.of(0x99, length >> 8, length & 0xff)
  return Uint8Array.of(0x9a, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff)
}

const checked = new WeakSet<object>()

/** The decoded value of block `cid` as a tree node, or an IntegrityError naming the block and what is wrong. */
export function decodeTreeNode(value: unknown, cid: CID | string): TreeNode {
  if (value !== null && typeof value === 'object' && checked.has(value)) return value as TreeNode
  const node = value as Partial<TreeNode> | null
  if (node === null || typeof node !== 'object' || !Number.isInteger(node.l) || node.l! < 0 || !Array.isArray(node.e)) {
    throw new IntegrityError(String(cid), 'block is not a tree node { l: level, e: entries }')
  }
  const bad = node.l === 0 ? node.e.findIndex((entry) => !isEntry(entry)) : node.e.findIndex((ref) => !isRef(ref))
  if (bad >= 0) {
    throw new IntegrityError(
      String(cid),
      node.l === 0
        ? `tree leaf entry ${bad} is not [id, height, body, { c?, s? }?]`
        : `tree branch entry ${bad} is not [last key, child CID]`,
    )
  }
  checked.add(node)
  return node as TreeNode
}

export function isEntry(entry: unknown): boolean {
  if (!Array.isArray(entry) || entry.length < 3 || entry.length > 4) return false
  const [id, height, body, meta] = entry as unknown[]
  if (typeof id !== 'string' || !Number.isInteger(height) || !isBody(body)) return false
  if (entry.length === 3) return true
  if (meta === null || typeof meta !== 'object') return false
  const { c, s } = meta as EntryMeta
  return (
    (c === undefined || (Array.isArray(c) && c.every((v) => Array.isArray(v) && v.length === 2 && Number.isInteger(v[0]) && isBody(v[1])))) &&
    (s === undefined || (Array.isArray(s) && s.every((p) => Array.isArray(p) && p.length === 2 && Number.isInteger(p[0]) && Number.isInteger(p[1]))))
  )
}

function isBody(body: unknown): boolean {
  return body === null || (typeof body === 'object' && !Array.isArray(body) && !(body instanceof Uint8Array) && CID.asCID(body) === null)
}

function isRef(ref: unknown): boolean {
  return Array.isArray(ref) && ref.length === 2 && typeof ref[0] === 'string' && CID.asCID(ref[1]) !== null
}
