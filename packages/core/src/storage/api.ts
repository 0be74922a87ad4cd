/**
 * Local persistence behind one interface: files (Node), IndexedDB (browser), memory (tests).
 * Stored files are immutable and named by their CID; small named records (meta, keybag, outbox) are
 * replaced atomically: a crash leaves the old or the new record, never half of one.
 */
export interface Storage {
  /** Where the data lives, for people (a directory, an IndexedDB name, 'memory'). */
  readonly location: string
  readFile(cid: string): Promise<Uint8Array | undefined>
  /**
   * Atomic; durable before it resolves, or at the latest when the next record change or file deletion resolves
   * (Node's write log makes a transaction's file and head record durable with one fsync). A write is
   * acknowledged only after its record change. Writing an existing file again is a no-op.
   */
  writeFile(cid: string, bytes: Uint8Array): Promise<void>
  /**
   * Optional: `writeFile` of several files in one storage transaction, for a storage that makes each write
   * durable on its own (IndexedDB: one flush for a transaction cut into files, not one per file).
   */
  writeFiles?(files: [cid: string, bytes: Uint8Array][]): Promise<void>
  deleteFile(cid: string): Promise<void>
  listFiles(): Promise<string[]>
  /**
   * Optional: the stored files and their sizes in bytes, without reading them (info() sums them; reading
   * every file for it cost a read of the whole database). Without it, info() reads each file.
   */
  fileSizes?(): Promise<Map<string, number>>
  readRecord(name: string): Promise<Uint8Array | undefined>
  /** Atomic replace, durable before it resolves. */
  writeRecord(name: string, bytes: Uint8Array): Promise<void>
  /**
   * Read-modify-write of one record that no other writer of the same data can interleave with (one IndexedDB
   * transaction; in Node the directory lock makes this process the only writer). `change` gets the current
   * bytes and returns the new ones, or `undefined` to keep them; it must be synchronous. Resolves with the
   * bytes stored afterwards, durable. Used where two tabs may race: creating the key, moving the head.
   */
  updateRecord(name: string, change: (current: Uint8Array | undefined) => Uint8Array | undefined): Promise<Uint8Array | undefined>
  /**
   * Optional: `writeFile` and `updateRecord` done before they return, with the same guarantees, for the
   * common transaction (a single put: one small file, then the head record), or undefined when they cannot be
   * done now (another instance runs a `whileAlone` task, which the asynchronous calls wait for). A storage
   * whose writes only answer with promises (IndexedDB) has no such method.
   */
  writeNow?(): SynchronousWrites | undefined
  deleteRecord(name: string): Promise<void>
  /** The names of the stored records (inspection reads the per-backend sync records; destroy() deletes them). */
  listRecords(): Promise<string[]>
  close(): Promise<void>
  /**
   * Optional: calls `listener` with a record's name after ANOTHER instance over the same data (another browser
   * tab, or another `database()` of the same name in this process) replaced or deleted it. Returns the
   * unsubscribe function. IndexedDB storage has it (BroadcastChannel); file and memory storage have it for
   * instances in one process.
   */
  watch?(listener: (record: string) => void): () => void
  /**
   * Optional: runs `task` only while no other instance over the same data is open (another tab, another
   * `database()` in this process) and keeps instances that open meanwhile waiting until it ends; resolves
   * false without running it otherwise. Compaction uses it: deleting files another instance may still need
   * is safe only then. Without it, the storage is never shared.
   */
  whileAlone?(task: () => Promise<void>): Promise<boolean>
}

/** See Storage.writeNow. */
export interface SynchronousWrites {
  writeFile(cid: string, bytes: Uint8Array): void
  updateRecord(name: string, change: (current: Uint8Array | undefined) => Uint8Array | undefined): Uint8Array | undefined
}
