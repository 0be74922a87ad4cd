/**
 * The bucket layout, shared by the direct connector and the signing server:
 *   <prefix>/<db>/data/<cid>                files
 *   <prefix>/<db>/meta/<branch>/<cid>       meta entries
 * `db` and `branch` are URI-encoded path segments; every object name is a CIDv1 (raw, sha2-256) string.
 */
import { IntegrityError } from '@proj/core/kit'
import { base64pad } from 'multiformats/bases/base64'
import { equals } from 'multiformats/bytes'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'

/** A prefix as stored: '' or 'a/b/' (no leading slash, one trailing slash). */
export function normalizePrefix(prefix: unknown): string {
  if (prefix === undefined || prefix === '') return ''
  if (typeof prefix !== 'string') throw new TypeError(`Invalid S3 prefix: ${JSON.stringify(prefix)} (expected a string)`)
  const trimmed = prefix.replace(/^\/+|\/+$/g, '')
  return trimmed === '' ? '' : `${trimmed}/`
}

/** Validates a database or branch name and returns it as one path segment. */
export function segment(what: 'database name' | 'branch', value: unknown): string {
  if (typeof value !== 'string' || value === '' || value === '.' || value === '..' || value.length > 200) {
    throw new TypeError(`Invalid ${what}: ${JSON.stringify(value)} (expected a non-empty string of at most 200 characters)`)
  }
  return encodeURIComponent(value)
}

/** Parses a file or meta entry name: it must be the canonical string of a CIDv1 with raw codec and sha2-256. */
export function parseCid(value: unknown): CID {
  let cid: CID
  try {
    if (typeof value !== 'string') throw new Error('not a string')
    cid = CID.parse(value)
  } catch {
    throw new TypeError(`Invalid CID: ${JSON.stringify(value)}`)
  }
  if (cid.version !== 1 || cid.code !== raw.code || cid.multihash.code !== sha256.code || cid.toString() !== value) {
    throw new TypeError(`Invalid CID: ${JSON.stringify(value)} (expected a base32 CIDv1, raw codec, sha2-256)`)
  }
  return cid
}

/** The S3 `ChecksumSHA256` of the bytes a CID names: base64 of its sha2-256 digest. */
export function checksumOf(cid: CID): string {
  return base64pad.baseEncode(cid.multihash.digest)
}

/** Throws core's IntegrityError (permanent: sync never retries it) when `bytes` do not hash to `cid`. */
export async function verifyBytes(cid: CID, bytes: Uint8Array, where: string): Promise<void> {
  const digest = await sha256.digest(bytes)
  if (!equals(digest.digest, cid.multihash.digest)) {
    throw new IntegrityError(cid.toString(), `the bytes at ${where} do not hash to it`)
  }
}

export class Layout {
  readonly prefix: string
  constructor(prefix: unknown) {
    this.prefix = normalizePrefix(prefix)
  }
  dataKey(db: string, cid: string): string {
    return `${this.prefix}${segment('database name', db)}/data/${cid}`
  }
  metaPrefix(db: string, branch: string): string {
    return `${this.prefix}${segment('database name', db)}/meta/${segment('branch', branch)}/`
  }
  metaKey(db: string, branch: string, cid: string): string {
    return `${this.metaPrefix(db, branch)}${cid}`
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}
