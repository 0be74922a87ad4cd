import { IntegrityError } from '../errors.js'
import { blockOfBytes, blockOfBytesNow, CID, type Block } from './block.js'
import { cborHead, encodedItem } from './cbor-items.js'

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
 * A node is encoded from the dag-cbor bytes of its items (leaf entries, branch refs), each encoded once and
 * remembered: a write changes one item of a node of ~32, and encoding the other 31 again was most of a
 * single put's CPU (packages/core/bench/sequential-puts.ts). CBOR is compositional, so the bytes are exactly
 * dag-cbor's encoding of `{ e: items, l: level }` (keys "e" < "l"; test/format.test.ts checks it on random
 * leaves and the pinned branch).
 */
export function encodeTreeNode(node: TreeNode): Promise<Block<TreeNode>> {
  let bytes: Uint8Array
  try {
    bytes = treeNodeBytes(node)
  } catch (error) {
    return Promise.reject(error)
  }
  return blockOfBytes(node, bytes)
}

/** `encodeTreeNode` done before returning, or undefined where hashing answers with a promise (WebCrypto). */
export function encodeTreeNodeNow(node: TreeNode): Block<TreeNode> | undefined {
  return blockOfBytesNow(node, treeNodeBytes(node))
}

function treeNodeBytes(node: TreeNode): Uint8Array {
  const parts = (node.e as object[]).map(encodedItem)
  const count = cborHead(4, parts.length)
  const level = cborHead(0, node.l)
  let size = NODE_PREFIX.length + count.length + LEVEL_KEY.length + level.length
  for (const part of parts) size += part.length
  const bytes = new Uint8Array(size)
  bytes.set(NODE_PREFIX, 0)
  bytes.set(count, NODE_PREFIX.length)
  let at = NODE_PREFIX.length + count.length
  for (const part of parts) {
    bytes.set(part, at)
    at += part.length
  }
  bytes.set(LEVEL_KEY, at)
  bytes.set(level, at + LEVEL_KEY.length)
  return bytes
}

/** map(2), text "e" (then the items array), and text "l" (then the level). */
const NODE_PREFIX = Uint8Array.of(0xa2, 0x61, 0x65)
const LEVEL_KEY = Uint8Array.of(0x61, 0x6c)

/**
 * Whether the bytes of a tree node are a leaf that links nothing (no attachment), told without decoding it: a
 * node ends with its level (`"l": 0` is the three bytes 61 6c 00), and every link in dag-cbor is tag 42
 * (d8 2a). The pair may also occur inside a string or a number, which only sends the caller to the full
 * decode; a link never goes unseen. A compaction walks every leaf of the database this way: decoding them
 * was a third of what a 100 000-document bulk load allocated.
 */
export function isLinklessLeaf(bytes: Uint8Array): boolean {
  const n = bytes.length
  if (n < 3 || bytes[n - 3] !== 0x61 || bytes[n - 2] !== 0x6c || bytes[n - 1] !== 0x00) return false
  for (let i = bytes.indexOf(0xd8); i >= 0 && i < n - 1; i = bytes.indexOf(0xd8, i + 1)) {
    if (bytes[i + 1] === 0x2a) return false
  }
  return true
}

/**
 * The live entries (body not null) of a leaf, counted from its bytes without decoding it, or undefined for
 * bytes that are not a leaf as this module writes them (`{ "e": [entries], "l": 0 }`, definite lengths), which
 * the caller then decodes. `info()` counts every document this way: decoding every leaf to count them held
 * several times the database's size as objects.
 */
export function countLiveEntries(bytes: Uint8Array): number | undefined {
  const n = bytes.length
  // a2 61 65 ("e") ... 61 6c 00 ("l": 0)
  if (n < 7 || bytes[0] !== 0xa2 || bytes[1] !== 0x61 || bytes[2] !== 0x65) return undefined
  if (bytes[n - 3] !== 0x61 || bytes[n - 2] !== 0x6c || bytes[n - 1] !== 0x00) return undefined
  try {
    const entries = cborHeadAt(bytes, 3)
    if (entries.major !== 4) return undefined
    let at = entries.next
    let live = 0
    for (let i = 0; i < entries.argument; i++) {
      const entry = cborHeadAt(bytes, at)
      if (entry.major !== 4 || entry.argument < 3) return undefined
      at = skipCborItem(bytes, skipCborItem(bytes, entry.next, 0), 0)
      if (bytes[at] !== 0xf6) live++
      at = skipCborItem(bytes, at, 0)
      for (let k = 3; k < entry.argument; k++) at = skipCborItem(bytes, at, 0)
    }
    return at === n - 3 ? live : undefined
  } catch {
    return undefined
  }
}

/** A CBOR item's head at `at`: major type, argument (a length, a value, or a simple value's code), where it ends. */
function cborHeadAt(bytes: Uint8Array, at: number): { major: number; argument: number; next: number } {
  const head = bytes[at]
  if (head === undefined) throw new RangeError('cut off')
  const major = head >> 5
  const info = head & 31
  if (info < 24) return { major, argument: info, next: at + 1 }
  const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0
  if (size === 0 || at + 1 + size > bytes.length) throw new RangeError('indefinite length or cut off')
  let argument = 0
  // A 64-bit argument is only a number's value or a float's bits: kept approximate, never used as a length.
  for (let k = 1; k <= size; k++) argument = argument * 256 + bytes[at + k]!
  if (size === 8 && major !== 0 && major !== 1 && major !== 7) throw new RangeError('64-bit length')
  return { major, argument, next: at + 1 + size }
}

/** Where the CBOR item at `at` ends (nested items included). */
function skipCborItem(bytes: Uint8Array, at: number, depth: number): number {
  if (depth > 256) throw new RangeError('too deep')
  const { major, argument, next } = cborHeadAt(bytes, at)
  switch (major) {
    case 2:
    case 3:
      if (next + argument > bytes.length) throw new RangeError('cut off')
      return next + argument
    case 4:
    case 5: {
      let end = next
      const items = major === 4 ? argument : argument * 2
      for (let i = 0; i < items; i++) end = skipCborItem(bytes, end, depth + 1)
      return end
    }
    case 6:
      return skipCborItem(bytes, next, depth + 1)
    default:
      // Integers, and simple values and floats (their bytes are the head's argument).
      return next
  }
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
  // Indexed, not destructured: array destructuring runs the iterator protocol, per entry of every leaf a
  // cold open checks, in a JIT that has not warmed up.
  const height: unknown = entry[1]
  if (typeof entry[0] !== 'string' || !Number.isInteger(height) || !isBody(entry[2])) return false
  if (entry.length === 3) return true
  const meta: unknown = entry[3]
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
