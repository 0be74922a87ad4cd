export interface ShareLink {
  /** The database name. */
  db: string
  /** The snapshot CID (from `createSnapshot`). */
  snapshot: string
  /** The database key (`db.exportKey()`): carried in the URL fragment, which browsers never send to a server. */
  key: string
}

const nonEmpty = (name: string, value: unknown): string => {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`Invalid ${name}: ${JSON.stringify(value)} (expected a non-empty string)`)
  }
  return value
}

/** `baseUrl?db=<name>&snapshot=<cid>#key=<key>`: everything a second device needs, the key out of the server's sight. */
export function shareLink(baseUrl: string | URL, link: ShareLink): string {
  if (!(baseUrl instanceof URL) && (typeof baseUrl !== 'string' || !URL.canParse(baseUrl))) {
    throw new TypeError(`Invalid base URL: ${JSON.stringify(baseUrl)}`)
  }
  const url = new URL(baseUrl)
  url.searchParams.set('db', nonEmpty('db', link?.db))
  url.searchParams.set('snapshot', nonEmpty('snapshot', link?.snapshot))
  url.hash = new URLSearchParams({ key: nonEmpty('key', link?.key) }).toString()
  return url.toString()
}

/** The inverse of `shareLink`. */
export function parseShareLink(link: string | URL): ShareLink {
  if (!(link instanceof URL) && (typeof link !== 'string' || !URL.canParse(link))) {
    throw new TypeError(`Invalid share link: ${JSON.stringify(link)}`)
  }
  const url = new URL(link)
  const fragment = new URLSearchParams(url.hash.replace(/^#/, ''))
  const part = (name: string, value: string | null) => {
    if (!value) throw new TypeError(`Invalid share link: ${JSON.stringify(url.toString())} (no ${name})`)
    return value
  }
  return {
    db: part('db', url.searchParams.get('db')),
    snapshot: part('snapshot', url.searchParams.get('snapshot')),
    key: part('key', fragment.get('key')),
  }
}
