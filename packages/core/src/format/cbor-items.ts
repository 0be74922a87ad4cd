import { encodeDagCbor } from './dag-cbor-encode.js'

/**
 * dag-cbor built from parts: CBOR is compositional, so an array's bytes are its head followed by its items'
 * bytes. The items of tree nodes and delta events (entries, refs) are encoded once and remembered by object:
 * a write changes one item of a node of ~32, and the entries a delta event carries are the ones the next
 * checkpoint's leaves carry (test/format.test.ts checks the bytes against the library's encoder).
 */
const itemBytes = new WeakMap<object, Uint8Array>()

export function encodedItem(item: object): Uint8Array {
  let bytes = itemBytes.get(item)
  if (!bytes) itemBytes.set(item, (bytes = encodeDagCbor(item)))
  return bytes
}

/** A CBOR head of major type `major` and argument `value` in the shortest form, as dag-cbor requires. */
export function cborHead(major: number, value: number): Uint8Array {
  const type = major << 5
  if (value < 24) return Uint8Array.of(type | value)
  if (value < 0x100) return Uint8Array.of(type | 24, value)
  if (value < 0x10000) return Uint8Array.of(type | 25, value >> 8, value & 0xff)
  return Uint8Array.of(type | 26, (value >>> 24) & 0xff, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff)
}

/**
 * dag-cbor's link to `cid`: tag 42 over the CID's bytes after a 0x00 prefix. Undefined for a CID whose length
 * does not take exactly one length byte (none this database writes): the caller encodes it generically.
 */
export function cborLink(cid: { bytes: Uint8Array }): Uint8Array | undefined {
  const bytes = cid.bytes
  if (bytes.length + 1 < 24 || bytes.length + 1 > 0xff) return undefined
  const out = new Uint8Array(5 + bytes.length)
  out[0] = 0xd8
  out[1] = 0x2a
  out[2] = 0x58
  out[3] = bytes.length + 1
  out[4] = 0x00
  out.set(bytes, 5)
  return out
}

/** `parts` written one after the other into one array. */
export function joinParts(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0
  for (let i = 0; i < parts.length; i++) size += parts[i]!.length
  const bytes = new Uint8Array(size)
  let at = 0
  for (let i = 0; i < parts.length; i++) {
    bytes.set(parts[i]!, at)
    at += parts[i]!.length
  }
  return bytes
}
