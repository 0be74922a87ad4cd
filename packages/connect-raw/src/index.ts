import type { Database, Sync, SyncOptions } from '@proj/core'
import { splitConnectOptions } from '@proj/core/kit'
import { httpConnector, type HttpOptions } from './http.js'
import { rawConnector, type RawFunctions } from './raw.js'

export { httpConnector, type HttpOptions, type MetaListingEntry } from './http.js'
export { rawConnector, type RawFunctions, type RawParams, type RawType } from './raw.js'

/** Every `connect.*` takes `(db, target, options)`; `options` is flat: the connector's own plus SyncOptions. */
export const connect = {
  /** Replicates `db` through two functions, `upload(bytes, params)` and `download(params)`. */
  raw(db: Database, fns: RawFunctions, options?: SyncOptions): Sync {
    const { sync } = splitConnectOptions<object>('connect.raw', options, [])
    return db.connect(rawConnector(fns), sync)
  },
  /** Replicates `db` through a `proj-serve` store (or read-only, any static server of an exported folder). */
  http(db: Database, url: string, options?: HttpOptions & SyncOptions): Sync {
    const { own, sync } = splitConnectOptions<HttpOptions>('connect.http', options, ['token', 'fetch'])
    return db.connect(httpConnector(url, own), sync)
  },
}
