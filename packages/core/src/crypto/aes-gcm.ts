import { createCipheriv, createDecipheriv } from 'node:crypto'
import { aesGcmDecrypt as webDecrypt, aesGcmEncrypt as webEncrypt } from './aes-gcm.browser.js'

/**
 * AES-256-GCM in Node: node:crypto's synchronous cipher for small inputs. WebCrypto runs each call on a
 * worker thread, and for the small files of single writes the hop cost more than the cipher (measured with
 * packages/core/bench/sequential-puts.ts: ~0.25 ms per call, a quarter of a put), and up to 512 KiB (bulk and
 * compaction files) it is faster too (200 KiB: 0.39 ms against 0.70 ms), while a cold open that uses no
 * WebCrypto call also skips its 7-10 ms first key import. Larger inputs (1 MiB attachment chunks) stay on
 * WebCrypto: off the main thread, and one output buffer where node:crypto's update/final/tag need a copy (the
 * 100 MB attachment memory test counts those). The bytes are the same:
 * the ciphertext followed by the 16-byte tag. The browser build (tsup.config.ts) swaps in
 * aes-gcm.browser.ts, which uses WebCrypto only.
 */
const TAG_LENGTH = 16
const SYNC_MAX_BYTES = 512 * 1024

/** Not an async function: the synchronous path (every single put) answers with no step of its own. */
export function aesGcmEncrypt(
  raw: Uint8Array,
  key: () => Promise<CryptoKey>,
  iv: Uint8Array,
  plaintext: Uint8Array,
  additionalData?: Uint8Array,
): Promise<Uint8Array> {
  if (plaintext.length > SYNC_MAX_BYTES) return webEncrypt(raw, key, iv, plaintext, additionalData)
  try {
    return Promise.resolve(aesGcmEncryptNow(raw, iv, plaintext, additionalData)!)
  } catch (error) {
    return Promise.reject(error)
  }
}

/**
 * The ciphertext and tag before returning (a single put's file, sealed in one synchronous step), or undefined
 * when this input is encrypted off the main thread (above SYNC_MAX_BYTES; always in the browser build).
 */
export function aesGcmEncryptNow(raw: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, additionalData?: Uint8Array): Uint8Array | undefined {
  if (plaintext.length > SYNC_MAX_BYTES) return undefined
  const cipher = createCipheriv('aes-256-gcm', raw, iv)
  if (additionalData) cipher.setAAD(additionalData)
  const head = cipher.update(plaintext)
  const tail = cipher.final()
  const out = new Uint8Array(head.length + tail.length + TAG_LENGTH)
  out.set(head, 0)
  out.set(tail, head.length)
  out.set(cipher.getAuthTag(), head.length + tail.length)
  return out
}

/** Throws when the tag does not match (the caller reports an IntegrityError). */
export async function aesGcmDecrypt(
  raw: Uint8Array,
  key: () => Promise<CryptoKey>,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  additionalData?: Uint8Array,
): Promise<Uint8Array> {
  if (ciphertext.length > SYNC_MAX_BYTES) return webDecrypt(raw, key, iv, ciphertext, additionalData)
  if (ciphertext.length < TAG_LENGTH) throw new Error('ciphertext shorter than its tag')
  const decipher = createDecipheriv('aes-256-gcm', raw, iv)
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_LENGTH))
  if (additionalData) decipher.setAAD(additionalData)
  const head = decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_LENGTH))
  const tail = decipher.final()
  if (tail.length === 0) return new Uint8Array(head.buffer, head.byteOffset, head.length)
  const out = new Uint8Array(head.length + tail.length)
  out.set(head, 0)
  out.set(tail, head.length)
  return out
}
