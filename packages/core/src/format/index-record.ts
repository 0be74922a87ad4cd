import { CID } from 'multiformats/cid'
import { CorruptRecordError } from '../errors.js'
import { decodeRecordMap, encodeRecord } from './record.js'
import { recordVersion } from './version.js'

/**
 * A persisted index: its tree root and the file holding it, and the document tree root it reflects (with
 * its file), so a reopened database answers the first query from the stored tree and brings it up to date
 * with a diff from `docRoot` instead of a rebuild.
 */
export interface IndexState {
  /** `field:<field>` or `named:<index name>` (see indexIdentity). */
  name: string
  /** A named index: the source text of the map function that built it (another source rebuilds it). */
  source?: string
  root: CID
  file: string
  docRoot: CID
  docFile: string
  /**
   * The clock event whose tree `docRoot` is, when that tree is a delta head's (derived, in no file: see
   * format/event.ts): a reopened database derives it again from the event, which `docFile` holds. Optional,
   * added within version 1 (earlier readers ignore it and rebuild the index instead).
   */
  docEvent?: CID
}

/**
 * The local record `indexes.<branch>`: `{ v: 2, i: [IndexState…] }`. Version 2 (same layout) says the index
 * trees' keys were encoded from objects read in dag-cbor's key order (format/map-key-order.ts). Before that,
 * an emitted object was encoded in the key order its document was written in until a reopen, so a version 1
 * tree may hold keys that a query no longer finds: a version 1 record is read as no index at all, and each
 * index is built again when first queried (derived data: nothing is lost).
 */
export const INDEX_RECORD_VERSION = 2

export function encodeIndexRecord(indexes: Iterable<IndexState>): Uint8Array {
  return encodeRecord({ v: INDEX_RECORD_VERSION, i: [...indexes].map(plainIndex) })
}

export function decodeIndexRecord(bytes: Uint8Array, where: string): IndexState[] {
  const value = decodeRecordMap(bytes, where)
  if (recordVersion(value, where, INDEX_RECORD_VERSION) < 2) return []
  const list = value.i
  if (!Array.isArray(list)) throw new CorruptRecordError(where, 'i is not a list of indexes')
  return list.map((index, at) => {
    const state = index as Partial<IndexState> | null
    const ok =
      state !== null &&
      typeof state === 'object' &&
      typeof state.name === 'string' &&
      (state.source === undefined || typeof state.source === 'string') &&
      CID.asCID(state.root) !== null &&
      typeof state.file === 'string' &&
      CID.asCID(state.docRoot) !== null &&
      typeof state.docFile === 'string' &&
      (state.docEvent === undefined || CID.asCID(state.docEvent) !== null)
    if (!ok) throw new CorruptRecordError(where, `index ${at} is not { name, source?, root, file, docRoot, docFile, docEvent? }`)
    return plainIndex(state as IndexState)
  })
}

function plainIndex(index: IndexState): IndexState {
  const { name, source, root, file, docRoot, docFile, docEvent } = index
  return {
    name,
    ...(source === undefined ? {} : { source }),
    root,
    file,
    docRoot,
    docFile,
    ...(docEvent === undefined ? {} : { docEvent }),
  }
}
