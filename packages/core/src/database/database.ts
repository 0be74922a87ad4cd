import { uuidv7 } from 'uuidv7'
import { CID } from '../blockstore/block.js'
import { applyCompaction, readCompaction, writeCompacted, writeCompaction } from '../blockstore/compact.js'
import { BlockStore, MissingBlockError } from '../blockstore/store.js'
import { containsEvents } from '../clock/ancestry.js'
import { loadEvent, makeEvent } from '../clock/event.js'
import type { Connector } from '../connector/api.js'
import type { Body, Entry } from '../crdt/entry.js'
import { compareKeys, writeEntry } from '../crdt/entry.js'
import { mergeTrees } from '../crdt/merge.js'
import { applyEntries, diff, emptyTree, lookup, type NewBlock } from '../crdt/tree.js'
import { indexChanges, queryIndex, rangeScan, updateIndex } from '../index/indexer.js'
import { MemoryIndex } from '../index/memory.js'
import { checkQueryOptions, indexIdentity, mapper, type Mapper } from '../index/query.js'
import { readIndexes, writeIndexes, type IndexState } from '../index/record.js'
import { decodeReplicatedRecord, encodeReplicatedRecord } from '../format/replicated-record.js'
import { keyToString } from '../crypto/key.js'
import { loadKey } from '../crypto/keybag.js'
import {
  ClosedError,
  CorruptRecordError,
  IntegrityError,
  isPermanentError,
  KeyMismatchError,
  NotDownloadedError,
  NotFoundError,
} from '../errors.js'
import type { Storage } from '../storage/api.js'
import { createSync } from '../sync/sync.js'
import type { Sync, SyncOptions } from '../sync/api.js'
import type {
  ChangeRow,
  Clock,
  Database,
  DatabaseOptions,
  Doc,
  MapFn,
  QueryOptions,
  QueryRow,
  ReadView,
  WriteResult,
} from './api.js'
import { markMerged, readHead, readHeads, writeHead, type HeadState } from './head.js'
import { checkDoc, checkId, checkName, describe } from './validate.js'
import { HistoryUnavailableError, toRow, TreeView, type Snapshot } from './view.js'
import { openStorage } from './open-storage.js'

type Op = [id: string, body: Body]

interface PendingWrite {
  ops: Op[]
  resolve: (clock: Clock) => void
  reject: (error: unknown) => void
}

/** What `sync` needs from an open database: its blocks, where it stands, and a way to merge a remote. */
export interface Replica {
  readonly name: string
  readonly branch: string
  readonly store: BlockStore
  readonly storage: Storage
  head(): HeadState | undefined
  /** Merges a remote head into the local one (one new file when the two diverged). */
  merge(remote: HeadState): Promise<void>
  /** Resolves once queued writes are committed. */
  idle(): Promise<void>
  /** Called after every change of the local head (commit, merge, adoption of a remote head). */
  onHead(listener: () => void): () => void
  onClose(listener: () => Promise<void>): void
  /**
   * Registers a predicate that compaction asks before deleting a local file: while it returns true for a file
   * (the sync's backend does not hold it, with everything it references, yet), the file is kept, and a
   * compaction's files keep naming it so that the next push uploads it. Returns the unregister function.
   */
  retainFiles(retains: (file: string) => boolean): () => void
}

interface OpenState {
  store: BlockStore
  storage: Storage
  head: HeadState | undefined
  emptyRoot: CID
  /** Persisted secondary indexes by name (see index/record.ts). */
  indexes: Map<string, IndexState>
  /** Files written since the last compaction (automatic compaction runs past `compactEvery`). */
  filesSinceCompaction: number
  /** The newest file could not be read when the database opened (torn, or absent): see #ready. */
  damagedHead?: { file: string; error: unknown }
}

/** Local record present once a sync was connected: automatic compaction then waits for a connected sync. */
const REPLICATED = 'replicated'

/** Default of `compactEvery`: local files written since the last compaction that trigger the next one. */
const COMPACT_EVERY = 100

export function database(name: string, options: DatabaseOptions = {}): Database {
  return new DatabaseImpl(checkName(name), options)
}

