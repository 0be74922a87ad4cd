import type { BlockStore } from '../blockstore/store.js'
import { presentFiles } from '../attachments/read.js'
import { CID } from '../format/block.js'
import type { Body } from '../format/tree-node.js'
import type { Doc, StoredDoc } from './doc.js'

/**
 * A document as a reader gets it: its own copy, nested objects and arrays included, with attachments as
 * metadata. The stored value is shared by every read of a cached block, so a caller changing what it read
 * (`doc.tags.push(tag)` before deciding not to save, a map function sorting `doc.tags`) changed what later
 * reads returned, until the block left the cache.
 */
export function toDoc<T extends Doc>(id: string, body: Body, store?: BlockStore): StoredDoc<T> {
  const doc: Record<string, unknown> = { _id: id }
  if (!body) return doc as StoredDoc<T>
  copyFields(body, doc)
  // Most documents have no attachments: no message string made for them.
  return (body._files === undefined ? doc : presentFiles(doc, store, `document ${JSON.stringify(id)}`)) as StoredDoc<T>
}

/** A deep copy of a stored value (what dag-cbor decodes: plain objects, arrays, bytes, CIDs, scalars). */
export function readCopy<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length)
    for (let i = 0; i < value.length; i++) out[i] = readCopy(value[i])
    return out as T
  }
  if (value instanceof Uint8Array) return value.slice() as T
  // An attachment reference's CID: immutable.
  if (value instanceof CID) return value
  return copyFields(value as Record<string, unknown>, {}) as T
}

/** Copies each field of `from` into `to` (indexed: a read runs this before the JIT has optimized it). */
function copyFields(from: Record<string, unknown>, to: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(from)
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!
    const item = readCopy(from[key])
    // Assigning '__proto__' would set the prototype instead of adding the field.
    if (key === '__proto__') Object.defineProperty(to, key, { value: item, enumerable: true, writable: true, configurable: true })
    else to[key] = item
  }
  return to
}
