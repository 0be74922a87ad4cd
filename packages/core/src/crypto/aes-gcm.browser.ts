/**
 * AES-256-GCM in the browser: WebCrypto. The Node build uses aes-gcm.ts (node:crypto, synchronous); the
 * browser build (tsup.config.ts) resolves `./aes-gcm.js` to this module. Same bytes: ciphertext, then tag.
 */
export async function aesGcmEncrypt(
  _raw: Uint8Array,
  key: () => Promise<CryptoKey>,
  iv: Uint8Array,
  plaintext: Uint8Array,
  additionalData?: Uint8Array,
): Promise<Uint8Array> {
  const params: AesGcmParams = { name: 'AES-GCM', iv: iv as BufferSource }
  if (additionalData) params.additionalData = additionalData as BufferSource
  return new Uint8Array(await globalThis.crypto.subtle.encrypt(params, await key(), plaintext as BufferSource))
}

/** WebCrypto answers only with a promise: nothing is encrypted synchronously here (see aes-gcm.ts). */
export function aesGcmEncryptNow(_raw: Uint8Array, _iv: Uint8Array, _plaintext: Uint8Array, _additionalData?: Uint8Array): Uint8Array | undefined {
  return undefined
}

/** Throws when the tag does not match (the caller reports an IntegrityError). */
export async function aesGcmDecrypt(
  _raw: Uint8Array,
  key: () => Promise<CryptoKey>,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  additionalData?: Uint8Array,
): Promise<Uint8Array> {
  const params: AesGcmParams = { name: 'AES-GCM', iv: iv as BufferSource }
  if (additionalData) params.additionalData = additionalData as BufferSource
  return new Uint8Array(await globalThis.crypto.subtle.decrypt(params, await key(), ciphertext as BufferSource))
}
