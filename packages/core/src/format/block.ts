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

/** Not an async function: Node hashes synchronously, and a put encodes two or three blocks. */
export function encodeBlock<T>(value: T): Promise<Block<T>> {
  let bytes: Uint8Array
  try {
    bytes = encodeDagCbor(value)
  } catch (error) {
    return Promise.reject(error)
  }
  return blockOfBytes(value, bytes)
}

/** `encodeBlock` done before returning, or undefined where hashing answers with a promise (WebCrypto). */
export function encodeBlockNow<T>(value: T): Block<T> | undefined {
  return blockOfBytesNow(value, encodeDagCbor(value))
}

/** The block of `value` from its dag-cbor `bytes`, built by the caller from parts (format/cbor-items.ts). */
export function blockOfBytes<T>(value: T, bytes: Uint8Array): Promise<Block<T>> {
  let cid: CID | Promise<CID>
  try {
    cid = sha256Cid(dagCbor.code, bytes)
  } catch (error) {
    return Promise.reject(error)
  }
  return cid instanceof Promise ? cid.then((hashed) => ({ cid: hashed, bytes, value })) : Promise.resolve({ cid, bytes, value })
}

/** `blockOfBytes` done before returning, or undefined where hashing answers with a promise (WebCrypto). */
export function blockOfBytesNow<T>(value: T, bytes: Uint8Array): Block<T> | undefined {
  const cid = sha256Cid(dagCbor.code, bytes)
  return cid instanceof Promise ? undefined : { cid, bytes, value }
}

/** Decodes bytes that were already verified against `cid`. */
export function decodeBlock<T>(cid: CID, bytes: Uint8Array): Block<T> {
  return { cid, bytes, value: decodeDagCbor<T>(bytes) }
}

/**
 * A verified block whose value is decoded when first read: for what passes blocks along by their bytes (a
 * compaction copying the leaves of a database into new files) without building objects nobody reads.
 */
export function undecodedBlock<T>(cid: CID, bytes: Uint8Array): Block<T> {
  return new UndecodedBlock<T>(cid, bytes)
}

class UndecodedBlock<T> implements Block<T> {
  #value: T | undefined = undefined
  #decoded = false

  constructor(
    readonly cid: CID,
    readonly bytes: Uint8Array,
  ) {}

  get value(): T {
    if (!this.#decoded) {
      this.#value = decodeDagCbor<T>(this.bytes)
      this.#decoded = true
    }
    return this.#value as T
  }
}

export { CID }
