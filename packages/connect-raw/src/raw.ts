import type { CallOptions, Connector, MetaEntry } from '@proj/core/connector'
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

/**
 * Each function also gets sync's `{ signal }` (see CallOptions), aborted when sync gives the call up (no
 * answer within `callTimeout`, or the sync closed): pass it to `fetch` or your client to end the request.
 */
export interface RawFunctions {
  /** Stores `bytes` under the object named by `params`, overwriting it (meta) or not (files never change). */
  upload(bytes: Uint8Array, params: RawParams, call?: CallOptions): Promise<void> | void
  /** The stored bytes, or `undefined` when there is no such object. Throws only for real failures. */
  download(params: RawParams, call?: CallOptions): Promise<Uint8Array | undefined> | Uint8Array | undefined
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
 * notices that its head was overwritten, merges and saves again. A save first reads the blob and refuses
 * (transient, so sync pulls, merges and saves again) to overwrite one that this connector never loaded and
 * whose saver's writes are therefore not in the entry being saved: that saver may have flushed and gone, and
 * nothing would bring its writes back. What remains is the moment between that read and the write.
 */
export function rawConnector(fns: RawFunctions): Connector {
  if (typeof fns?.upload !== 'function' || typeof fns?.download !== 'function') {
    throw new TypeError(`rawConnector needs { upload, download } functions, got ${String(fns)}`)
  }
  /**
   * Per database and branch, the CID of the blob this connector last loaded (sync merged or skipped it) or
   * saved (sync's own entry).
   */
  const loaded = new Map<string, string>()
  const blobCid = async (params: RawParams, call: CallOptions) => {
    const bytes = toBytes(await fns.download(params, call), params)
    return bytes && (await fileCid(bytes)).toString()
  }
  return {
    name: 'raw',
    async upload(db, cid, bytes, call = {}) {
      checkDbName(db)
      await verifyCid(cid, bytes)
      await fns.upload(bytes, { type: 'data', name: db, car: cid }, call)
    },
    async download(db, cid, call = {}) {
      checkDbName(db)
      const params: RawParams = { type: 'data', name: db, car: cid }
      return toBytes(await fns.download(params, call), params)
    },
    async save(db, branch, entry: MetaEntry, replaces, call = {}) {
      checkDbName(db)
      checkBranch(branch)
      await verifyCid(entry.cid, entry.bytes)
      const params: RawParams = { type: 'meta', name: db, branch }
      const current = await blobCid(params, call)
      const last = loaded.get(JSON.stringify([db, branch]))
      if (current === undefined && last !== undefined) {
        // The blob this connector loaded or saved is gone: the store was emptied, and the files it named may be
        // gone too. Transient: sync pulls, finds the branch empty, uploads again what the head needs, and saves.
        loaded.delete(JSON.stringify([db, branch]))
        throw new Error(
          `the meta blob of ${JSON.stringify(db)} branch ${JSON.stringify(branch)} (${last}) is gone: the store was emptied since this device ` +
            'last loaded it; not saving before the files are checked',
        )
      }
      const known = current === undefined || current === entry.cid || current === last
      if (!known && !replaces.includes(current)) {
        throw new Error(
          `the meta blob of ${JSON.stringify(db)} branch ${JSON.stringify(branch)} is ${current}, saved by another device ` +
            'since this one last loaded it: not overwriting it before it is merged',
        )
      }
      // One blob per branch: the new entry replaces everything, including `replaces`.
      await fns.upload(entry.bytes, params, call)
      loaded.set(JSON.stringify([db, branch]), entry.cid)
    },
    async load(db, branch, call = {}) {
      checkDbName(db)
      checkBranch(branch)
      const params: RawParams = { type: 'meta', name: db, branch }
      const bytes = toBytes(await fns.download(params, call), params)
      if (!bytes) {
        loaded.delete(JSON.stringify([db, branch]))
        return []
      }
      const cid = (await fileCid(bytes)).toString()
      loaded.set(JSON.stringify([db, branch]), cid)
      return [{ cid, bytes }]
    },
  }
}
