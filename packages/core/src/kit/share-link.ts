import { keyFromString } from '../crypto/key.js'

/** What a share link carries. `snapshot` is connect-ipfs's: the CID of a snapshot to open the database from. */
export interface ShareLink {
  db: string
  key: string
  snapshot?: string
}

/** A part of a link, checked; the key's value is never echoed (it is a secret). */
function part(name: keyof ShareLink, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    const shown = name === 'key' ? (typeof value === 'string' ? 'an empty string' : typeof value) : JSON.stringify(value)
    throw new TypeError(`shareLink(): Invalid ${name}: ${shown} (expected a non-empty string)`)
  }
  return value
}

/**
 * A link that opens a database on another device: `base?db=<name>[&snapshot=<cid>]#key=<key>`. The key travels
 * in the URL fragment, which browsers never send to a server.
 */
export function shareLink(base: string | URL, link: ShareLink): string {
  if (!(base instanceof URL) && (typeof base !== 'string' || !URL.canParse(base))) {
    throw new TypeError(`shareLink(): Invalid base URL: ${JSON.stringify(base)}`)
  }
  const url = new URL(base)
  url.searchParams.set('db', part('db', link?.db))
  if (link.snapshot !== undefined) url.searchParams.set('snapshot', part('snapshot', link.snapshot))
  url.hash = `key=${encodeURIComponent(part('key', link.key))}`
  return url.toString()
}

/**
 * The inverse of shareLink. A part the link does not hold is undefined (any page address parses); a key that
 * is there but mistyped or cut off is a TypeError that does not echo it.
 */
export function parseShareLink(link: string | URL): { db: string | undefined; key: string | undefined; snapshot?: string } {
  let url: URL
  try {
    url = new URL(link)
  } catch {
    // Not rethrown as is: URL errors carry the whole input, and with it the key in the fragment.
    throw new TypeError(`parseShareLink(): not a URL (${typeof link === 'string' ? `${link.length} characters` : typeof link})`)
  }
  const key = new URLSearchParams(url.hash.slice(1)).get('key') ?? undefined
  if (key !== undefined) {
    try {
      keyFromString(key)
    } catch (error) {
      throw new TypeError(`parseShareLink(): the key in the link is mistyped or cut off (${(error as Error).message})`)
    }
  }
  const snapshot = url.searchParams.get('snapshot') ?? undefined
  return { db: url.searchParams.get('db') ?? undefined, key, ...(snapshot === undefined ? {} : { snapshot }) }
}
