import { CID } from 'multiformats/cid'
import { CorruptRecordError } from '../errors.js'
import { decodeRecordMap, encodeRecord } from './record.js'
import { recordVersion } from './version.js'

/**
 * Where a replica stands: the clock heads, the file holding each head event (a reader's way in), the root of
 * the document tree at those heads when the writer built it, and their height. Kept locally per branch (the
 * head record) and, sealed, as a remote meta entry. A head with no root is a delta event whose tree its
 * writer has not built (database/head-tree.ts): a reader derives it from the events (clock/root.ts).
 */
export interface HeadState {
  heads: CID[]
  files: string[]
  root?: CID
  height: number
}

/**
 * Version 1: `{ v: 1, heads, files, root, height, unmerged? }` (the meta entry has no `unmerged`). Records and
 * entries written before the version field existed have no `v` and read as version 1.
 * Version 2: the same, and `root` may be absent. A head with a root is still written as version 1 (the same
 * bytes as before, readable by version-1 readers); only a head without one, or a record holding one, is 2.
 */
export const HEAD_VERSION = 2

/** The local head record `head.<branch>`: the head, and heads other instances stored that it does not contain. */
export function encodeHeadRecord(head: HeadState, unmerged: HeadState[] = []): Uint8Array {
  const record: Record<string, unknown> = { v: versionFor([head, ...unmerged]), ...plainHead(head) }
  if (unmerged.length) record.unmerged = unmerged.map(plainHead)
  return encodeRecord(record)
}

/** The head first, then the `unmerged` heads. `where` names the record in errors. */
export function decodeHeadRecord(bytes: Uint8Array, where: string): HeadState[] {
  const value = decodeRecordMap(bytes, where)
  const version = recordVersion(value, where, HEAD_VERSION)
  const head = checkHead(value, where, version)
  const unmerged = value.unmerged
  if (unmerged === undefined) return [head]
  if (!Array.isArray(unmerged)) throw new CorruptRecordError(where, 'unmerged is not a list')
  return [head, ...unmerged.map((entry) => checkHead(entry, where, version))]
}

/**
 * The plaintext of a remote meta entry (sealed by sync/meta-entry.ts). After a key rotation it also names the
 * key-epoch file (`keys`, a CID: never a key) that carries the earlier keys, still version 1: earlier readers
 * ignore the field (and cannot open the envelope of a rotated key anyway).
 */
export function encodeMetaEntry(head: HeadState, keyEpochFile?: string): Uint8Array {
  const entry: Record<string, unknown> = { v: versionFor([head]), ...plainHead(head) }
  if (keyEpochFile) entry.keys = CID.parse(keyEpochFile)
  return encodeRecord(entry)
}

export function decodeMetaEntry(bytes: Uint8Array, where: string): HeadState {
  return decodeMetaEntryWithKeys(bytes, where).head
}

/** The head, and the key-epoch file the entry names (if any). */
export function decodeMetaEntryWithKeys(bytes: Uint8Array, where: string): { head: HeadState; keyEpochFile?: string } {
  const value = decodeRecordMap(bytes, where)
  const head = checkHead(value, where, recordVersion(value, where, HEAD_VERSION))
  if (value.keys === undefined) return { head }
  const keys = CID.asCID(value.keys)
  if (!keys) throw new CorruptRecordError(where, 'its keys field is not the CID of a key-epoch file')
  return { head, keyEpochFile: keys.toString() }
}

/** The oldest version that holds `heads`: 2 when one of them has no root. */
function versionFor(heads: HeadState[]): number {
  return heads.every((head) => head.root) ? 1 : 2
}

function plainHead(head: HeadState): HeadState {
  const plain: HeadState = { heads: head.heads, files: head.files, height: head.height }
  if (head.root) plain.root = head.root
  return plain
}

function checkHead(value: unknown, where: string, version: number): HeadState {
  const head = value as Partial<HeadState> | null
  const ok =
    head !== null &&
    typeof head === 'object' &&
    Array.isArray(head.heads) &&
    head.heads.every((cid) => CID.asCID(cid) !== null) &&
    Array.isArray(head.files) &&
    head.files.length === head.heads.length &&
    head.files.every((file) => typeof file === 'string') &&
    (CID.asCID(head.root) !== null || (version >= 2 && head.root === undefined)) &&
    typeof head.height === 'number'
  if (!ok) throw new CorruptRecordError(where, version >= 2 ? 'not a head (heads, files, root?, height)' : 'not a head (heads, files, root, height)')
  return plainHead(head as HeadState)
}
