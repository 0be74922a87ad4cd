import { FormatVersionError, IntegrityError } from '../errors.js'
import { encodeBlock } from './block.js'
import { decodeCar, encodeCar, verifyBlock, type FileHeader } from './file.js'

/**
 * The plaintext of a key-epoch file: the earlier keys of a database, travelling with its files, sealed (so
 * wrapped) by the key that replaced them. A stored file like any other (named by the CID of its sealed bytes,
 * uploaded by every connector), so its plaintext is a CAR: a file header with no heads and no locations,
 * then exactly one block, `{ v: 1, keys: [<32 bytes>…] }`, every key before the sealing one, oldest first
 * (epoch 0 first). Its envelope names the same keys' ids, which a reader checks against the keys.
 */
export const KEY_EPOCH_VERSION = 1
const KEY_LENGTH = 32

export async function encodeKeyEpochFile(earlier: readonly Uint8Array[]): Promise<Uint8Array> {
  if (earlier.length === 0 || earlier.some((key) => key.length !== KEY_LENGTH)) {
    throw new RangeError(`a key-epoch file holds one or more ${KEY_LENGTH}-byte keys`)
  }
  const header: FileHeader = { v: 1, heads: [], locations: [] }
  return encodeCar(header, [await encodeBlock({ v: KEY_EPOCH_VERSION, keys: [...earlier] })])
}

/** The earlier keys, oldest first. `label` (the file's CID) names the file in errors. */
export async function decodeKeyEpochFile(plain: Uint8Array, label: string): Promise<Uint8Array[]> {
  const { header, blocks } = await decodeCar(plain, label)
  if (header.heads.length !== 0 || blocks.length !== 1) {
    throw new IntegrityError(label, 'not a key-epoch file (a header without heads, then one block)')
  }
  const { value } = await verifyBlock<unknown>(blocks[0]!, label)
  const record = value as { v?: unknown; keys?: unknown } | null
  if (record === null || typeof record !== 'object' || typeof record.v !== 'number') {
    throw new IntegrityError(label, 'not a key-epoch file: its block is not { v, keys }')
  }
  if (record.v > KEY_EPOCH_VERSION) {
    throw new FormatVersionError(`The key-epoch file ${label}`, record.v, KEY_EPOCH_VERSION)
  }
  const keys = record.keys
  if (
    record.v !== KEY_EPOCH_VERSION ||
    !Array.isArray(keys) ||
    keys.length === 0 ||
    !keys.every((key) => key instanceof Uint8Array && key.length === KEY_LENGTH)
  ) {
    throw new IntegrityError(label, `not a key-epoch file: its keys are not one or more ${KEY_LENGTH}-byte keys`)
  }
  return keys as Uint8Array[]
}
