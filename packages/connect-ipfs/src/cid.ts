import { IntegrityError } from '@proj/core/kit'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'

/** Parses a file name: a CIDv1, raw codec, sha2-256. Anything else is a TypeError naming the value. */
export function parseFileCid(cid: unknown): CID {
  if (typeof cid !== 'string') throw new TypeError(`Invalid CID: ${String(cid)} (expected a string)`)
  let parsed: CID
  try {
    parsed = CID.parse(cid)
  } catch {
    throw new TypeError(`Invalid CID: ${JSON.stringify(cid)}`)
  }
  if (parsed.version !== 1 || parsed.code !== raw.code || parsed.multihash.code !== sha256.code) {
    throw new TypeError(`Invalid CID: ${JSON.stringify(cid)} (expected CIDv1, raw codec, sha2-256)`)
  }
  return parsed
}

/** The CIDv1 (raw, sha2-256) of `bytes`. */
export async function rawCid(bytes: Uint8Array): Promise<CID> {
  return CID.create(1, raw.code, await sha256.digest(bytes))
}

/** Core's class, so sync treats a mismatch as permanent (it is never retried). */
export { IntegrityError }

/** Throws IntegrityError unless `bytes` hash to `cid`. */
export async function verifyBytes(cid: CID, bytes: Uint8Array): Promise<void> {
  const expected = cid.toString()
  const actual = (await rawCid(bytes)).toString()
  if (actual !== expected) throw new IntegrityError(expected, `the bytes hash to ${actual}`)
}
