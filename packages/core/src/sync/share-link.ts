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
  const url = new URL(link)
  const fragment = new URLSearchParams(url.hash.slice(1))
  return { db: url.searchParams.get('db') ?? undefined, key: fragment.get('key') ?? undefined }
}
