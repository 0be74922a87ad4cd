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

export function encodeTreeNode(node: TreeNode): Promise<Block<TreeNode>> {
  return encodeBlock<TreeNode>(node)
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

function isEntry(entry: unknown): boolean {
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
