import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'

/** A dag-cbor block addressed by a CIDv1 with sha2-256. */
export interface Block<T = unknown> {
  readonly cid: CID
  readonly bytes: Uint8Array
  readonly value: T
}

export async function encodeBlock<T>(value: T): Promise<Block<T>> {
  const bytes = dagCbor.encode(value)
  const digest = await sha256.digest(bytes)
  return { cid: CID.createV1(dagCbor.code, digest), bytes, value }
}

/** Decodes bytes that were already verified against `cid`. */
export function decodeBlock<T>(cid: CID, bytes: Uint8Array): Block<T> {
  return { cid, bytes, value: dagCbor.decode(bytes) as T }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export { CID }
