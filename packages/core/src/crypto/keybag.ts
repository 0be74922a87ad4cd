import { equals } from 'multiformats/bytes'
import { CorruptRecordError, IntegrityError, KeyMismatchError, KeyRevokedError } from '../errors.js'
import { decodeEnvelope, MAX_EPOCH } from '../format/envelope.js'
import { fileCid } from '../format/file.js'
import { decodeKeyEpochFile, encodeKeyEpochFile } from '../format/key-epoch.js'
import { decodeKeyRing, encodeKeybag, encodeKeyRing } from '../format/keybag.js'
import type { Storage } from '../storage/api.js'
import { openCurrent, seal } from './envelope.js'
import { generateKeyBytes, importKey, keyFromString } from './key.js'
import { KeyRing } from './key-epochs.js'

const RECORD = 'keybag'

/**
 * The local keybag: the database key (and, after a rotation, the keys it replaced), kept in its own local
 * record, never in a data file or the meta. A key passed by the user must match the one this device already
 * keeps for the database (an earlier, rotated-away key is a KeyRevokedError).
 * A new key is written only if none exists, in one atomic read-and-write (`updateRecord`): when two tabs
 * create the same database at once, one key wins and the other tab adopts it.
 */
export async function loadKey(storage: Storage, database: string, given: string | undefined): Promise<KeyRing> {
  const givenRaw = given === undefined ? undefined : keyFromString(given)
  // A key is drawn only for a new keybag: the first random bytes of a process cost ~2 ms (Node loads its
  // WebCrypto on first use), which every cold open paid.
  const stored = await storage.updateRecord(RECORD, (current) => (current ? undefined : encodeKeybag(givenRaw ?? generateKeyBytes())))
  const where = describeKeybag(storage)
  if (!stored) throw new CorruptRecordError(where, 'it holds no 32-byte key')
  const { key, earlier, epochFile } = decodeKeyRing(stored, where)
  if (givenRaw && !equals(givenRaw, key)) {
    if (earlier.some((old) => equals(old, givenRaw))) {
      throw new KeyRevokedError(database, 'the key given was replaced by a rotation, and this device keeps the current one (exportKey() gives it)')
    }
    throw new KeyMismatchError(database, 'this device already keeps a different key for it')
  }
  const ring = new KeyRing(await Promise.all([...earlier, key].map(importKey)), epochFile)
  return ring
}

/**
 * Rotates the key: a new random key becomes current. First the key-epoch file (every earlier key, sealed by
 * the new one) is stored, then the keybag is replaced in one atomic write. A crash before that write leaves
 * the old key current and an unused file; after it, the new key is current and opens every file (earlier keys
 * included). Returns the ring, now at the new epoch.
 */
export async function rotateKeyRing(ring: KeyRing, storage: Storage, database: string): Promise<KeyRing> {
  // The new key-epoch file must carry every earlier key: ones a meta entry named but this device never needed
  // yet (it read no older file) are learned first.
  await ring.learnNoted()
  if (ring.epoch >= MAX_EPOCH) throw new RangeError(`database ${JSON.stringify(database)}: a key can be rotated at most ${MAX_EPOCH} times`)
  const keys = [...ring.keys, await importKey(generateKeyBytes())]
  const sealed = await seal(new KeyRing(keys), await encodeKeyEpochFile(ring.keys.map((key) => key.raw)))
  const file = (await fileCid(sealed)).toString()
  await storage.writeFile(file, sealed)
  await replaceKeybag(storage, database, ring, keys, file)
  ring.replace(keys, file)
  return ring
}

/**
 * How a ring learns the earlier keys of its current key from a key-epoch file named by a meta entry: the file
 * (verified against its CID by `fetch`) must be sealed by the current key and name the same keys it holds.
 * They are kept in the keybag (when there is one), so files read once stay readable offline.
 */
export function keyLearner(
  ring: KeyRing,
  /** Where the keybag is kept; undefined for a ring held only in memory (inspecting a backend). */
  storage: Storage | undefined,
  database: string,
  fetch: (file: string) => Promise<Uint8Array>,
): (file: string) => Promise<void> {
  return async (file) => {
    const sealed = await fetch(file)
    const earlierRaw = await decodeKeyEpochFile(await openCurrent(ring.current, sealed, file, database), file)
    const earlier = await Promise.all(earlierRaw.map(importKey))
    const named = decodeEnvelope(sealed, file).earlier ?? []
    const same = named.length === earlier.length && named.every((id, i) => equals(id, earlier[i]!.id))
    if (!same || earlier.some((key) => equals(key.id, ring.id))) {
      throw new IntegrityError(file, 'the keys of this key-epoch file are not the ones its envelope names')
    }
    // A ring that already knows more epochs (a later rotation here) keeps them.
    if (earlier.length <= ring.epoch) return
    const keys = [...earlier, ring.current]
    if (storage) await replaceKeybag(storage, database, ring, keys, file)
    ring.replace(keys, file)
  }
}

/**
 * Another instance over the same storage (a tab, another `database()` of the same directory) rotated the key,
 * or learned the earlier keys: this instance's ring follows when the stored keys include its current key, so
 * what this instance writes next is sealed with the current key too. Returns the unsubscribe function.
 */
export function followKeybag(ring: KeyRing, storage: Storage): (() => void) | undefined {
  const where = describeKeybag(storage)
  return storage.watch?.((record) => {
    if (record !== RECORD) return
    void (async () => {
      const bytes = await storage.readRecord(RECORD)
      if (!bytes) return
      const { key, earlier, epochFile } = decodeKeyRing(bytes, where)
      const stored = [...earlier, key]
      if (!epochFile || stored.length <= ring.keys.length || !stored.some((raw) => equals(raw, ring.raw))) return
      ring.replace(await Promise.all(stored.map(importKey)), epochFile)
    })().catch((error) => console.error(`${where}: following the key another instance stored failed:`, error))
  })
}

/** Replaces the keybag with `keys` (oldest first), unless another instance changed its current key meanwhile. */
async function replaceKeybag(storage: Storage, database: string, ring: KeyRing, keys: { raw: Uint8Array }[], file: string): Promise<void> {
  const where = describeKeybag(storage)
  let changed = false
  await storage.updateRecord(RECORD, (current) => {
    if (!current || !equals(decodeKeyRing(current, where).key, ring.raw)) return undefined
    changed = true
    return encodeKeyRing({ key: keys[keys.length - 1]!.raw, earlier: keys.slice(0, -1).map((key) => key.raw), epochFile: file })
  })
  if (!changed) {
    throw new KeyMismatchError(database, `${where} changed its key while this instance had it open: open the database again`)
  }
}

function describeKeybag(storage: Storage): string {
  return `The keybag record of ${JSON.stringify(storage.location)}`
}
