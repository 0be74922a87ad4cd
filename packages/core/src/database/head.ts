import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from '../blockstore/block.js'
import type { Storage } from '../storage/api.js'

/**
 * Where a replica stands: the clock heads, the file holding each head event (a reader's way in), the root of
 * the document tree at those heads, and their height. Kept locally per branch and, encrypted, as a remote
 * meta entry.
 */
export interface HeadState {
  heads: CID[]
  files: string[]
  root: CID
  height: number
}

const record = (branch: string) => `head.${branch}`

export async function readHead(storage: Storage, branch: string): Promise<HeadState | undefined> {
  const bytes = await storage.readRecord(record(branch))
  return bytes ? decodeHead(bytes) : undefined
}

export async function writeHead(storage: Storage, branch: string, head: HeadState): Promise<void> {
  await storage.writeRecord(record(branch), encodeHead(head))
}

export function encodeHead(head: HeadState): Uint8Array {
  return dagCbor.encode({ heads: head.heads, files: head.files, root: head.root, height: head.height })
}

export function decodeHead(bytes: Uint8Array): HeadState {
  const value = dagCbor.decode(bytes) as HeadState
  if (!Array.isArray(value.heads) || !Array.isArray(value.files) || typeof value.height !== 'number' || !value.root) {
    throw new TypeError('Malformed head record')
  }
  return value
}
