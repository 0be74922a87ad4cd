import { CID } from 'multiformats/cid'
import { create as createDigest, Digest } from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'

/**
 * The CIDv1 (sha2-256) of `bytes` under the codec `code`: equal to
 * `CID.createV1(code, await sha256.digest(bytes))`, built on one 36-byte buffer that the CID's bytes, its
 * multihash and its digest all view. `CID.createV1` allocates three (the hash's output, the multihash, the
 * CID's bytes), each its own ArrayBuffer: per single put that was ~1 KB kept per retained CID and a tenth of
 * what a put allocates. Node hashes synchronously (node:crypto); the browser's WebCrypto answers a promise.
 */
export function sha256Cid(code: number, bytes: Uint8Array): CID | Promise<CID> {
  const digest = sha256.encode(bytes)
  return digest instanceof Uint8Array ? cidOf(code, digest) : digest.then((d) => cidOf(code, d))
}

const SHA256 = 0x12
const DIGEST_BYTES = 32

function cidOf(code: number, digest: Uint8Array): CID {
  // Codecs of one varint byte (dag-cbor 0x71, raw 0x55); any other takes the library's way.
  if (code >= 0x80 || digest.length !== DIGEST_BYTES) return CID.createV1(code, createDigest(SHA256, digest))
  const bytes = new Uint8Array(4 + DIGEST_BYTES)
  bytes[0] = 1
  bytes[1] = code
  bytes[2] = SHA256
  bytes[3] = DIGEST_BYTES
  bytes.set(digest, 4)
  return cidV1(bytes)
}

/**
 * The CID whose bytes are `bytes`, a CIDv1 of sha2-256 with a one-byte codec (the caller checked the shape),
 * kept as they are: the CID, its multihash and its digest view them, where `CID.decode` copies them.
 */
export function cidV1(bytes: Uint8Array): CID {
  const multihash = bytes.subarray(2)
  return new CID(1, bytes[1]!, new Digest(SHA256, DIGEST_BYTES, multihash.subarray(2), multihash), bytes) as CID
}
