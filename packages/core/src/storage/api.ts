/**
 * Local persistence behind one interface: files (Node), IndexedDB (browser), memory (tests).
 * Stored files are immutable and named by their CID; small named records (meta, keybag, outbox) are
 * replaced atomically: a crash leaves the old or the new record, never half of one.
 */
export interface Storage {
  /** Where the data lives, for people (a directory, an IndexedDB name, 'memory'). */
  readonly location: string
  readFile(cid: string): Promise<Uint8Array | undefined>
  /** Durable and atomic before it resolves. Writing an existing file again is a no-op. */
  writeFile(cid: string, bytes: Uint8Array): Promise<void>
  deleteFile(cid: string): Promise<void>
  listFiles(): Promise<string[]>
  readRecord(name: string): Promise<Uint8Array | undefined>
  /** Atomic replace, durable before it resolves. */
  writeRecord(name: string, bytes: Uint8Array): Promise<void>
  deleteRecord(name: string): Promise<void>
  close(): Promise<void>
  /**
   * Optional: calls `listener` with a record's name after ANOTHER instance over the same data (another browser
   * tab) replaced or deleted it. Returns the unsubscribe function. IndexedDB storage has it (BroadcastChannel).
   */
  watch?(listener: (record: string) => void): () => void
}
