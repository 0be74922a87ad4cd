import type { BlockStore } from '../blockstore/store.js'
import { CID, type Block } from '../format/block.js'
import {
  CHUNK_FILE_HEADER,
  decodeManifest,
  encodeAttachmentRef,
  encodeChunk,
  encodeManifest,
  type AttachmentRef,
} from '../format/attachment.js'
import type { Body } from '../format/tree-node.js'
import { KeptAttachment, pendingAttachments, type NewAttachment } from './input.js'

/**
 * Content is stored in chunks of this many bytes, each its own encrypted file: a large file is read, sealed
 * and written one chunk at a time, never held whole.
 */
export const CHUNK_SIZE = 1 << 20

/**
 * Replaces the attachments of a body about to be committed by their stored references: new content is
 * written as chunk files now (in the write queue, so no compaction runs in between), and its manifest is
 * kept in the store until the transaction's file, whose leaf links it, writes it. A kept attachment must name
 * a manifest this database holds; it is reused as it is. `where` names the document in errors.
 */
export async function storeAttachments(store: BlockStore, body: Body, where: string): Promise<void> {
  const pending = pendingAttachments(body)
  if (pending.length === 0) return
  const files = body!._files as Record<string, unknown>
  for (const [name, attachment] of pending) {
    files[name] =
      attachment instanceof KeptAttachment
        ? await keep(store, attachment, `${where}: _files.${name}`)
        : await storeNew(store, attachment)
  }
}

async function storeNew(store: BlockStore, attachment: NewAttachment): Promise<AttachmentRef> {
  const { source, type, lastModified } = attachment
  const size = source instanceof Uint8Array ? source.length : source.size
  const chunks: [CID, CID][] = []
  // Equal chunks (a run of zeros) share one file: a file header names one file per block.
  const written = new Map<string, CID>()
  for (let at = 0; at < size; at += CHUNK_SIZE) {
    const end = Math.min(at + CHUNK_SIZE, size)
    const bytes = source instanceof Uint8Array ? source.subarray(at, end) : new Uint8Array(await source.slice(at, end).arrayBuffer())
    const block = await encodeChunk(bytes)
    let file = written.get(block.cid.toString())
    if (!file) {
      file = CID.parse(await store.writeChunkFile(CHUNK_FILE_HEADER, block))
      written.set(block.cid.toString(), file)
    }
    chunks.push([file, block.cid])
  }
  const manifest = await encodeManifest(size, chunks)
  store.putUnsaved(manifest, chunks.map(([, block]) => block))
  return encodeAttachmentRef({ cid: manifest.cid, size, type, lastModified })
}

async function keep(store: BlockStore, attachment: KeptAttachment, where: string): Promise<AttachmentRef> {
  const { cid, type, lastModified } = attachment
  if (!store.has(cid) && store.locationsOf(cid).length === 0) {
    throw new TypeError(`${where}: cid ${cid} names no attachment stored in this database`)
  }
  const block = await store.get(cid)
  let manifest
  try {
    manifest = decodeManifest(block.value, cid)
  } catch {
    throw new TypeError(`${where}: cid ${cid} names a block of this database that is not an attachment`)
  }
  return encodeAttachmentRef({ cid, size: manifest.size, type, lastModified })
}

/**
 * Before a commit: opens the file holding each manifest the new leaves link, when this device has not yet.
 * The new file names that file; a push walks from it and stops only at files it knows the backend holds,
 * which a file downloaded from that backend is. Unopened, the walk would read through it into the chunk
 * files and download content this device never asked for. Best effort: a file that cannot be had now is
 * walked later.
 */
export async function openLinkedManifests(store: BlockStore, blocks: readonly { block: Block; links: CID[] }[]): Promise<void> {
  for (const { block, links } of blocks) {
    if ((block.value as { l?: unknown } | null)?.l === 0) await openManifests(store, links)
  }
}

/** Whether `openLinkedManifests` would have a manifest to open for `blocks` (a commit made in one step cannot wait for it). */
export function linksUnopenedManifests(store: BlockStore, blocks: readonly { block: Block; links: CID[] }[]): boolean {
  return blocks.some(({ block, links }) => (block.value as { l?: unknown } | null)?.l === 0 && links.some((link) => !store.has(link)))
}

/** Loads the blocks of `links` not in memory (a delta event's attachment manifests), as openLinkedManifests does for a leaf's. */
export async function openManifests(store: BlockStore, links: readonly CID[]): Promise<void> {
  for (const link of links) {
    if (store.has(link)) continue
    await store.get(link).catch(() => {})
  }
}
