import { FormatVersionError, IntegrityError } from '../errors.js'
import { CID, encodeBlock, type Block } from './block.js'
import type { FileHeader } from './file.js'
import type { Entry } from './tree-node.js'

/**
 * Attachments (`_files`) are stored in three shapes, all version 1:
 * - the reference, a plain map in the document body at `_files[name]`: `{ v, cid, size, type, lastModified? }`,
 *   `cid` linking the manifest block (a dag-cbor link, so the tree leaf holding the document links it);
 * - the manifest, a block in the file of the transaction that stored the attachment (and copied by
 *   compaction): `{ v, size, chunks: [[chunk file CID, chunk block CID]…] }` in content order; it links every
 *   chunk block, so the header of the file holding it names every chunk file (sync uploads them with it);
 * - a chunk file per ≤ 1 MiB of content: a stored file like any other (envelope around a CAR) whose header is
 *   `{ v: 1, heads: [], locations: [] }` and whose one block is the chunk's bytes as a dag-cbor byte string.
 */
export const ATTACHMENT_VERSION = 1

export interface AttachmentRef {
  v: 1
  cid: CID
  size: number
  type: string
  lastModified?: number
}

export interface AttachmentManifest {
  v: 1
  size: number
  chunks: [file: CID, block: CID][]
}

/** The header of every chunk file: no heads, no references. */
export const CHUNK_FILE_HEADER: FileHeader = { v: 1, heads: [], locations: [] }

export function encodeAttachmentRef(ref: Omit<AttachmentRef, 'v'>): AttachmentRef {
  const out: AttachmentRef = { v: ATTACHMENT_VERSION, cid: ref.cid, size: ref.size, type: ref.type }
  if (ref.lastModified !== undefined) out.lastModified = ref.lastModified
  return out
}

/**
 * Whether a stored `_files` value is an attachment reference (of any version). A document written before
 * attachments existed may hold other data under `_files`: that is left as it is.
 */
export function isAttachmentRef(value: unknown): value is { v: number; cid: CID } {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) return false
  const ref = value as Partial<AttachmentRef>
  return Number.isInteger(ref.v) && (ref.v as number) >= 1 && CID.asCID(ref.cid) !== null
}

/** A stored reference checked against its version; `where` names it (document and file name). */
export function decodeAttachmentRef(value: unknown, where: string): AttachmentRef {
  if (!isAttachmentRef(value)) throw new IntegrityError(where, 'not an attachment reference { v, cid, size, type }')
  if (value.v > ATTACHMENT_VERSION) throw new FormatVersionError(`The attachment ${where}`, value.v, ATTACHMENT_VERSION)
  const ref = value as Partial<AttachmentRef>
  const ok =
    value.v === ATTACHMENT_VERSION &&
    isSize(ref.size) &&
    typeof ref.type === 'string' &&
    (ref.lastModified === undefined || Number.isFinite(ref.lastModified))
  if (!ok) throw new IntegrityError(where, 'attachment reference is not { v: 1, cid, size, type, lastModified? }')
  return value as AttachmentRef
}

export function encodeManifest(size: number, chunks: [CID, CID][]): Promise<Block<AttachmentManifest>> {
  return encodeBlock<AttachmentManifest>({ v: ATTACHMENT_VERSION, size, chunks })
}

export function decodeManifest(value: unknown, cid: CID | string): AttachmentManifest {
  const manifest = value as Partial<AttachmentManifest> | null
  const v = manifest !== null && typeof manifest === 'object' ? (manifest.v as unknown) : undefined
  if (typeof v === 'number' && Number.isInteger(v) && v > ATTACHMENT_VERSION) {
    throw new FormatVersionError(`The attachment manifest ${cid}`, v, ATTACHMENT_VERSION)
  }
  const ok =
    v === ATTACHMENT_VERSION &&
    isSize(manifest!.size) &&
    Array.isArray(manifest!.chunks) &&
    manifest!.chunks.every(
      (pair) => Array.isArray(pair) && pair.length === 2 && CID.asCID(pair[0]) !== null && CID.asCID(pair[1]) !== null,
    )
  if (!ok) throw new IntegrityError(String(cid), 'block is not an attachment manifest { v: 1, size, chunks }')
  return manifest as AttachmentManifest
}

/** A chunk block: the bytes as a dag-cbor byte string. */
export function encodeChunk(bytes: Uint8Array): Promise<Block<Uint8Array>> {
  return encodeBlock(bytes)
}

export function decodeChunk(value: unknown, cid: CID | string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new IntegrityError(String(cid), 'block is not an attachment chunk (a byte string)')
  return value
}

/**
 * The manifests the documents of a tree leaf link to (winning and conflicting versions): the links of the
 * leaf block, so that the file holding it names where they live and compaction keeps them.
 */
export function attachmentLinks(entries: readonly Entry[]): CID[] {
  // Most entries name no attachment: nothing is allocated for them (this runs for every event and tree leaf).
  let links: Map<string, CID> | undefined
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!
    links = addAttachmentLinks(entry[2], links)
    const conflicts = entry[3]?.c
    if (conflicts) for (const [, body] of conflicts) links = addAttachmentLinks(body, links)
  }
  return links ? [...links.values()] : []
}

function addAttachmentLinks(body: Entry[2], links: Map<string, CID> | undefined): Map<string, CID> | undefined {
  const files = body?._files
  if (files === null || typeof files !== 'object' || Array.isArray(files)) return links
  for (const value of Object.values(files as Record<string, unknown>)) {
    if (!isAttachmentRef(value)) continue
    const cid = CID.asCID(value.cid)!
    ;(links ??= new Map()).set(cid.toString(), cid)
  }
  return links
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}
