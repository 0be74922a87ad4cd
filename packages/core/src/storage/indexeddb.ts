import type { Storage } from './api.js'
import type { Durability } from './durability.js'

const FILES = 'files'
const RECORDS = 'records'

/** IndexedDB storage, plus a way to hear that another tab (or another instance) replaced a record. */
export interface IndexedDBStorage extends Storage {
  /**
   * Calls `listener` with a record's name after another instance of this database (another tab of the
   * same origin, or another `database()` in this one) replaced or deleted it. Returns the unsubscribe function.
   */
  watch(listener: (record: string) => void): () => void
}

/** The IndexedDB database name: `proj:<name>`, or `proj:<dir>/<name>` when a dir is given. */
export function indexedDBName(name: string, options: { dir?: string } = {}): string {
  return options.dir ? `proj:${options.dir}/${name}` : `proj:${name}`
}

/**
 * Browser storage in one IndexedDB database with two object stores: `files` (stored files by CID,
 * immutable) and `records` (meta, keybag, outbox). Every write is one readwrite transaction and resolves when
 * the transaction completes, so a write is all-or-nothing; durability 'power' asks for the transaction hint
 * `durability: 'strict'` (flushed to disk before complete), 'process' for `'relaxed'` (Chrome's default);
 * `updateRecord` reads and writes in one transaction, which tabs cannot interleave.
 * Record changes are announced on a BroadcastChannel of the same name, so other tabs can re-read them.
 */