class DatabaseImpl extends TreeView implements Database {
  readonly #options: DatabaseOptions
  readonly #branch: string
  readonly #opening: Promise<OpenState>
  #state: OpenState | undefined
  #closed = false
  #pending: PendingWrite[] = []
  #scheduled = false
  #tail: Promise<unknown> = Promise.resolve()
  readonly #listeners = new Set<(changed: ChangeRow[]) => void>()
  readonly #closeHooks: (() => Promise<void>)[] = []
  readonly #headListeners = new Set<() => void>()
  /** Sync's predicates: a local file any of them retains is not deleted by a compaction (see Replica). */
  readonly #retainers = new Set<(file: string) => boolean>()
  /** Map functions of the persisted indexes queried in this session, to update or rebuild them. */
  readonly #mappers = new Map<string, Mapper>()
  /** The in-memory indexes of unnamed map functions, per function object (see indexIdentity). */
  readonly #memoryIndexes = new WeakMap<MapFn, MemoryIndex>()

  constructor(name: string, options: DatabaseOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`database(${JSON.stringify(name)}): options must be an object, got ${describe(options)}`)
    }
    const ready = () => this.#ready()
    super(
      name,
      async () => snapshotOf(await ready()),
      async (clock) => this.#rootAt(clock),
    )
    this.#options = options
    this.#branch = options.branch ?? 'main'
    this.#opening = this.#open()
    this.#opening.catch(() => {})
  }

  async #open(): Promise<OpenState> {
    const storage = await openStorage(this.name, this.#options)
    try {
      return await this.#openWith(storage)
    } catch (error) {
      // Nothing else will close it (the directory lock, the IndexedDB connection).
      await storage.close().catch(() => {})
      throw error
    }
  }

  async #openWith(storage: Storage): Promise<OpenState> {
    const key = await loadKey(storage, this.name, this.#options.key)
    const store = new BlockStore(storage, key, this.name)
    const head = await readHead(storage, this.#branch)
    const scratch: NewBlock[] = []
    const emptyRoot = await emptyTree(scratch)
    for (const { block, links } of scratch) store.putUnsaved(block, links)
    // The last compaction's locations come first: older headers may still name files it deleted.
    const compaction = await readCompaction(storage)
    if (compaction) applyCompaction(store, compaction)
    const indexes = await readIndexes(storage, this.#branch)
    for (const index of indexes.values()) {
      store.locate(index.root, index.file)
      store.locate(index.docRoot, index.docFile)
    }
    const compacted = new Set(compaction?.files ?? [])
    const filesSinceCompaction = (await storage.listFiles()).filter((file) => !compacted.has(file)).length
    let damagedHead: OpenState['damagedHead']
    if (head) {
      head.heads.forEach((cid, i) => store.locate(cid, head.files[i]!))
      // The newest file is read now: it proves the key opens this database (KeyMismatchError otherwise), and
      // that the head record matches it. A torn or missing copy does not stop the opening: a sync connected
      // next can fetch it (see #ready).
      damagedHead = await this.#openHeadFile(store, storage, head)
      markMerged(storage, this.#branch, head)
    }
    const state: OpenState = { store, storage, head, emptyRoot, indexes, filesSinceCompaction, damagedHead }
    this.#state = state
    store.onFileWritten(() => {
      state.filesSinceCompaction++
    })
    this.#watchHead(state)
    // Heads other instances stored that the head does not contain yet (they wrote at the same moment), and
    // anything written since the read above.
    await this.#mergeStoredHeads(state)
    return state
  }

  /** Another tab (or instance) changed this branch's head record: merge what it holds. */
  #watchHead(state: OpenState): void {
    const stop = state.storage.watch?.((record) => {
      if (record !== `head.${this.#branch}` || this.#closed) return
      void this.#exclusive(async () => {
        // Changes heard while #open merges are merged after it.
        await this.#opening
        await this.#mergeStoredHeads(state)
      }).catch((error) => {
        if (!(error instanceof ClosedError)) {
          console.error(`database ${JSON.stringify(this.name)}: merging the head another tab wrote failed:`, error)
        }
      })
    })
    if (stop) this.#closeHooks.push(async () => void stop())
  }

  /**
   * Merges every head in the stored record (the head and the `unmerged` heads of other writers, see head.ts),
   * then stores the result when the record held anything else, which also drops the merged entries.
   */
  async #mergeStoredHeads(state: OpenState): Promise<void> {
    const stored = await readHeads(state.storage, this.#branch)
    for (const head of stored) {
      if (this.#closed) return
      if (!state.head || !head.root.equals(state.head.root)) await this.#merge(state, head)
      markMerged(state.storage, this.#branch, head)
    }
    const local = state.head
    if (local && !this.#closed && (stored.length > 1 || (stored[0] && !stored[0].root.equals(local.root)))) {
      await writeHead(state.storage, this.#branch, local)
    }
  }

  /**
   * The open state. When the newest file was damaged at opening, every operation first tries to read it
   * again (a connected sync's backend may hold the good copy, which then replaces the local one) and fails
   * with a typed error naming the file and the head record while it cannot. Sync itself gets the state as it
   * is (`repair: false`): it is what brings the good copy.
   */
  async #ready({ repair = true }: { repair?: boolean } = {}): Promise<OpenState> {
    if (this.#closed) throw new ClosedError(this.name)
    const state = await this.#opening
    if (repair && state.damagedHead && state.head) {
      const { file } = state.damagedHead
      const where = this.#headRecord(state.storage)
      try {
        await state.store.loadFile(file)
      } catch (error) {
        if (error instanceof IntegrityError) {
          throw new IntegrityError(
            file,
            `the newest local file, named by ${where}, is damaged (${error.message}) and no connected replica holds a good copy`,
          )
        }
        if (error instanceof MissingBlockError) {
          throw new CorruptRecordError(where, `it names ${file} as the newest file, which is neither stored here nor at any connected source`)
        }
        throw error
      }
      await this.#checkHead(state.store, state.storage, state.head)
      state.damagedHead = undefined
    }
    return state
  }

  #headRecord(storage: Storage): string {
    return `The head record ${JSON.stringify(`head.${this.#branch}`)} of ${JSON.stringify(storage.location)}`
  }

  /** Loads the newest file at opening; a torn or absent copy is reported back (not thrown), see #ready. */
  async #openHeadFile(store: BlockStore, storage: Storage, head: HeadState): Promise<OpenState['damagedHead']> {
    const file = head.files[0]!
    try {
      await store.loadFile(file)
    } catch (error) {
      if (error instanceof IntegrityError || error instanceof MissingBlockError) return { file, error }
      if (error instanceof KeyMismatchError && this.#options.key === undefined) {
        // The key came from the local keybag, so the keybag and the files disagree.
        throw new KeyMismatchError(
          this.name,
          `the key kept in the keybag record of ${JSON.stringify(storage.location)} does not open the newest local file ${file}: the keybag is corrupt or was replaced`,
        )
      }
      throw error
    }
    await this.#checkHead(store, storage, head)
    return undefined
  }

  /** The head record must match the events it names (a flipped byte can leave it decodable but wrong). */
  async #checkHead(store: BlockStore, storage: Storage, head: HeadState): Promise<void> {
    const where = this.#headRecord(storage)
    let height = 0
    for (const [i, cid] of head.heads.entries()) {
      let event: Awaited<ReturnType<typeof loadEvent>>
      try {
        event = await loadEvent(store, cid)
      } catch (error) {
        if (error instanceof MissingBlockError) {
          throw new CorruptRecordError(where, `it names head event ${cid}, which its file ${head.files[i]} does not hold`)
        }
        throw error
      }
      height = Math.max(height, event.h)
      if (head.heads.length === 1 && !event.r.equals(head.root)) {
        throw new CorruptRecordError(where, `it names root ${head.root}, but its head event ${cid} has root ${event.r}`)
      }
    }
    if (height !== head.height) {
      throw new CorruptRecordError(where, `it says height ${head.height}, but its head events have height ${height}`)
    }
  }

  async #rootAt(clock: Clock): Promise<CID> {
    try {
      return await this.#resolveRoot(clock)
    } catch (error) {
      if (error instanceof MissingBlockError) throw new HistoryUnavailableError(clock, error)
      throw error
    }
  }

  async #resolveRoot(clock: Clock): Promise<CID> {
    const state = await this.#ready()
    const cids = clock.map((text) => {
      try {
        return CID.parse(text)
      } catch {
        throw new TypeError(`Not a clock event CID: ${JSON.stringify(text)}`)
      }
    })
    if (cids.length === 0) return state.emptyRoot
    await this.#locateEvents(state, cids)
    let root: CID | undefined
    for (const cid of cids.sort((a, b) => compareKeys(a.toString(), b.toString()))) {
      const event = await loadEvent(state.store, cid)
      if (!root) root = event.r
      else {
        const merged = await mergeTrees(state.store, root, event.r)
        for (const { block, links } of merged.blocks) state.store.putUnsaved(block, links)
        root = merged.root
      }
    }
    return root!
  }

  /** Finds the files of events this session has not seen, walking back from the current heads. */
  async #locateEvents(state: OpenState, cids: CID[]): Promise<void> {
    const missing = new Set(cids.filter((cid) => !state.store.has(cid) && !state.store.locationOf(cid)).map(String))
    if (missing.size === 0) return
    const seen = new Set<string>()
    const stack = [...(state.head?.heads ?? [])]
    while (stack.length && missing.size) {
      const cid = stack.pop()!
      if (seen.has(cid.toString())) continue
      seen.add(cid.toString())
      const event = await loadEvent(state.store, cid)
      for (const parent of event.p) {
        missing.delete(parent.toString())
        stack.push(parent)
      }
    }
    if (missing.size) throw new TypeError(`Unknown clock: ${[...missing].join(', ')} is not in this database's history`)
  }

  async put<T extends Doc>(doc: T): Promise<WriteResult> {
    const { id, body } = checkDoc(doc, 'put()')
    const docId = id ?? uuidv7()
    const clock = await this.#write([[docId, body]])
    return { id: docId, clock }
  }

  async del(id: string): Promise<WriteResult> {
    checkId(id, 'del()')
    return { id, clock: await this.#write([[id, null]]) }
  }

  async bulk<T extends Doc>(docs: T[]): Promise<{ ids: string[]; clock: Clock }> {
    if (!Array.isArray(docs)) throw new TypeError(`bulk() expects an array of documents, got ${describe(docs)}`)
    const ops: Op[] = docs.map((doc, i) => {
      const { id, body } = checkDoc(doc, `bulk() document #${i}`)
      return [id ?? uuidv7(), body]
    })
    if (ops.length === 0) return { ids: [], clock: await this.clock() }
    return { ids: ops.map(([id]) => id), clock: await this.#write(ops) }
  }

  #write(ops: Op[]): Promise<Clock> {
    if (this.#closed) return Promise.reject(new ClosedError(this.name))
    return new Promise((resolve, reject) => {
      this.#pending.push({ ops, resolve, reject })
      if (!this.#scheduled) {
        this.#scheduled = true
        void this.#exclusive(() => this.#drainWrites())
      }
    })
  }

  /** Runs tasks one at a time: the writes that queue up while one commits become the next transaction. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task)
    this.#tail = run.catch(() => {})
    return run
  }

  async #drainWrites(): Promise<void> {
    this.#scheduled = false
    let batch = this.#pending.splice(0)
    if (batch.length === 0) return
    try {
      const state = await this.#ready().catch(async (error) => {
        if (error instanceof ClosedError) return this.#opening
        throw error
      })
      const { accepted, previous } = await this.#screenWrites(state, batch)
      if (accepted.length === 0) return
      batch = accepted
      const clock = await this.#commit(state, batch.flatMap((write) => write.ops), previous)
      for (const write of batch) write.resolve(clock)
      this.#maybeCompact(state)
    } catch (error) {
      for (const write of batch) write.reject(error)
    }
  }

  /**
   * Reads what each queued write needs before the batch commits, so that one write that cannot be made
   * rejects alone and the others go through:
   * - a write needs the current entry of each id it writes (a local write supersedes it). On a device that
   *   started lazily, the part of the tree holding it may never have been downloaded; when no backend serves
   *   it now, the write is rejected with NotDownloadedError (transient: the same write succeeds once a
   *   backend is reachable) and nothing is written;
   * - a delete names a version this replica holds, as PouchDB's `remove` needs a rev: deleting an id with no
   *   live version here (never seen, or already deleted) rejects with NotFoundError, so a device can never
   *   erase another's write it has not observed.
   * Later writes of the batch see earlier ones. Returns the accepted writes and the entries read.
   */
  async #screenWrites(
    state: OpenState,
    batch: PendingWrite[],
  ): Promise<{ accepted: PendingWrite[]; previous: Map<string, Entry | undefined> }> {
    const previous = new Map<string, Entry | undefined>()
    const live = new Map<string, boolean>()
    const accepted: PendingWrite[] = []
    for (const write of batch) {
      const unreadable: string[] = []
      let cause: unknown
      for (const [id] of write.ops) {
        if (previous.has(id) || !state.head) continue
        try {
          previous.set(id, await lookup(state.store, state.head.root, id))
        } catch (error) {
          // Not stored here, and no backend serves it now (offline, or no sync connected).
          if (isPermanentError(error)) throw error
          unreadable.push(id)
          cause ??= error
        }
      }
      if (unreadable.length) {
        write.reject(new NotDownloadedError(this.name, unreadable, cause))
        continue
      }
      const after = new Map<string, boolean>()
      let unseen: string | undefined
      for (const [id, body] of write.ops) {
        const entry = previous.get(id)
        const isLive = after.get(id) ?? live.get(id) ?? (entry !== undefined && entry[2] !== null)
        if (body === null && !isLive) {
          unseen = id
          break
        }
        after.set(id, body !== null)
      }
      if (unseen !== undefined) {
        write.reject(new NotFoundError(unseen))
        continue
      }
      for (const [id, value] of after) live.set(id, value)
      accepted.push(write)
    }
    return { accepted, previous }
  }

  /** Queues a compaction when enough files were written since the last one (option `compactEvery`). */
  #maybeCompact(state: OpenState): void {
    const every = this.#options.compactEvery ?? COMPACT_EVERY
    if (every <= 0 || state.filesSinceCompaction < every || this.#compacting) return
    this.#compacting = true
    void this.#exclusive(async () => {
      // A database that replicates is not compacted automatically while no sync is connected: only a sync
      // knows which files its backend lacks, and deleting one of those would break the history other
      // devices walk. The next write after a sync connects compacts.
      await this.#compact(state, { automatic: true })
    })
      .catch((error) => {
        if (!(error instanceof ClosedError)) console.error(`Automatic compaction of ${JSON.stringify(this.name)} failed:`, error)
      })
      .finally(() => {
        this.#compacting = false
      })
  }

  #compacting = false

  /**
   * Rewrites every block the head needs (documents, indexes, head events) into new files of about 1 MiB and
   * deletes the local copies of all other files. Reading at a clock older than the compaction afterwards
   * needs a connected replica that still holds the old files (they are never deleted remotely); without one
   * it fails with HistoryUnavailableError. Current state never depends on a deleted file: the compaction
   * files name only each other, and the compaction record relocates every block for headers that still
   * name an old file.
   */
  async compact(): Promise<void> {
    const state = await this.#ready()
    await this.#exclusive(() => this.#compact(state))
  }

  /** Whether a sync was ever connected to this database (a durable record, see #maybeCompact). */
  #replicated: boolean | undefined

  async #replicates(state: OpenState): Promise<boolean> {
    if (this.#replicated === undefined) {
      const bytes = await state.storage.readRecord(REPLICATED)
      this.#replicated = bytes !== undefined && decodeReplicatedRecord(bytes, `The record "replicated" of ${JSON.stringify(state.storage.location)}`)
    }
    return this.#replicated
  }

  #retains(file: string): boolean {
    for (const retains of this.#retainers) if (retains(file)) return true
    return false
  }

  /**
   * Compaction deletes local files that other instances over the same storage (tabs, `database()` calls in
   * one process) may still need, so it runs only while this instance is the only one open (none can open
   * meanwhile), after merging every head the others stored; otherwise it waits for a later turn.
   */
  async #compact(state: OpenState, options: { automatic?: boolean } = {}): Promise<void> {
    if (!state.storage.whileAlone) return this.#compactAlone(state, options)
    await state.storage.whileAlone(async () => {
      await this.#mergeStoredHeads(state)
      await this.#compactAlone(state, options)
    })
  }

  async #compactAlone(state: OpenState, { automatic = false }: { automatic?: boolean } = {}): Promise<void> {
    const head = state.head
    if (!head) return
    const { store, storage } = state
    // A database that replicates is not compacted automatically while no sync is connected: only a sync
    // knows which files its backend lacks, and deleting one of those would break the history other devices
    // walk. The next write after a sync connects compacts. What the syncs retain is asked once, now: a
    // sync that closes meanwhile must not free its files halfway.
    const replicates = await this.#replicates(state)
    const local = await storage.listFiles()
    // From here to the list of retained files nothing awaits: a sync closing in between would retain nothing.
    if (automatic && replicates && this.#retainers.size === 0) return
    // Files a connected backend does not hold yet survive the compaction (deleting them would lose what they
    // carry for every other device); the compaction's files name them, so the next push still uploads them.
    const retained = new Set(local.filter((file) => this.#retains(file)))
    // Indexes are brought up to date and rebuilt from the live documents, which drops their tombstones; an
    // index whose map function this session does not know is kept when current and dropped when stale (the
    // next query rebuilds it).
    const indexes = new Map<string, IndexState>()
    for (const [name, index] of state.indexes) {
      const map = this.#mappers.get(name) ?? (name.startsWith('field:') ? mapper(name.slice(6)) : undefined)
      if (map) {
        const { root, blocks } = await updateIndex(store, map, state.emptyRoot, state.emptyRoot, head.root)
        for (const { block, links } of blocks) store.putUnsaved(block, links)
        indexes.set(name, { ...index, root, docRoot: head.root })
      } else if (index.docRoot.equals(head.root)) {
        indexes.set(name, index)
      }
    }
    const roots = [head.root]
    for (const cid of head.heads) roots.push((await loadEvent(store, cid)).r)
    for (const index of indexes.values()) roots.push(index.root)
    const history: [CID, string][] = []
    for (const cid of head.heads) {
      for (const parent of (await loadEvent(store, cid)).p) {
        const file = store.locationOf(parent)
        if (file) history.push([parent, file])
      }
    }
    const unique = [...new Map(roots.map((cid) => [cid.toString(), cid])).values()]
    const { files, eventFile, located } = await writeCompacted(store, unique, head.heads, retained)
    const fileIndex = new Map(files.map((file, i) => [file, i]))
    await writeCompaction(storage, { files, blocks: located.map(([cid, file]) => [cid, fileIndex.get(file)!]), history })
    for (const [name, index] of indexes) {
      indexes.set(name, {
        ...index,
        file: store.locationOf(index.root)!,
        docFile: store.locationOf(index.docRoot)!,
      })
    }
    state.indexes = indexes
    await writeIndexes(storage, this.#branch, indexes)
    const compacted: HeadState = { ...head, files: head.heads.map(() => eventFile) }
    await writeHead(storage, this.#branch, compacted)
    state.head = compacted
    const keep = new Set([...files, ...retained])
    for (const file of await storage.listFiles()) if (!keep.has(file) && !this.#retains(file)) await storage.deleteFile(file)
    state.filesSinceCompaction = 0
    for (const listener of this.#headListeners) listener()
  }

  /**
   * Answers from a persisted index, brought up to date first. Indexes are updated lazily here rather than in
   * the write transaction: the database does not know which indexes exist until they are queried (a map
   * function is only known by the query that passes it), writes stay as fast as without indexes, and an
   * update after many writes is one tree diff and one small file instead of one per write. The update runs
   * in the write queue, so a query sees every write acknowledged before it.
   */
  override async query<T extends Doc = Doc>(
    field: string | MapFn,
    options?: QueryOptions,
  ): Promise<{ rows: QueryRow<T>[] }> {
    const checked = checkQueryOptions(options)
    const map = mapper(field)
    const identity = indexIdentity(field, checked)
    const state = await this.#ready()
    if (identity.kind === 'memory') {
      const index = await this.#exclusive(() => this.#updateMemoryIndex(state, identity.fn, map))
      const { docRoot, range } = index.snapshot()
      return { rows: await queryIndex<T>(range, state.store, docRoot, checked) }
    }
    const index = await this.#exclusive(() => this.#updateIndex(state, identity.name, identity.source, map))
    const range = (gte: string | undefined, lt: string | undefined, reverse: boolean) =>
      rangeScan(state.store, index.root, gte, lt, reverse)
    return { rows: await queryIndex<T>(range, state.store, index.docRoot, checked) }
  }

  async #updateIndex(state: OpenState, name: string, source: string | undefined, map: Mapper): Promise<IndexState> {
    this.#mappers.set(name, map)
    const docRoot = state.head?.root ?? state.emptyRoot
    let current = state.indexes.get(name)
    // A named index built by another map function source is rebuilt, never answered from.
    if (current && current.source !== source) current = undefined
    if (current && current.docRoot.equals(docRoot)) return current
    const from = current?.docRoot ?? state.emptyRoot
    const { root, blocks } = await updateIndex(state.store, map, current?.root ?? state.emptyRoot, from, docRoot)
    let file = current?.file ?? ''
    if (blocks.length) file = await state.store.commit(blocks, state.head?.heads ?? [])
    else if (!current) file = state.store.locationOf(root) ?? ''
    const next: IndexState = {
      name,
      ...(source === undefined ? {} : { source }),
      root,
      file: state.store.locationOf(root) ?? file,
      docRoot,
      docFile: state.store.locationOf(docRoot) ?? '',
    }
    state.indexes.set(name, next)
    if (next.file && next.docFile) await writeIndexes(state.storage, this.#branch, state.indexes)
    return next
  }

  async #updateMemoryIndex(state: OpenState, fn: MapFn, map: Mapper): Promise<MemoryIndex> {
    const docRoot = state.head?.root ?? state.emptyRoot
    const current = this.#memoryIndexes.get(fn)
    if (current) {
      if (current.docRoot.equals(docRoot)) return current
      try {
        current.apply(await indexChanges(state.store, map, current.docRoot, docRoot), docRoot)
        return current
      } catch (error) {
        // The tree it reflects was compacted away: build it again below.
        if (!(error instanceof MissingBlockError)) throw error
      }
    }
    const index = new MemoryIndex(docRoot)
    index.apply(await indexChanges(state.store, map, state.emptyRoot, docRoot), docRoot)
    this.#memoryIndexes.set(fn, index)
    return index
  }

  async #commit(state: OpenState, ops: Op[], previous = new Map<string, Entry | undefined>()): Promise<Clock> {
    const latest = new Map<string, Body>()
    for (const [id, body] of ops) latest.set(id, body)
    const height = (state.head?.height ?? 0) + 1
    const base = state.head?.root ?? state.emptyRoot
    // A local write supersedes every version the id holds (it resolves its conflicts), so it carries them.
    const entries: Entry[] = []
    for (const [id, body] of [...latest].sort(([a], [b]) => compareKeys(a, b))) {
      const before = previous.has(id) || !state.head ? previous.get(id) : await lookup(state.store, base, id)
      entries.push(writeEntry(id, height, body, before))
    }
    const { root, blocks } = await applyEntries(state.store, base, entries, () => true)
    const rows = entries.map(toRow)
    await this.#advance(state, [...blocks], root, height, rows)
    return state.head!.heads.map(String)
  }

  /** Writes one file with `blocks` and a new clock event at `height`, then the local head. */
  async #advance(state: OpenState, blocks: NewBlock[], root: CID, height: number, rows: ChangeRow[]): Promise<void> {
    const parents = state.head?.heads ?? []
    const event = await makeEvent(parents, height, root)
    const file = await state.store.commit([...blocks, event], [event.block.cid])
    const head: HeadState = { heads: [event.block.cid], files: [file], root, height }
    await writeHead(state.storage, this.#branch, head)
    state.head = head
    this.#emit(rows)
  }

  #emit(rows: ChangeRow[]): void {
    for (const listener of this.#headListeners) listener()
    if (rows.length === 0) return
    for (const listener of this.#listeners) {
      try {
        listener(rows)
      } catch (error) {
        console.error(`subscribe() listener of database ${JSON.stringify(this.name)} threw:`, error)
      }
    }
  }

  subscribe(listener: (changed: ChangeRow[]) => void): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(`subscribe() expects a function, got ${describe(listener)}`)
    }
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  async clock(): Promise<Clock> {
    const state = await this.#ready()
    return state.head?.heads.map(String) ?? []
  }

  async at(clock: Clock): Promise<ReadView> {
    if (!Array.isArray(clock)) throw new TypeError(`at() expects a clock (an array of CID strings), got ${describe(clock)}`)
    const state = await this.#ready()
    const root = await this.#rootAt(clock)
    const frozen: Snapshot = { store: state.store, root, clock: [...clock] }
    return new TreeView(this.name, async () => {
      await this.#ready()
      return frozen
    }, (since) => this.#rootAt(since))
  }

  async exportKey(): Promise<string> {
    const state = await this.#ready()
    return keyToString(state.store.key.raw)
  }

  connect(connector: Connector, options: SyncOptions = {}): Sync {
    if (this.#closed) throw new ClosedError(this.name)
    return createSync(this.#replica(), connector, options)
  }

  #replica(): Promise<Replica> {
    return this.#ready({ repair: false }).then((state) => ({
      name: this.name,
      branch: this.#branch,
      store: state.store,
      storage: state.storage,
      head: () => state.head,
      merge: (remote) => this.#exclusive(() => this.#merge(state, remote)),
      idle: () => this.#exclusive(async () => {}),
      onHead: (listener) => {
        this.#headListeners.add(listener)
        return () => this.#headListeners.delete(listener)
      },
      onClose: (hook) => {
        this.#closeHooks.push(hook)
      },
      retainFiles: (retains) => {
        this.#retainers.add(retains)
        if (!this.#replicated) {
          this.#replicated = true
          void state.storage.writeRecord(REPLICATED, encodeReplicatedRecord()).catch((error) =>
            console.error(`database ${JSON.stringify(this.name)}: recording that it replicates failed:`, error),
          )
        }
        return () => this.#retainers.delete(retains)
      },
    }))
  }

  async #merge(state: OpenState, remote: HeadState): Promise<void> {
    remote.heads.forEach((cid, i) => state.store.locate(cid, remote.files[i]!))
    // The head files carry the locations of everything the remote tree links to.
    await Promise.all(remote.files.map((file) => state.store.loadFile(file)))
    const local = state.head
    if (!local) {
      await this.#adopt(state, remote, state.emptyRoot)
      return
    }
    // The clocks are joined, not only the trees: a remote head whose tree adds nothing (its writes lost by
    // the merge rule) still becomes a parent, so every clock any replica flushed stays in the history a
    // fresh device walks. Only when one clock already contains the other is no event needed.
    if (await containsEvents(state.store, local.heads, remote.heads)) return
    if (await containsEvents(state.store, remote.heads, local.heads)) {
      await this.#adopt(state, remote, local.root)
      return
    }
    const merged = await mergeTrees(state.store, local.root, remote.root)
    const height = Math.max(local.height, remote.height) + 1
    const parents = [...new Map([...local.heads, ...remote.heads].map((cid) => [cid.toString(), cid])).values()]
    const event = await makeEvent(parents, height, merged.root)
    const file = await state.store.commit([...merged.blocks, event], [event.block.cid])
    // Only now are the merged tree's new blocks in the store.
    const rows = this.#listeners.size ? await changedRows(state.store, local.root, merged.root) : []
    const head: HeadState = { heads: [event.block.cid], files: [file], root: merged.root, height }
    await writeHead(state.storage, this.#branch, head)
    state.head = head
    this.#emit(rows)
    this.#maybeCompact(state)
  }

  /** Takes a remote head that already contains everything local (no new file is written). */
  async #adopt(state: OpenState, remote: HeadState, previousRoot: CID): Promise<void> {
    // Listing what changed reads both trees; without listeners a new device stays lazy.
    const rows = this.#listeners.size ? await changedRows(state.store, previousRoot, remote.root) : []
    await writeHead(state.storage, this.#branch, remote)
    state.head = { ...remote }
    this.#emit(rows)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    await this.#exclusive(async () => {})
    this.#closed = true
    for (const hook of this.#closeHooks.splice(0)) await hook().catch(() => {})
    const state = await this.#opening.catch(() => undefined)
    await state?.storage.close()
  }
}

async function changedRows(store: BlockStore, from: CID, to: CID): Promise<ChangeRow[]> {
  return (await diff(store, from, to)).map(({ entry }) => toRow(entry))
}

function snapshotOf(state: OpenState): Snapshot {
  return { store: state.store, root: state.head?.root ?? state.emptyRoot, clock: state.head?.heads.map(String) ?? [] }
}
