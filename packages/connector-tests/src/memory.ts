import type { Connector, MetaEntry } from '@proj/core/connector'
import { checkName, parseFileCid, verifyCid } from '@proj/core/kit'

type Listener = (entries: MetaEntry[], replaced?: readonly string[]) => void

/** The shared state behind one or more MemoryConnectors: what a server would hold. */
let backends = 0

export class MemoryBackend {
  /** Names this backend instance (Connector.id of its connectors). */
  readonly id = `memory-backend-${++backends}-${Math.random().toString(36).slice(2, 10)}`
  /** `db` -> cid -> bytes */
  readonly files = new Map<string, Map<string, Uint8Array>>()
  /** `db` -> branch -> cid -> bytes (insertion ordered) */
  readonly meta = new Map<string, Map<string, Map<string, Uint8Array>>>()
  readonly listeners = new Map<string, Set<Listener>>()

  branch(db: string, branch: string): Map<string, Uint8Array> {
    let branches = this.meta.get(db)
    if (!branches) this.meta.set(db, (branches = new Map()))
    let entries = branches.get(branch)
    if (!entries) branches.set(branch, (entries = new Map()))
    return entries
  }
}


const listenerKey = (db: string, branch: string) => JSON.stringify([db, branch])

/**
 * The in-memory reference connector. Peers made with `peer()` (or `new MemoryConnector(backend)`) share one
 * backend, like two devices talking to one server. Bytes are copied in and out, so callers cannot change
 * what is stored.
 */
export class MemoryConnector implements Connector {
  readonly name = 'memory'
  readonly backend: MemoryBackend
  readonly id: string
  #closed = false
  readonly #unsubscribers = new Set<() => void>()

  constructor(backend: MemoryBackend = new MemoryBackend()) {
    this.backend = backend
    this.id = backend.id
  }

  /** Another client of the same backend. */
  peer(): MemoryConnector {
    return new MemoryConnector(this.backend)
  }

  async upload(db: string, cid: string, bytes: Uint8Array): Promise<void> {
    this.#open()
    checkName(db, 'memory: database name')
    await verifyCid(cid, bytes)
    let files = this.backend.files.get(db)
    if (!files) this.backend.files.set(db, (files = new Map()))
    if (!files.has(cid)) files.set(cid, bytes.slice())
  }

  async download(db: string, cid: string): Promise<Uint8Array | undefined> {
    this.#open()
    checkName(db, 'memory: database name')
    parseFileCid(cid)
    return this.backend.files.get(db)?.get(cid)?.slice()
  }

  async has(db: string, cid: string): Promise<boolean> {
    this.#open()
    checkName(db, 'memory: database name')
    parseFileCid(cid)
    return this.backend.files.get(db)?.has(cid) ?? false
  }

  async save(db: string, branch: string, entry: MetaEntry, replaces: readonly string[]): Promise<void> {
    this.#open()
    checkName(db, 'memory: database name')
    checkName(branch, 'memory: branch name')
    await verifyCid(entry.cid, entry.bytes)
    const entries = this.backend.branch(db, branch)
    entries.set(entry.cid, entry.bytes.slice())
    const removed = replaces.filter((cid) => cid !== entry.cid)
    for (const cid of removed) entries.delete(cid)
    const delivered = [{ cid: entry.cid, bytes: entry.bytes.slice() }]
    for (const listener of this.backend.listeners.get(listenerKey(db, branch)) ?? []) {
      queueMicrotask(() => listener(delivered, removed))
    }
  }

  async load(db: string, branch: string): Promise<MetaEntry[]> {
    this.#open()
    checkName(db, 'memory: database name')
    checkName(branch, 'memory: branch name')
    const entries = this.backend.meta.get(db)?.get(branch) ?? new Map<string, Uint8Array>()
    return [...entries].map(([cid, bytes]) => ({ cid, bytes: bytes.slice() }))
  }

  subscribe(db: string, branch: string, onEntries: (entries: MetaEntry[], replaced?: readonly string[]) => void): () => void {
    this.#open()
    checkName(db, 'memory: database name')
    checkName(branch, 'memory: branch name')
    const key = listenerKey(db, branch)
    let set = this.backend.listeners.get(key)
    if (!set) this.backend.listeners.set(key, (set = new Set()))
    let active = true
    const listener: Listener = (entries, replaced) => {
      if (active) onEntries(entries, replaced)
    }
    set.add(listener)
    // The current set first, after subscribe() has returned its unsubscribe function.
    queueMicrotask(() => {
      void this.load(db, branch).then(listener, () => {})
    })
    const unsubscribe = () => {
      active = false
      set.delete(listener)
      this.#unsubscribers.delete(unsubscribe)
    }
    this.#unsubscribers.add(unsubscribe)
    return unsubscribe
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const unsubscribe of [...this.#unsubscribers]) unsubscribe()
  }

  #open(): void {
    if (this.#closed) throw new Error('MemoryConnector is closed')
  }
}
