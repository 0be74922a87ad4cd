import { base58btc } from 'multiformats/bases/base58'

/** A database key: 256 random bits, its WebCrypto handle and an 8-byte id (a hash prefix, not the key). */
export interface DatabaseKey {
  readonly raw: Uint8Array
  readonly id: Uint8Array
  readonly cryptoKey: CryptoKey
}

const KEY_LENGTH = 32

export function generateKeyBytes(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(KEY_LENGTH))
}

export async function importKey(raw: Uint8Array): Promise<DatabaseKey> {
  if (raw.length !== KEY_LENGTH) throw new TypeError(`A database key must be ${KEY_LENGTH} bytes, got ${raw.length}`)
  const cryptoKey = await globalThis.crypto.subtle.importKey('raw', raw as BufferSource, { name: 'AES-GCM' }, false, [
    'encrypt',
    'decrypt',
  ])
  const digest = new Uint8Array(
    await globalThis.crypto.subtle.digest('SHA-256', concat(new TextEncoder().encode('proj key id v1:'), raw) as BufferSource),
  )
  return { raw, id: digest.subarray(0, 8), cryptoKey }
}

/** The string form of a key (base58btc multibase, 'z…'), as `exportKey()` returns and `{ key }` accepts. */
export function keyToString(raw: Uint8Array): string {
  return base58btc.encode(raw)
}

export function keyFromString(text: unknown): Uint8Array {
  if (typeof text !== 'string') throw new TypeError(`A database key must be a string, got ${describe(text)}`)
  let raw: Uint8Array
  try {
    raw = base58btc.decode(text)
  } catch {
    throw new TypeError(`Not a database key: ${JSON.stringify(text.length > 20 ? text.slice(0, 20) + '…' : text)}`)
  }
  if (raw.length !== KEY_LENGTH) {
    throw new TypeError(`Not a database key: decodes to ${raw.length} bytes, expected ${KEY_LENGTH}`)
  }
  return raw
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value
}
