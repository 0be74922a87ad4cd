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
}

/** The local record `indexes.<branch>`: `{ v: 1, i: [IndexState…] }` (version 1 since it was first written). */
export const INDEX_RECORD_VERSION = 1

export function encodeIndexRecord(indexes: Iterable<IndexState>): Uint8Array {
  return encodeRecord({ v: INDEX_RECORD_VERSION, i: [...indexes].map(plainIndex) })
}

export function decodeIndexRecord(bytes: Uint8Array, where: string): IndexState[] {
  const value = decodeRecordMap(bytes, where)
  recordVersion(value, where, INDEX_RECORD_VERSION)
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
      typeof state.docFile === 'string'
    if (!ok) throw new CorruptRecordError(where, `index ${at} is not { name, source?, root, file, docRoot, docFile }`)
    return plainIndex(state as IndexState)
  })
}

function plainIndex(index: IndexState): IndexState {
  const { name, source, root, file, docRoot, docFile } = index
  return source === undefined ? { name, root, file, docRoot, docFile } : { name, source, root, file, docRoot, docFile }
}
