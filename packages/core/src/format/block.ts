import * as dagCbor from '@ipld/dag-cbor'
import { decodeDagCbor } from './dag-cbor-decode.js'
import { encodeDagCbor } from './dag-cbor-encode.js'
import { CID } from 'multiformats/cid'
import { sha256Cid } from '../kit/sha256-cid.js'

/**
 * A dag-cbor block addressed by a CIDv1 with sha2-256: clock events, tree nodes and file headers. The
 * encoding is canonical (dag-cbor sorts map keys), so one value always has one CID.
 */
export interface Block<T = unknown> {
  readonly cid: CID
  readonly bytes: Uint8Array
  readonly value: T
}

export async function encodeBlock<T>(value: T): Promise<Block<T>> {
  const bytes = encodeDagCbor(value)
  return { cid: await sha256Cid(dagCbor.code, bytes), bytes, value }
}

/** Decodes bytes that were already verified against `cid`. */
export function decodeBlock<T>(cid: CID, bytes: Uint8Array): Block<T> {
  return { cid, bytes, value: decodeDagCbor<T>(bytes) }
}

export { CID }
