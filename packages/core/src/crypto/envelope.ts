import { IntegrityError, KeyMismatchError } from '../errors.js'
import type { DatabaseKey } from './key.js'

/**
 * A stored file or meta entry: version byte, 8-byte key id, 96-bit IV, AES-256-GCM ciphertext (with tag).
 * The key id lets a reader tell "wrong key" (KeyMismatchError) from "tampered bytes" (IntegrityError).
 */
const VERSION = 1
const KEY_ID_LENGTH = 8
const IV_LENGTH = 12
const HEADER_LENGTH = 1 + KEY_ID_LENGTH + IV_LENGTH

export async function seal(key: DatabaseKey, plaintext: Uint8Array): Promise<Uint8Array> {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_LENGTH))
  const ciphertext = new Uint8Array(
    await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key.cryptoKey, plaintext as BufferSource),
  )
  const out = new Uint8Array(HEADER_LENGTH + ciphertext.length)
  out[0] = VERSION
  out.set(key.id, 1)
  out.set(iv, 1 + KEY_ID_LENGTH)
  out.set(ciphertext, HEADER_LENGTH)
  return out
}

/** `label` names what is opened (a file CID) in errors; `database` names the database for KeyMismatchError. */
export async function open(key: DatabaseKey, sealed: Uint8Array, label: string, database: string): Promise<Uint8Array> {
  if (sealed.length < HEADER_LENGTH + 16) throw new IntegrityError(label, `envelope too short (${sealed.length} bytes)`)
  if (sealed[0] !== VERSION) throw new IntegrityError(label, `unknown envelope version ${sealed[0]} (expected ${VERSION})`)
  for (let i = 0; i < KEY_ID_LENGTH; i++) {
    if (sealed[1 + i] !== key.id[i]) throw new KeyMismatchError(database, `${label} was sealed with another key`)
  }
  const iv = sealed.subarray(1 + KEY_ID_LENGTH, HEADER_LENGTH)
  try {
    const plain = await globalThis.crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: iv as BufferSource },
      key.cryptoKey,
      sealed.subarray(HEADER_LENGTH) as BufferSource,
    )
    return new Uint8Array(plain)
  } catch {
    throw new IntegrityError(label, 'AES-GCM authentication tag does not match')
  }
}
