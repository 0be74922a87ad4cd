import { keyFromString } from '../crypto/key.js'

/**
 * A link that opens a database on another device. The key travels in the URL fragment (`#key=…`), which
 * browsers never send to a server.
 */
export function shareLink(base: string, { db, key }: { db: string; key: string }): string {
  const url = new URL(base)
  url.searchParams.set('db', db)
  url.hash = `key=${encodeURIComponent(key)}`
  return url.toString()
}

export function parseShareLink(link: string): { db: string | undefined; key: string | undefined } {
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
  return { db: url.searchParams.get('db') ?? undefined, key }
}
