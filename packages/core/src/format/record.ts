import { CorruptRecordError } from '../errors.js'
import { decodeDagCbor } from './dag-cbor-decode.js'
import { encodeDagCbor } from './dag-cbor-encode.js'

/** The dag-cbor map a local record holds, or a CorruptRecordError naming it (`where`). */
export function decodeRecordMap(bytes: Uint8Array, where: string): Record<string, unknown> {
  let value: unknown
  try {
    value = decodeDagCbor(bytes)
  } catch (error) {
    throw new CorruptRecordError(where, `not dag-cbor (${(error as Error).message})`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new CorruptRecordError(where, 'it does not hold a map')
  }
  return value as Record<string, unknown>
}

export const encodeRecord = (value: object): Uint8Array => encodeDagCbor(value)
