import { expect } from 'vitest'
import { readParts } from './bytes.js'

/** What a document's attachment reads back as (core's Attachment, without importing core). */
export interface AttachmentLike {
  type: string
  size: number
  file(): Promise<Blob>
  stream(): ReadableStream<Uint8Array>
}

/**
 * Checks an attachment read back (typically on another device): its metadata, `file()` and `stream()` all
 * give exactly `data`, the stream in parts of `partSizes` bytes (one per stored chunk).
 */
export async function expectAttachmentReadsBack(attachment: AttachmentLike, data: Uint8Array, type: string, partSizes: number[]): Promise<void> {
  expect(attachment).toMatchObject({ type, size: data.length })
  const file = await attachment.file()
  expect(file.size).toBe(data.length)
  expect(Buffer.from(await file.arrayBuffer()).equals(data)).toBe(true)
  const parts = await readParts(attachment.stream())
  expect(parts.map((part) => part.length)).toEqual(partSizes)
  expect(Buffer.concat(parts).equals(data)).toBe(true)
}
