import { FormatVersionError, IntegrityError } from '../errors.js'

/**
 * The sealed form of a stored file and of a meta entry: version byte, 8-byte key id, 96-bit IV, then the
 * AES-256-GCM ciphertext with its 16-byte tag (crypto/envelope.ts encrypts and decrypts). The key id lets a
 * reader tell "wrong key" (KeyMismatchError) from "tampered bytes" (IntegrityError).
 */
export const ENVELOPE_VERSION = 1
export const KEY_ID_LENGTH = 8
export const IV_LENGTH = 12
const TAG_LENGTH = 16
const HEADER_LENGTH = 1 + KEY_ID_LENGTH + IV_LENGTH

export interface Envelope {
  keyId: Uint8Array
  iv: Uint8Array
  /** Ciphertext followed by the GCM tag. */
  ciphertext: Uint8Array
}

export function encodeEnvelope({ keyId, iv, ciphertext }: Envelope): Uint8Array {
  if (keyId.length !== KEY_ID_LENGTH || iv.length !== IV_LENGTH) {
    throw new RangeError(`an envelope needs an ${KEY_ID_LENGTH}-byte key id and a ${IV_LENGTH}-byte IV`)
  }
  const out = new Uint8Array(HEADER_LENGTH + ciphertext.length)
  out[0] = ENVELOPE_VERSION
  out.set(keyId, 1)
  out.set(iv, 1 + KEY_ID_LENGTH)
  out.set(ciphertext, HEADER_LENGTH)
  return out
}

/** `label` names what is opened (a file CID, `meta entry <cid>`) in errors. The parts are views of `sealed`. */
export function decodeEnvelope(sealed: Uint8Array, label: string): Envelope {
  if (sealed.length < HEADER_LENGTH + TAG_LENGTH) throw new IntegrityError(label, `envelope too short (${sealed.length} bytes)`)
  const version = sealed[0]!
  if (version > ENVELOPE_VERSION) throw new FormatVersionError(`The envelope of ${label}`, version, ENVELOPE_VERSION)
  if (version !== ENVELOPE_VERSION) {
    throw new IntegrityError(label, `unknown envelope version ${version} (expected ${ENVELOPE_VERSION})`)
  }
  return {
    keyId: sealed.subarray(1, 1 + KEY_ID_LENGTH),
    iv: sealed.subarray(1 + KEY_ID_LENGTH, HEADER_LENGTH),
    ciphertext: sealed.subarray(HEADER_LENGTH),
  }
}
