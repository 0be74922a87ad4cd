import { IntegrityError, KeyMismatchError } from '../errors.js'
import { decodeEnvelope, encodeEnvelope, IV_LENGTH } from '../format/envelope.js'
import type { DatabaseKey } from './key.js'

/** Seals a stored file or meta entry with AES-256-GCM under a fresh random IV (layout: format/envelope.ts). */
export async function seal(key: DatabaseKey, plaintext: Uint8Array): Promise<Uint8Array> {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_LENGTH))
  const ciphertext = new Uint8Array(
    await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key.cryptoKey, plaintext as BufferSource),
  )
  return encodeEnvelope({ keyId: key.id, iv, ciphertext })
}

/** `label` names what is opened (a file CID) in errors; `database` names the database for KeyMismatchError. */
export async function open(key: DatabaseKey, sealed: Uint8Array, label: string, database: string): Promise<Uint8Array> {
  const { keyId, iv, ciphertext } = decodeEnvelope(sealed, label)
  for (let i = 0; i < keyId.length; i++) {
    if (keyId[i] !== key.id[i]) throw new KeyMismatchError(database, `${label} was sealed with another key`)
  }
  try {
    const plain = await globalThis.crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: iv as BufferSource },
      key.cryptoKey,
      ciphertext as BufferSource,
    )
    return new Uint8Array(plain)
  } catch {
    throw new IntegrityError(label, 'AES-GCM authentication tag does not match')
  }
}
