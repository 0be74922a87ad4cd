import { CorruptRecordError, FormatVersionError } from '../errors.js'

/**
 * The format version a decoded record declares in its `v` field, checked against the newest one this code
 * reads. A record without `v` was written before records carried one: it is version 1. A newer version is a
 * FormatVersionError (nothing is guessed); anything that is not a version is a corrupt record.
 */
export function recordVersion(value: object, where: string, supported: number): number {
  const v = (value as { v?: unknown }).v
  if (v === undefined) return 1
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new CorruptRecordError(where, `its version is ${describeVersion(v)}, not a positive integer`)
  }
  if (v > supported) throw new FormatVersionError(where, v, supported)
  return v
}

function describeVersion(v: unknown): string {
  return typeof v === 'number' ? String(v) : typeof v
}