export function indexedDBStorage(name: string, options: { dir?: string; durability?: Durability } = {}): IndexedDBStorage {
  const hint: IDBTransactionDurability = options.durability === 'process' ? 'relaxed' : 'strict'
  if (typeof indexedDB === 'undefined') {
    throw new TypeError(`database(${JSON.stringify(name)}): storage 'indexeddb' needs a browser (globalThis.indexedDB is missing)`)
  }
  const location = indexedDBName(name, options)
  let closed = false
  const membership = joinMembers(location, () => closed)
  const opening = membership.joined.then(() => openDatabase(location))
  opening.catch(() => {})
  const listeners = new Set<(record: string) => void>()
  const channel = typeof BroadcastChannel === 'undefined' ? undefined : new BroadcastChannel(location)
  if (channel) {
    channel.onmessage = (event: MessageEvent<unknown>) => {
      const data = event.data as { record?: unknown } | null
      if (!data || typeof data.record !== 'string') return
      for (const listener of listeners) {
        try {
          listener(data.record)
        } catch (error) {
          console.error(`IndexedDB storage ${JSON.stringify(location)}: a watch() listener threw:`, error)
        }
      }
    }
  }

  async function run<T>(
    store: string,
    mode: IDBTransactionMode,
    body: (objects: IDBObjectStore) => IDBRequest<T> | void,
  ): Promise<T | undefined> {
    if (closed) throw new Error(`IndexedDB storage ${JSON.stringify(location)} is closed`)
    const db = await opening
    return new Promise<T | undefined>((resolve, reject) => {
      const tx = mode === 'readwrite' ? db.transaction(store, mode, { durability: hint }) : db.transaction(store, mode)
      let result: T | undefined
      const request = body(tx.objectStore(store))
      if (request) request.onsuccess = () => (result = request.result)
      // Resolve only when the transaction has committed: then the write is as durable as the hint asked.
      tx.oncomplete = () => resolve(result)
      tx.onerror = () => reject(tx.error ?? new Error(`IndexedDB transaction on ${JSON.stringify(location)} failed`))
      tx.onabort = () => reject(tx.error ?? new Error(`IndexedDB transaction on ${JSON.stringify(location)} was aborted`))
    })
  }

  async function writeFiles(list: [cid: string, bytes: Uint8Array][]): Promise<void> {
    const copies = list.map(([cid, bytes]) => [cid, bytes.slice()] as const)
    await run(FILES, 'readwrite', (files) => {
      for (const [cid, copy] of copies) {
        // A stored file is immutable: writing an existing one again is a no-op.
        const existing = files.getKey(cid)
        existing.onsuccess = () => {
          if (existing.result === undefined) files.put(copy, cid)
        }
      }
    })
  }

  function announce(record: string): void {
    channel?.postMessage({ record })
  }

  return {
    location,
    async readFile(cid) {
      return asBytes(await run<unknown>(FILES, 'readonly', (files) => files.get(cid)))
    },
    writeFile: (cid, bytes) => writeFiles([[cid, bytes]]),
    writeFiles,
    async deleteFile(cid) {
      await run(FILES, 'readwrite', (files) => files.delete(cid))
    },
    async listFiles() {
      const keys = await run(FILES, 'readonly', (files) => files.getAllKeys())
      return (keys ?? []).map(String)
    },
    async readRecord(record) {
      return asBytes(await run<unknown>(RECORDS, 'readonly', (records) => records.get(record)))
    },
    async writeRecord(record, bytes) {
      const copy = bytes.slice()
      await run(RECORDS, 'readwrite', (records) => records.put(copy, record))
      announce(record)
    },
    async deleteRecord(record) {
      await run(RECORDS, 'readwrite', (records) => records.delete(record))
      announce(record)
    },
    async listRecords() {
      const keys = await run(RECORDS, 'readonly', (records) => records.getAllKeys())
      return (keys ?? []).map(String)
    },
    async updateRecord(record, change) {
      // Read and write in one readwrite transaction: IndexedDB runs readwrite transactions over the same
      // store one after another, across tabs, so no other tab can write between this read and this write.
      let stored: Uint8Array | undefined
      let written = false
      let failure: { error: unknown } | undefined
      try {
        await run(RECORDS, 'readwrite', (records) => {
          const current = records.get(record)
          current.onsuccess = () => {
            try {
              stored = asBytes(current.result)
              const next = change(stored)
              if (next === undefined) return
              stored = next.slice()
              written = true
              records.put(stored, record)
            } catch (error) {
              failure = { error }
              current.transaction?.abort()
            }
          }
        })
      } catch (error) {
        throw failure ? failure.error : error
      }
      if (written) announce(record)
      return stored
    },
    watch(listener) {
      if (typeof listener !== 'function') throw new TypeError(`watch() expects a function, got ${typeof listener}`)
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    whileAlone: (task) => membership.whileAlone(task),
    async close() {
      if (closed) return
      closed = true
      membership.leave()
      listeners.clear()
      channel?.close()
      const db = await opening.catch(() => undefined)
      db?.close()
    },
  }
}

/**
 * Who has this database open, with Web Locks (they span tabs and workers of the origin): every instance holds
 * the lock `<location> open` shared while it is open, and takes it only after passing the lock `<location>
 * gate` (shared, briefly). `whileAlone` holds the gate exclusively, so no instance can open meanwhile, and runs
 * the task only if its own instance is the one holder of `open`. Without Web Locks (an opaque origin, an old
 * browser) nothing can be known, and `whileAlone` runs the task as a storage that is never shared would.
 */
function joinMembers(location: string, isClosed: () => boolean) {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks
  const member = `${location} open`
  const gate = `${location} gate`
  let leave: (() => void) | undefined
  let lockless = !locks
  const joined = new Promise<void>((resolve) => {
    if (!locks) return resolve()
    const fail = () => {
      lockless = true
      resolve()
    }
    locks
      .request(
        gate,
        { mode: 'shared' },
        // The gate is let go as soon as `open` is held; `open` is held until close().
        () =>
          new Promise<void>((passed) => {
            locks
              .request(member, { mode: 'shared' }, () => {
                resolve()
                passed()
                // An instance closed before it got here holds nothing.
                return isClosed() ? undefined : new Promise<void>((release) => (leave = release))
              })
              .catch(() => {
                passed()
                fail()
              })
          }),
      )
      .catch(fail)
  })
  return {
    joined,
    leave: () => leave?.(),
    async whileAlone(task: () => Promise<void>): Promise<boolean> {
      await joined
      if (lockless || !locks) {
        await task()
        return true
      }
      return locks.request(gate, { mode: 'exclusive', ifAvailable: true }, async (lock) => {
        if (!lock) return false
        const { held = [] } = await locks.query()
        if (held.filter((entry) => entry.name === member).length > 1) return false
        await task()
        return true
      })
    },
  }
}

function openDatabase(location: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(location, 1)
    request.onupgradeneeded = () => {
      const db = request.result
      if (!db.objectStoreNames.contains(FILES)) db.createObjectStore(FILES)
      if (!db.objectStoreNames.contains(RECORDS)) db.createObjectStore(RECORDS)
    }
    request.onsuccess = () => {
      const db = request.result
      // A newer version opened elsewhere (another tab after an upgrade): let it proceed.
      db.onversionchange = () => db.close()
      resolve(db)
    }
    request.onerror = () => reject(request.error ?? new Error(`Cannot open IndexedDB database ${JSON.stringify(location)}`))
  })
}

function asBytes(value: unknown): Uint8Array | undefined {
  if (value === undefined) return undefined
  if (value instanceof Uint8Array) return value
  if (value instanceof ArrayBuffer) return new Uint8Array(value)
  throw new TypeError(`IndexedDB storage: expected stored bytes, got ${Object.prototype.toString.call(value)}`)
}
