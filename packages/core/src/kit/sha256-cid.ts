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
  const digest = sha256Now ? sha256Now('sha256', bytes, 'buffer') : sha256.encode(bytes)
  return digest instanceof Uint8Array ? cidOf(code, digest) : digest.then((d) => cidOf(code, d))
}

/**
 * node:crypto's one-shot `hash()` (Node >= 20.12), where the library's Node hasher makes a Hash object per call:
 * 0.85 against 1.34 µs for a 250-byte block and 1.07 against 1.59 µs for 700 bytes (best of 30 rounds, warm),
 * and a single put hashes three or four blocks and its file. Reached through `process.getBuiltinModule` so
 * that this module stays free of Node imports; the browser has neither and keeps the library's (WebCrypto).
 */
const sha256Now = (() => {
  const node = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  const crypto = node?.getBuiltinModule?.('node:crypto') as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Uint8Array } | undefined
  return typeof crypto?.hash === 'function' ? crypto.hash : undefined
})()

/** Whether hashing answers before returning here (node:crypto), not with a promise (WebCrypto, the browser). */
export const hashesNow: boolean = sha256Now !== undefined || !(sha256.encode(new Uint8Array(0)) instanceof Promise)

const SHA256 = 0x12
const DIGEST_BYTES = 32

function cidOf(code: number, digest: Uint8Array): CID {
  // Codecs of one varint byte (dag-cbor 0x71, raw 0x55); any other takes the library's way.
  if (code >= 0x80 || digest.length !== DIGEST_BYTES) {
    // A plain Uint8Array view, as the library's hasher gives (node:crypto's is a Buffer).
    return CID.createV1(code, createDigest(SHA256, new Uint8Array(digest.buffer, digest.byteOffset, digest.length)))
  }
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
  return new Base32CidV1(1, bytes[1]!, new Digest(SHA256, DIGEST_BYTES, multihash.subarray(2), multihash), bytes) as CID
}

/**
 * A CID whose default spelling (base32, what names blocks and files) is written by `base32Text` and kept in a
 * private field: the library's encoder runs a bit loop per character and caches the string in a WeakMap of
 * Maps, and a cold open + get spells ~80 CIDs (the block store keys blocks by them) before the JIT has warmed
 * up (~0.5-1 ms of it, bench/cold-open-probe.ts). Any other base is the library's; the string is the same
 * (test/cold-cid-text.test.ts). It stays a CID to every check: `instanceof CID`, `constructor === CID` (set
 * below, so toStrictEqual and code that compares constructors see the library's class), and its fields are the
 * library's (the kept string is private).
 */
class Base32CidV1 extends CID {
  #text: string | undefined = undefined
  override toString(base?: Parameters<CID['toString']>[0]): ReturnType<CID['toString']> {
    if (base !== undefined && base.prefix !== 'b') return super.toString(base)
    return (this.#text ??= base32Text(this.bytes)) as ReturnType<CID['toString']>
  }
}
Object.defineProperty(Base32CidV1.prototype, 'constructor', { value: CID, writable: true, configurable: true })

/** RFC 4648 base32, lower case, no padding. */
const BASE32 = Uint8Array.from('abcdefghijklmnopqrstuvwxyz234567', (c) => c.charCodeAt(0))

/**
 * The character codes of the string being spelled: a plain array of small integers, reused. `apply` passes a
 * plain array's elements as they are, where a typed array is first copied into a new list (~750 B per CID
 * string, two or three per single put).
 */
const chars: number[] = []

/** The multibase base32 string of `bytes` ('b' and RFC 4648 base32, as multiformats' base32 encoder writes it). */
export function base32Text(bytes: Uint8Array): string {
  const n = bytes.length
  chars.length = 1 + Math.ceil((n * 8) / 5)
  chars[0] = 0x62 // 'b'
  let o = 1
  let i = 0
  // Five bytes are eight characters: straight-line code, which an unwarmed JIT runs several times faster than a
  // loop over each bit group.
  for (; i + 5 <= n; i += 5) {
    const b0 = bytes[i]!
    const b1 = bytes[i + 1]!
    const b2 = bytes[i + 2]!
    const b3 = bytes[i + 3]!
    const b4 = bytes[i + 4]!
    chars[o] = BASE32[b0 >> 3]!
    chars[o + 1] = BASE32[((b0 & 7) << 2) | (b1 >> 6)]!
    chars[o + 2] = BASE32[(b1 >> 1) & 31]!
    chars[o + 3] = BASE32[((b1 & 1) << 4) | (b2 >> 4)]!
    chars[o + 4] = BASE32[((b2 & 15) << 1) | (b3 >> 7)]!
    chars[o + 5] = BASE32[(b3 >> 2) & 31]!
    chars[o + 6] = BASE32[((b3 & 3) << 3) | (b4 >> 5)]!
    chars[o + 7] = BASE32[b4 & 31]!
    o += 8
  }
  let buffer = 0
  let bits = 0
  for (; i < n; i++) {
    buffer = ((buffer & 0xff) << 8) | bytes[i]!
    bits += 8
    while (bits >= 5) {
      bits -= 5
      chars[o++] = BASE32[(buffer >>> bits) & 31]!
    }
  }
  if (bits > 0) chars[o++] = BASE32[(buffer << (5 - bits)) & 31]!
  return String.fromCharCode.apply(null, chars)
}
