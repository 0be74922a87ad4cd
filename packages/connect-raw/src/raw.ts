import type { Connector, MetaEntry } from '@proj/core/connector'
import { fileCid, verifyCid } from '@proj/core/kit'
import { checkBranch, checkDbName } from './names.js'

/** What an object is: `'data'` an encrypted database file, `'meta'` the branch's meta blob. */
export type RawType = 'data' | 'file' | 'meta'

/** Names one stored object. `car` is set for data/file objects, `branch` for meta. */
export interface RawParams {
  type: RawType
  /** The database name. */
  name: string
  /** The file's CID string (data/file). */
  car?: string
  /** The meta branch (meta). */
  branch?: string
}

export interface RawFunctions {
  /** Stores `bytes` under the object named by `params`, overwriting it (meta) or not (files never change). */
  upload(bytes: Uint8Array, params: RawParams): Promise<void> | void
  /** The stored bytes, or `undefined` when there is no such object. Throws only for real failures. */
  download(params: RawParams): Promise<Uint8Array | undefined> | Uint8Array | undefined
}

function toBytes(value: unknown, params: RawParams): Uint8Array | undefined {
  if (value === undefined || value === null) return undefined
  if (value instanceof Uint8Array) return value
  if (value instanceof ArrayBuffer) return new Uint8Array(value)
  throw new TypeError(
    `download(${JSON.stringify(params)}) returned ${Object.prototype.toString.call(value)}; expected a Uint8Array or undefined`,
  )
}

/**
 * A connector from two functions. Files are objects of type `'data'` named by their CID; the meta is ONE blob
 * per branch (type `'meta'`), overwritten by every save, so concurrent writers may overwrite each other: sync
 * notices that its head was overwritten, merges and saves again.
 */
export function rawConnector(fns: RawFunctions): Connector {
  if (typeof fns?.upload !== 'function' || typeof fns?.download !== 'function') {
    throw new TypeError(`rawConnector needs { upload, download } functions, got ${String(fns)}`)
  }
  return {
    name: 'raw',
    async upload(db, cid, bytes) {
      checkDbName(db)
      await verifyCid(cid, bytes)
      await fns.upload(bytes, { type: 'data', name: db, car: cid })
    },
    async download(db, cid) {
      checkDbName(db)
      const params: RawParams = { type: 'data', name: db, car: cid }
      return toBytes(await fns.download(params), params)
    },
    async save(db, branch, entry: MetaEntry) {
      checkDbName(db)
      checkBranch(branch)
      await verifyCid(entry.cid, entry.bytes)
      // One blob per branch: the new entry replaces everything, including `replaces`.
      await fns.upload(entry.bytes, { type: 'meta', name: db, branch })
    },
    async load(db, branch) {
      checkDbName(db)
      checkBranch(branch)
      const params: RawParams = { type: 'meta', name: db, branch }
      const bytes = toBytes(await fns.download(params), params)
      return bytes ? [{ cid: (await fileCid(bytes)).toString(), bytes }] : []
    },
  }
}
