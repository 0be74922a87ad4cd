import { FormatVersionError, IntegrityError } from '../errors.js'

/**
 * The sealed form of a stored file and of a meta entry (crypto/envelope.ts encrypts and decrypts), in two
 * versions:
 * - 1: version byte, 8-byte key id, 96-bit IV, then the AES-256-GCM ciphertext with its 16-byte tag. Written
 *   by the first key of a database (epoch 0), so a database that never rotated its key writes what it always
 *   wrote.
 * - 2: version byte, 8-byte key id, one byte `n` (the key epoch: how many keys this database had before),
 *   the ids of those `n` earlier keys (oldest first), the IV, then the ciphertext and tag. Everything before
 *   the IV is GCM additional data, so the epoch and the ids cannot be altered unnoticed by a key holder.
 * The key id (a hash prefix of the key, never the key) lets a reader pick the key that opens it, and tell
 * "wrong key" (KeyMismatchError) from "tampered bytes" (IntegrityError). The earlier ids let a device whose key
 * was rotated away recognise its successor (KeyRevokedError) instead of taking it for a stranger.
 */
export const ENVELOPE_VERSION = 2
export const KEY_ID_LENGTH = 8
export const IV_LENGTH = 12
const TAG_LENGTH = 16
const V1_HEADER_LENGTH = 1 + KEY_ID_LENGTH + IV_LENGTH
/** The epoch is one byte: 255 rotations of one database. */
export const MAX_EPOCH = 255

export interface Envelope {
  keyId: Uint8Array
  iv: Uint8Array
  /** Ciphertext followed by the GCM tag. */
  ciphertext: Uint8Array
  /** Version 2 only: the ids of the keys before the sealing one, oldest first (their count is the epoch). */
  earlier?: Uint8Array[]
  /** Version 2 only: the bytes authenticated as GCM additional data (everything before the IV). */
  additionalData?: Uint8Array
}

/** A version 1 envelope (the first key of a database). */
export function encodeEnvelope({ keyId, iv, ciphertext }: Envelope): Uint8Array {
  checkParts(keyId, iv, [])
  const out = new Uint8Array(V1_HEADER_LENGTH + ciphertext.length)
  out[0] = 1
  out.set(keyId, 1)
  out.set(iv, 1 + KEY_ID_LENGTH)
  out.set(ciphertext, V1_HEADER_LENGTH)
  return out
}

/**
 * The bytes of a version 2 envelope before its IV: also its GCM additional data, so they are fixed before
 * encrypting. `earlier` must not be empty (the first key writes version 1).
 */
export function envelopeV2Prefix(keyId: Uint8Array, earlier: readonly Uint8Array[]): Uint8Array {
  if (earlier.length === 0) throw new RangeError('a version 2 envelope names at least one earlier key')
  checkParts(keyId, new Uint8Array(IV_LENGTH), earlier)
  const out = new Uint8Array(2 + KEY_ID_LENGTH * (1 + earlier.length))
  out[0] = 2
  out.set(keyId, 1)
  out[1 + KEY_ID_LENGTH] = earlier.length
  earlier.forEach((id, i) => out.set(id, 2 + KEY_ID_LENGTH * (1 + i)))
  return out
}

/** A version 2 envelope: the prefix from envelopeV2Prefix, the IV, the ciphertext with its tag. */
export function encodeEnvelopeV2(prefix: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  if (iv.length !== IV_LENGTH) throw new RangeError(`an envelope needs a ${IV_LENGTH}-byte IV`)
  const out = new Uint8Array(prefix.length + IV_LENGTH + ciphertext.length)
  out.set(prefix)
  out.set(iv, prefix.length)
  out.set(ciphertext, prefix.length + IV_LENGTH)
  return out
}

/** `label` names what is opened (a file CID, `meta entry <cid>`) in errors. The parts are views of `sealed`. */
export function decodeEnvelope(sealed: Uint8Array, label: string): Envelope {
  if (sealed.length < V1_HEADER_LENGTH + TAG_LENGTH) throw new IntegrityError(label, `envelope too short (${sealed.length} bytes)`)
  const version = sealed[0]!
  if (version > ENVELOPE_VERSION) throw new FormatVersionError(`The envelope of ${label}`, version, ENVELOPE_VERSION)
  if (version === 1) {
    return {
      keyId: sealed.subarray(1, 1 + KEY_ID_LENGTH),
      iv: sealed.subarray(1 + KEY_ID_LENGTH, V1_HEADER_LENGTH),
      ciphertext: sealed.subarray(V1_HEADER_LENGTH),
    }
  }
  if (version !== 2) throw new IntegrityError(label, `unknown envelope version ${version} (expected 1 or ${ENVELOPE_VERSION})`)
  const epoch = sealed[1 + KEY_ID_LENGTH]!
  const prefixLength = 2 + KEY_ID_LENGTH * (1 + epoch)
  if (epoch === 0) throw new IntegrityError(label, 'a version 2 envelope names no earlier key')
  if (sealed.length < prefixLength + IV_LENGTH + TAG_LENGTH) {
    throw new IntegrityError(label, `envelope too short (${sealed.length} bytes for key epoch ${epoch})`)
  }
  const earlier: Uint8Array[] = []
  for (let i = 0; i < epoch; i++) {
    const at = 2 + KEY_ID_LENGTH * (1 + i)
    earlier.push(sealed.subarray(at, at + KEY_ID_LENGTH))
  }
  return {
    keyId: sealed.subarray(1, 1 + KEY_ID_LENGTH),
    earlier,
    iv: sealed.subarray(prefixLength, prefixLength + IV_LENGTH),
    ciphertext: sealed.subarray(prefixLength + IV_LENGTH),
    additionalData: sealed.subarray(0, prefixLength),
  }
}

function checkParts(keyId: Uint8Array, iv: Uint8Array, earlier: readonly Uint8Array[]): void {
  if (keyId.length !== KEY_ID_LENGTH || iv.length !== IV_LENGTH || earlier.some((id) => id.length !== KEY_ID_LENGTH)) {
    throw new RangeError(`an envelope needs ${KEY_ID_LENGTH}-byte key ids and a ${IV_LENGTH}-byte IV`)
  }
  if (earlier.length > MAX_EPOCH) throw new RangeError(`an envelope names at most ${MAX_EPOCH} earlier keys`)
}
