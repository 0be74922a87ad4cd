/**
 * What a document's `_files` holds. Written: a `Blob`/`File`, `{ data, type }`, or the `Attachment` read from
 * a document (kept as it is: nothing is stored or uploaded again). Read: an `Attachment`.
 */
export type AttachmentInput = Blob | { data: Uint8Array; type: string; lastModified?: number } | Attachment

/**
 * An attachment as read: plain metadata (what the document stores) and `file()`, which fetches the content
 * when first called (from local storage, or from a connected backend on a device that never opened it),
 * verifies every chunk against its CID, decrypts it and returns a `File`.
 */
export interface Attachment {
  /** The MIME type given when it was stored ('' when none). */
  type: string
  /** Its length in bytes. */
  size: number
  /** The CID of its manifest block, which names the encrypted chunk files holding the content. */
  cid: string
  lastModified?: number
  /** Not enumerable: a copy of the document made with JSON or structuredClone holds the metadata only. */
  file(): Promise<File>
  /**
   * The content chunk by chunk (each verified and decrypted as it is read), for content too large to hold
   * whole: at most one chunk (1 MiB) is held at a time. Not enumerable, like `file()`.
   */
  stream(): ReadableStream<Uint8Array>
}
