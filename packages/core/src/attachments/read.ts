import { open } from '../crypto/envelope.js'
import { MissingBlockError, type BlockStore } from '../blockstore/store.js'
import type { CID } from '../format/block.js'
import { IntegrityError } from '../errors.js'
import { decodeAttachmentRef, decodeChunk, decodeManifest, isAttachmentRef, type AttachmentRef } from '../format/attachment.js'
import { decodeCar, verifyBlock } from '../format/file.js'
import type { Attachment } from './api.js'

/**
 * The `_files` of a stored body as read: each attachment reference becomes its metadata plus `file()` and
 * `stream()` (not enumerable). The stored body is not changed; values under `_files` that are not references
 * (data a document held there before attachments existed) are left as they are. `where` names the document.
 */
export function presentFiles(body: Record<string, unknown>, store: BlockStore | undefined, where: string): Record<string, unknown> {
  const files = body._files
  if (files === null || typeof files !== 'object' || Array.isArray(files) || files instanceof Uint8Array) return body
  const entries = Object.entries(files as Record<string, unknown>)
  if (!entries.some(([, value]) => isAttachmentRef(value))) return body
  const presented: Record<string, unknown> = {}
  for (const [name, value] of entries) {
    presented[name] = isAttachmentRef(value) ? present(value, store, name, `${where} _files.${name}`) : value
  }
  return { ...body, _files: presented }
}

function present(value: { v: number }, store: BlockStore | undefined, name: string, where: string): Attachment | object {
  let ref
  try {
    ref = decodeAttachmentRef(value, where)
  } catch (error) {
    // A newer (or damaged) reference reads as what it holds; opening it says why it cannot be.
    const failing = { ...value }
    Object.defineProperty(failing, 'file', { value: () => Promise.reject(error), enumerable: false })
    Object.defineProperty(failing, 'stream', {
      value: () => new ReadableStream({ start: (controller) => controller.error(error) }),
      enumerable: false,
    })
    return failing
  }
  const attachment: Omit<Attachment, 'file' | 'stream'> = { type: ref.type, size: ref.size, cid: ref.cid.toString() }
  if (ref.lastModified !== undefined) attachment.lastModified = ref.lastModified
  const from = (): BlockStore => {
    if (!store) throw new Error(`${where} can only be opened from a document read with get(), allDocs(), changes() or query()`)
    return store
  }
  const file = async () => readFile(from(), ref, name)
  const stream = () => readStream(from(), ref)
  Object.defineProperty(attachment, 'file', { value: file, enumerable: false })
  Object.defineProperty(attachment, 'stream', { value: stream, enumerable: false })
  return attachment as Attachment
}

/**
 * Reads an attachment's chunks in order: each chunk file comes from local storage or, never fetched before,
 * from a connected backend (kept locally after), is verified against its CID before it is decrypted, and its
 * block against the CID the manifest names.
 */
async function readFile(store: BlockStore, ref: AttachmentRef, name: string): Promise<File> {
  const parts: Uint8Array[] = []
  for await (const chunk of chunks(store, ref)) parts.push(chunk)
  const options: FilePropertyBag = { type: ref.type }
  if (ref.lastModified !== undefined) options.lastModified = ref.lastModified
  return new File(parts as BlobPart[], name, options)
}

/** The content in order; the last step checks the total against the manifest and the reference. */
async function* chunks(store: BlockStore, ref: AttachmentRef): AsyncGenerator<Uint8Array> {
  const manifest = decodeManifest((await store.get(ref.cid)).value, ref.cid)
  if (manifest.size !== ref.size) {
    throw new IntegrityError(ref.cid.toString(), `the attachment's manifest says ${manifest.size} bytes, its reference ${ref.size}`)
  }
  let size = 0
  for (const [fileCid, blockCid] of manifest.chunks) {
    const chunk = await readChunk(store, fileCid.toString(), blockCid)
    size += chunk.length
    if (size > manifest.size) break
    yield chunk
  }
  if (size !== manifest.size) throw new IntegrityError(ref.cid.toString(), `attachment chunks hold ${size} bytes, its manifest says ${manifest.size}`)
}

function readStream(store: BlockStore, ref: AttachmentRef): ReadableStream<Uint8Array> {
  let source: AsyncGenerator<Uint8Array> | undefined
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      source ??= chunks(store, ref)
      const { value, done } = await source.next()
      if (done) controller.close()
      else controller.enqueue(value)
    },
    async cancel() {
      await source?.return(undefined)
    },
  })
}

/**
 * One chunk, from the file the manifest names or, when that one cannot be had, from another file known to
 * hold the same block (the same content stored again later: a compaction keeps the file its headers name).
 */
async function readChunk(store: BlockStore, named: string, block: CID): Promise<Uint8Array> {
  const files = [named, ...store.locationsOf(block).filter((file) => file !== named)]
  let failure: unknown
  for (const file of files) {
    let sealed: Uint8Array
    try {
      sealed = await store.fileBytes(file)
    } catch (error) {
      if (!(error instanceof MissingBlockError)) throw error
      failure ??= error
      continue
    }
    const plain = await open(store.key, sealed, file, store.database)
    const { blocks } = await decodeCar(plain, file)
    const raw = blocks.find((candidate) => candidate.cid.equals(block))
    if (!raw) throw new IntegrityError(file, `attachment chunk file does not hold block ${block}`)
    return decodeChunk((await verifyBlock(raw, file)).value, block)
  }
  throw failure
}
