import { base58btc } from 'multiformats/bases/base58'
import { sha256 } from 'multiformats/hashes/sha2'
import { randomBytes } from './random.js'

/**
 * A database key: 256 random bits, an 8-byte id (a hash prefix, not the key), and its WebCrypto handle, made
 * on first use: in Node only inputs past crypto/aes-gcm.ts's synchronous limit go through WebCrypto, and its
 * first importKey costs 7-10 ms, most of a cold open's budget.
 */
export interface DatabaseKey {
  readonly raw: Uint8Array
  readonly id: Uint8Array
  cryptoKey(): Promise<CryptoKey>
}

const KEY_LENGTH = 32
const KEY_ID_PREFIX = new TextEncoder().encode('proj key id v1:')

export function generateKeyBytes(): Uint8Array {
  return randomBytes(KEY_LENGTH)
}

export async function importKey(raw: Uint8Array): Promise<DatabaseKey> {
  if (raw.length !== KEY_LENGTH) throw new TypeError(`A database key must be ${KEY_LENGTH} bytes, got ${raw.length}`)
  // The hash alone (`encode`), not a multihash (`digest`): building one ran the varint code, which nothing
  // else on a cold open + get runs.
  const digest = await sha256.encode(concat(KEY_ID_PREFIX, raw))
  let imported: Promise<CryptoKey> | undefined
  const cryptoKey = () =>
    (imported ??= globalThis.crypto.subtle.importKey('raw', raw as BufferSource, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']))
  return { raw, id: digest.subarray(0, 8), cryptoKey }
}

/** The string form of a key (base58btc multibase, 'z…'), as `exportKey()` returns and `{ key }` accepts. */
export function keyToString(raw: Uint8Array): string {
  return base58btc.encode(raw)
}

/**
 * Parses the string form of a key. Errors say what is wrong (type, length, alphabet) but never echo the
 * text: a mistyped key is still mostly key material, and error messages end up in logs.
 */
export function keyFromString(text: unknown): Uint8Array {
  if (typeof text !== 'string') throw new TypeError(`A database key must be a string, got ${describe(text)}`)
  const expected = "an exportKey() string: 'z' and 43-44 base58btc characters (digits 1-9, letters without 0, O, I, l)"
  if (!text.startsWith('z')) {
    throw new TypeError(`Not a database key: it ${text.length ? 'does not start with \'z\'' : 'is empty'}; expected ${expected}`)
  }
  const bad = [...text.slice(1)].findIndex((c) => !BASE58.includes(c))
  if (bad >= 0) {
    throw new TypeError(
      `Not a database key: character ${bad + 2} of ${text.length} is not a base58btc character; expected ${expected}`,
    )
  }
  let raw: Uint8Array
  try {
    raw = base58btc.decode(text)
  } catch {
    throw new TypeError(`Not a database key: its ${text.length} characters do not decode; expected ${expected}`)
  }
  if (raw.length !== KEY_LENGTH) {
    throw new TypeError(
      `Not a database key: its ${text.length} characters decode to ${raw.length} bytes, not ${KEY_LENGTH}; expected ${expected}`,
    )
  }
  return raw
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value
}
