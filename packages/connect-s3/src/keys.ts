/**
 * The bucket layout, shared by the direct connector and the signing server:
 *   <prefix>/<db>/data/<cid>                files
 *   <prefix>/<db>/meta/<branch>/<cid>       meta entries
 * `db` and `branch` follow core's name rule (one path segment each, nothing to escape); every object name is a CIDv1 (raw, sha2-256) string.
 */
import { checkName } from '@proj/core/kit'
import { base64pad } from 'multiformats/bases/base64'
import type { CID } from 'multiformats/cid'

/** A prefix as stored: '' or 'a/b/' (no leading slash, one trailing slash). */
export function normalizePrefix(prefix: unknown): string {
  if (prefix === undefined || prefix === '') return ''
  if (typeof prefix !== 'string') throw new TypeError(`Invalid S3 prefix: ${JSON.stringify(prefix)} (expected a string)`)
  const trimmed = prefix.replace(/^\/+|\/+$/g, '')
  return trimmed === '' ? '' : `${trimmed}/`
}

/** Validates a database or branch name (core's rule, see `checkName`) and returns it as one path segment. */
export function segment(what: 'database name' | 'branch', value: unknown): string {
  return checkName(value, what === 'branch' ? 's3: branch name' : 's3: database name')
}

/** The S3 `ChecksumSHA256` of the bytes a CID names: base64 of its sha2-256 digest. */
export function checksumOf(cid: CID): string {
  return base64pad.baseEncode(cid.multihash.digest)
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
