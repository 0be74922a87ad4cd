import { bases } from 'multiformats/basics'
import type { MultibaseDecoder } from 'multiformats/bases/interface'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { IntegrityError } from '../errors.js'
import { sha256Cid } from './sha256-cid.js'

/**
 * The name of every stored file and meta entry: a CIDv1 with the raw codec and sha2-256, written in its
 * canonical (base32) spelling, so one file has exactly one name on every backend.
 */
export function fileCid(bytes: Uint8Array): Promise<CID> {
  try {
    return Promise.resolve(sha256Cid(raw.code, bytes))
  } catch (error) {
    return Promise.reject(error)
  }
}

/** `fileCid` done before returning, or undefined where hashing answers with a promise (WebCrypto). */
export function fileCidNow(bytes: Uint8Array): CID | undefined {
  const cid = sha256Cid(raw.code, bytes)
  return cid instanceof Promise ? undefined : cid
}

/** Decodes every multibase multiformats knows, so that another spelling of a file name is named as such. */
type CombinableDecoder = MultibaseDecoder<string> & { or(other: CombinableDecoder): CombinableDecoder }
const ANY_BASE = Object.values(bases)
  .map((base) => base.decoder as unknown as CombinableDecoder)
  .reduce((all, decoder) => all.or(decoder))

/** A value as shown in an error: long strings cut, so a huge name does not make a huge message. */
const shown = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value) : String(value)

/**
 * Parses a file or meta entry name. A TypeError naming the value unless it is the canonical string of a CIDv1
 * (raw codec, sha2-256); another spelling of a valid name is refused with the canonical one in the message.
 */
export function parseFileCid(value: unknown): CID {
  let cid: CID
  try {
    if (typeof value !== 'string') throw new Error('not a string')
    cid = CID.parse(value, ANY_BASE)
  } catch {
    throw new TypeError(`Invalid CID: ${shown(value)}`)
  }
  if (cid.version !== 1 || cid.code !== raw.code || cid.multihash.code !== sha256.code) {
    throw new TypeError(`Invalid CID: ${shown(value)} (expected CIDv1, raw codec, sha2-256)`)
  }
  const canonical = cid.toString()
  if (canonical !== value) throw new TypeError(`Invalid CID: ${shown(value)} (not in its canonical form ${canonical})`)
  return cid
}

/**
 * Resolves when `bytes` hash to `cid` (a file name, see parseFileCid); otherwise core's IntegrityError, which
 * sync treats as permanent. `where` names where the bytes came from, for the message.
 */
export async function verifyCid(cid: string | CID, bytes: Uint8Array, where?: string): Promise<CID> {
  const actual = await fileCid(bytes)
  // A name that is the canonical spelling of the bytes' CID is their name: parsed (to say what is wrong with
  // it) only when it is not. Parsing every file name was ~1 ms of a cold open + get (varint and multibase
  // decoding run nowhere else on that path).
  if (typeof cid === 'string' && actual.toString() === cid) return actual
  const expected = typeof cid === 'string' ? parseFileCid(cid) : cid
  if (!expected.equals(actual)) {
    throw new IntegrityError(expected.toString(), `${where ? `the bytes at ${where}` : 'file bytes'} hash to ${actual}`)
  }
  return expected
}
