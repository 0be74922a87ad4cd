import { CID } from '../format/block.js'
import { describe } from '../kit/names.js'
import { isWellFormed, loneSurrogate } from '../format/well-formed.js'
import type { Body } from '../format/tree-node.js'

/** New content to store as an attachment: read in chunks at commit time, never whole. */
export class NewAttachment {
  constructor(
    readonly source: Blob | Uint8Array,
    readonly type: string,
    readonly lastModified: number | undefined,
  ) {}
}

/** An attachment read from a document and written back: its stored chunks are reused. */
export class KeptAttachment {
  constructor(
    readonly cid: CID,
    readonly type: string,
    readonly lastModified: number | undefined,
  ) {}
}

export type PendingAttachment = NewAttachment | KeptAttachment

/**
 * Checks a document's `_files` and returns what each name will hold; a value that is not an attachment is a
 * TypeError naming the field. `field(path)` names a field of the document in errors.
 */
export function checkFiles(value: unknown, where: string, field: (path: string) => string): Record<string, PendingAttachment> {
  if (!isPlainObject(value)) {
    throw new TypeError(`${where}: ${field('_files')} must be an object of attachments by file name, got ${describe(value)}`)
  }
  const out: Record<string, PendingAttachment> = {}
  for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
    const path = `_files.${name}`
    const fail = (what: string): never => {
      throw new TypeError(`${where}: ${field(path)} ${what}`)
    }
    if (name.length === 0) fail('has an empty file name')
    // Read back, such a name would differ from the one written (U+FFFD), or (`__proto__`) not be read back at all.
    if (!isWellFormed(name)) fail(`is named by ${loneSurrogate(name)}, which cannot be stored`)
    if (name === '__proto__') fail('is named "__proto__", which cannot be a file name')
    if (item === undefined) continue
    if (typeof Blob !== 'undefined' && item instanceof Blob) {
      const lastModified = typeof File !== 'undefined' && item instanceof File ? item.lastModified : undefined
      out[name] = new NewAttachment(item, item.type, lastModified)
      continue
    }
    if (!isPlainObject(item)) {
      fail(`is ${describe(item)}, which is not an attachment: give a Blob or File, { data: Uint8Array, type }, or an attachment read from a document`)
    }
    const fields = item as Record<string, unknown>
    const lastModified = fields.lastModified
    if (lastModified !== undefined && (typeof lastModified !== 'number' || !Number.isFinite(lastModified))) {
      fail(`has lastModified ${describe(lastModified)}, not a number of milliseconds`)
    }
    if (typeof fields.type !== 'string') fail(`has type ${describe(fields.type)}, not a MIME type string`)
    if (!isWellFormed(fields.type as string)) fail(`has type ${loneSurrogate(fields.type as string)}, which cannot be stored`)
    if ('data' in fields) {
      if (!(fields.data instanceof Uint8Array)) fail(`has data ${describe(fields.data)}, not a Uint8Array`)
      // A copy: later changes to the caller's array must not reach what is stored.
      out[name] = new NewAttachment((fields.data as Uint8Array).slice(), fields.type as string, lastModified as number | undefined)
    } else if ('cid' in fields) {
      out[name] = new KeptAttachment(parseCid(fields.cid, fail), fields.type as string, lastModified as number | undefined)
    } else {
      fail('has neither data (new content) nor cid (an attachment read from a document)')
    }
  }
  return out
}

function parseCid(value: unknown, fail: (what: string) => never): CID {
  const given = CID.asCID(value)
  if (given) return given
  if (typeof value === 'string') {
    try {
      return CID.parse(value)
    } catch {
      // reported below
    }
  }
  return fail(`has cid ${describe(value)}, which is not the CID of an attachment`)
}

/** Whether a body still holds attachments to store (a write not screened yet). */
export function pendingAttachments(body: Body): [string, PendingAttachment][] {
  const files = body?._files
  if (files === null || typeof files !== 'object') return []
  return Object.entries(files as Record<string, unknown>).filter(
    (pair): pair is [string, PendingAttachment] => pair[1] instanceof NewAttachment || pair[1] instanceof KeptAttachment,
  )
}

function isPlainObject(value: unknown): value is object {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}
