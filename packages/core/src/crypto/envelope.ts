import { equals } from 'multiformats/bytes'
import { IntegrityError, KeyMismatchError, KeyRevokedError } from '../errors.js'
import { decodeEnvelope, encodeEnvelope, encodeEnvelopeV2, envelopeV2Prefix, type Envelope } from '../format/envelope.js'
import { aesGcmDecrypt, aesGcmEncrypt, aesGcmEncryptNow } from './aes-gcm.js'
import { randomIv } from './random-iv.js'
import type { DatabaseKey } from './key.js'
import { KeyRing } from './key-epochs.js'

/**
 * Seals a stored file or meta entry with AES-256-GCM under a fresh random IV (layout: format/envelope.ts),
 * with the current key of a ring: envelope version 1 at epoch 0 (as before rotation existed), version 2 after
 * a rotation, naming the earlier keys' ids.
 */
export async function seal(key: DatabaseKey, plaintext: Uint8Array): Promise<Uint8Array> {
  return sealNow(key, plaintext) ?? sealOffThread(key, plaintext)
}

/**
 * `seal` done before returning (Node, inputs up to aes-gcm.ts's synchronous limit: every transaction file of
 * a single put), or undefined when the cipher only answers with a promise (the browser, large inputs).
 */
export function sealNow(key: DatabaseKey, plaintext: Uint8Array): Uint8Array | undefined {
  const { iv, prefix } = freshEnvelope(key)
  const ciphertext = aesGcmEncryptNow(key.raw, iv, plaintext, prefix)
  return ciphertext && sealed(key, iv, prefix, ciphertext)
}

async function sealOffThread(key: DatabaseKey, plaintext: Uint8Array): Promise<Uint8Array> {
  const { iv, prefix } = freshEnvelope(key)
  return sealed(key, iv, prefix, await encrypt(key, iv, plaintext, prefix))
}

/** A fresh IV, and after a rotation the version 2 prefix naming the earlier keys (authenticated with the file). */
function freshEnvelope(key: DatabaseKey): { iv: Uint8Array; prefix: Uint8Array | undefined } {
  const earlier = key instanceof KeyRing ? key.earlierIds() : []
  return { iv: randomIv(), prefix: earlier.length === 0 ? undefined : envelopeV2Prefix(key.id, earlier) }
}

function sealed(key: DatabaseKey, iv: Uint8Array, prefix: Uint8Array | undefined, ciphertext: Uint8Array): Uint8Array {
  return prefix ? encodeEnvelopeV2(prefix, iv, ciphertext) : encodeEnvelope({ keyId: key.id, iv, ciphertext })
}

/**
 * Opens a stored file with whichever key of the ring sealed it (history stays readable after a rotation).
 * `label` names what is opened (a file CID) in errors; `database` names the database for key errors.
 */
export async function open(key: DatabaseKey, sealed: Uint8Array, label: string, database: string): Promise<Uint8Array> {
  const envelope = decodeEnvelope(sealed, label)
  // Sealed by a key this device has not learned yet: a meta entry named the file that carries it.
  if (key instanceof KeyRing && !key.find(envelope.keyId) && key.notedEpochFile) await key.learnNoted()
  return decrypt(pick(key, envelope, label, database).key, envelope, label)
}

/**
 * Opens a meta entry: only the current key is accepted. An entry sealed with an earlier key was written by a
 * device whose key this database revoked (or before the rotation, and not merged by the rotating device): it
 * is refused as a KeyMismatchError, which sync reports as a skipped entry. Names the key epoch.
 */
export async function openCurrent(key: DatabaseKey, sealed: Uint8Array, label: string, database: string): Promise<Uint8Array> {
  const envelope = decodeEnvelope(sealed, label)
  const found = pick(key, envelope, label, database)
  if (key instanceof KeyRing && found.epoch !== key.epoch) {
    throw new SupersededKeyError(
      database,
      `${label} is sealed with the key of epoch ${found.epoch}, which the rotation to epoch ${key.epoch} revoked: ignored`,
    )
  }
  return decrypt(found.key, envelope, label)
}

/**
 * A meta entry sealed with a key this device holds but rotated away: refused like a stranger's entry, but it
 * shows this device's key belongs to the backend (sync's first-pull key check does not count it as foreign).
 */
export class SupersededKeyError extends KeyMismatchError {
  readonly supersededKey = true
}

function pick(key: DatabaseKey, envelope: Envelope, label: string, database: string): { key: DatabaseKey; epoch: number } {
  const found = key instanceof KeyRing ? key.find(envelope.keyId) : equals(envelope.keyId, key.id) ? { key, epoch: 0 } : undefined
  if (found) return found
  if (envelope.earlier?.some((id) => equals(id, key.id))) {
    throw new KeyRevokedError(
      database,
      `${label} is sealed with a newer key (epoch ${envelope.earlier.length}) that replaced this device's key`,
    )
  }
  throw new KeyMismatchError(database, `${label} was sealed with another key`)
}

function encrypt(key: DatabaseKey, iv: Uint8Array, plaintext: Uint8Array, additionalData?: Uint8Array): Promise<Uint8Array> {
  return aesGcmEncrypt(key.raw, () => key.cryptoKey(), iv, plaintext, additionalData)
}

async function decrypt(key: DatabaseKey, { iv, ciphertext, additionalData }: Envelope, label: string): Promise<Uint8Array> {
  try {
    return await aesGcmDecrypt(key.raw, () => key.cryptoKey(), iv, ciphertext, additionalData)
  } catch {
    throw new IntegrityError(label, 'AES-GCM authentication tag does not match')
  }
}
