import type { Database, Sync, SyncOptions } from '@proj/core'
import { httpConnector, type HttpOptions } from './http.js'
import { rawConnector, type RawFunctions } from './raw.js'

export { httpConnector, type HttpOptions, type MetaListingEntry } from './http.js'
export { rawConnector, type RawFunctions, type RawParams, type RawType } from './raw.js'

function syncOptions(options: (SyncOptions & HttpOptions) | undefined): SyncOptions | undefined {
  if (!options) return undefined
  const { token: _token, fetch: _fetch, ...sync } = options
  return sync
}

export const connect = {
  /** Replicates `db` through two functions, `upload(bytes, params)` and `download(params)`. */
  raw(db: Database, fns: RawFunctions, options?: SyncOptions): Sync {
    return db.connect(rawConnector(fns), options)
  },
  /** Replicates `db` through a `proj-serve` store (or read-only, any static server of an exported folder). */
  http(db: Database, url: string, options?: SyncOptions & HttpOptions): Sync {
    return db.connect(httpConnector(url, options), syncOptions(options))
  },
}
