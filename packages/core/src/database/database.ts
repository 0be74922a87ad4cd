import type { Body } from '../crdt/entry.js'
import { uuidv7 } from 'uuidv7'
import type { CID } from '../blockstore/block.js'
import { MissingBlockError } from '../blockstore/store.js'
import { resolveRoot } from '../clock/resolve.js'
import type { Connector } from '../connector/api.js'
import { keyToString } from '../crypto/key.js'
import type { KeyRing } from '../crypto/key-epochs.js'
import { rotateKeyRing } from '../crypto/keybag.js'
import { ClockChangedError, ClosedError, DatabaseInUseError } from '../errors.js'
import { queryIndex } from '../index/indexer.js'
import { checkQueryOptions, indexIdentity, mapper } from '../index/query.js'
import type { Storage } from '../storage/api.js'
import { createSync } from '../sync/sync.js'
import type { Sync, SyncOptions } from '../sync/api.js'
import { countLive, scan } from '../crdt/tree.js'
import type { Replica } from '../sync/replica.js'
import type {
  BulkOptions,
  ChangeRow,
  Clock,
  Database,
  DatabaseInfo,
  DatabaseOptions,
  DestroyOptions,
  Doc,
  MapFn,
  QueryOptions,
  QueryRow,
  ReadView,
  WriteResult,
} from './api.js'
import { ChangeFeed } from './changes.js'
import { Pace } from './next-turn.js'
import { Compactor } from './compactor.js'
import { LocalHead } from './head-state.js'
import { rootAt } from './head-tree.js'
import { Indexes } from './indexes.js'
import { openState, repairHead, type OpenState } from './open.js'
import { openStorage } from './open-storage.js'
import { commitNow, commitOps, screenWrites } from './transaction.js'
import { checkDoc, checkId, checkName, describe } from '../values/validate.js'
import { HistoricalView, HistoryUnavailableError, TreeView, type Snapshot } from './view.js'
import { WriteQueue, type Op, type PendingWrite } from './write-queue.js'
import { checkConnector, checkDatabaseOptions } from './options.js'
import { splitConnectOptions } from '../kit/connect-options.js'

export function database(name: string, options: DatabaseOptions = {}): Database {
  return new DatabaseImpl(checkName(name), options)
}

/**
 * The public database: validates calls and composes the parts that do the work: opening (open.ts), the
 * write queue, the local head (head-state.ts), indexes, compaction, and the change feed.
 */
class DatabaseImpl extends TreeView implements Database {
  readonly #options: DatabaseOptions
  readonly #branch: string
  readonly #opening: Promise<OpenState>
  /** The state once opened: a commit takes it without awaiting (and allocating for) `#ready()`. */
  #opened: OpenState | undefined
  #closed = false
  /** Turns of the event loop during a run of reads (see #ready). */
  readonly #readPace = new Pace()
  readonly #closeHooks: (() => Promise<void>)[] = []
  readonly #feed: ChangeFeed
  readonly #queue = new WriteQueue((batch) => this.#commit(batch))
  readonly #head: LocalHead
  readonly #indexes: Indexes
  readonly #compactor: Compactor
  readonly #syncs = new Map<Sync, Connector>()
  /** Live documents per tree root: info() walks a tree once. */
  #counted: { root: string; count: number } | undefined

  constructor(name: string, options: DatabaseOptions) {
    checkDatabaseOptions(name, options)
    const ready = () => this.#ready()
    const readyNow = () => this.#readyNow()
    super(
      name,
      () => {
        // Taken when the read is called: a write issued after it may commit before this read's next step.
        const now = readyNow()
        return now ? snapshotOf(now) : ready().then(snapshotOf)
      },
      async (clock) => this.#rootAt(clock),
    )
    this.#options = options
    this.#branch = options.branch ?? 'main'
    this.#feed = new ChangeFeed(name)
    const isClosed = () => this.#closed
    this.#head = new LocalHead(this.#branch, this.#feed, isClosed, (state) => this.#compactor.maybeCompact(state))
    this.#indexes = new Indexes(this.#branch)
    this.#compactor = new Compactor({
      name,
      branch: this.#branch,
      compactEvery: options.compactEvery,
      exclusive: (task) => this.#queue.exclusive(task),
      head: this.#head,
      indexes: this.#indexes,
      feed: this.#feed,
    })
    this.#opening = this.#open()
    this.#opening.then((state) => (this.#opened = state), () => {})
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
    const state = await openState(this.name, this.#branch, this.#options, storage)
    this.#watchHead(state)
    // Heads other instances stored that the head does not contain yet (they wrote at the same moment), and
    // anything written since the head was read.
    await this.#head.mergeStored(state)
    return state
  }

  /** Another tab (or instance) changed this branch's head record: merge what it holds. */
  #watchHead(state: OpenState): void {
    const stop = state.storage.watch?.((record) => {
      if (record !== `head.${this.#branch}` || this.#closed) return
      void this.#queue
        .exclusive(async () => {
          // Changes heard while #open merges are merged after it.
          await this.#opening
          await this.#head.mergeStored(state)
        })
        .catch((error) => {
          if (!(error instanceof ClosedError)) {
            console.error(`database ${JSON.stringify(this.name)}: merging the head another tab wrote failed:`, error)
          }
        })
    })
    if (stop) this.#closeHooks.push(async () => void stop())
  }

  /**
   * The open state, its newest file repaired first when it was damaged at opening (see repairHead). Sync
   * itself gets the state as it is (`repair: false`): it is what brings the good copy.
   */
  async #ready({ repair = true }: { repair?: boolean } = {}): Promise<OpenState> {
    if (this.#closed) throw new ClosedError(this.name)
    const state = await this.#opening
    if (repair) await repairHead(this.#branch, state)
    return state
  }

  /**
   * The open state without an async step when nothing stands before it (open, not closed, no head to repair):
   * what a read or a queued task takes at its call, so a write issued after it, which may commit in the same
   * synchronous step (#writeNow), is never part of it.
   */
  #readyNow(): OpenState | undefined {
    const opened = this.#opened
    return opened && !this.#closed && !opened.damagedHead ? opened : undefined
  }

  async #rootAt(clock: Clock): Promise<CID> {
    try {
      const state = await this.#ready()
      return await resolveRoot(state.store, state.head?.heads ?? [], state.emptyRoot, clock)
    } catch (error) {
      if (error instanceof MissingBlockError) throw new HistoryUnavailableError(clock, error)
      throw error
    }
  }

  async put<T extends Doc>(doc: T): Promise<WriteResult> {
    const { id, body } = checkDoc(doc, 'put()')
    const docId = id ?? uuidv7()
    return { id: docId, clock: await this.#writeOne(docId, body) }
  }

  async del(id: string): Promise<WriteResult> {
    checkId(id, 'del()')
    return { id, clock: await this.#writeOne(id, null) }
  }

  /** One document's write: in one step when it can be (#writeNow), through the write queue otherwise. */
  #writeOne(id: string, body: Body): Clock | Promise<Clock> {
    const clock = this.#writeNow(id, body)
    if (!clock) return this.#write([[id, body]])
    // Committed; a loop of awaited puts still lets timers and I/O run every few ms (see WriteQueue.write).
    const turn = this.#queue.turnDue()
    return turn ? turn.then(() => clock) : clock
  }

  /**
   * A write of one document committed before returning when nothing else is queued (transaction.ts
   * commitNow): the write queue's 46 promises and its layers were most of a single put's CPU before the JIT
   * has warmed up. Undefined when the queue must take it.
   */
  #writeNow(id: string, body: Body): Clock | undefined {
    const state = this.#opened
    if (this.#closed || !state || this.#wroteNow || !this.#queue.isFree()) return undefined
    const clock = commitNow(state, this.#head, id, body)
    if (!clock) return undefined
    // Writes issued in the same synchronous run (puts not awaited one by one) still make one transaction:
    // after this one, the queue gathers them until a microtask has run.
    this.#wroteNow = true
    // A resolved promise's reaction, not queueMicrotask: Node wraps each queueMicrotask callback in an
    // AsyncResource (its construction and before/after hooks were ~5 % of a single put's CPU, cold).
    void RESOLVED.then(this.#writeNowAgain)
    this.#compactor.maybeCompact(state)
    return clock
  }

  #wroteNow = false
  readonly #writeNowAgain = () => void (this.#wroteNow = false)

  async bulk<T extends Doc>(docs: T[], options?: BulkOptions): Promise<{ ids: string[]; clock: Clock }> {
    if (!Array.isArray(docs)) throw new TypeError(`bulk() expects an array of documents, got ${describe(docs)}`)
    const ifClock = checkBulkOptions(options)
    const ops: Op[] = docs.map((doc, i) => {
      const { id, body } = checkDoc(doc, `bulk() document #${i}`)
      return [id ?? uuidv7(), body]
    })
    if (ops.length === 0) {
      const clock = await this.clock()
      if (ifClock && !sameClockStrings(ifClock, clock)) throw new ClockChangedError(ifClock, [...clock].sort())
      return { ids: [], clock }
    }
    return { ids: ops.map(([id]) => id), clock: await this.#write(ops, ifClock) }
  }

  #write(ops: Op[], ifClock?: readonly string[]): Promise<Clock> {
    if (this.#closed) return Promise.reject(new ClosedError(this.name))
    return this.#queue.write(ops, ifClock)
  }

  /** One transaction of the write queue: the writes that can be made become one commit. */
  async #commit(batch: PendingWrite[]): Promise<void> {
    // Writes queued before a close() still commit: a closed database gives its state to them.
    const opened = this.#opened
    const state =
      opened && !opened.damagedHead
        ? opened
        : await this.#ready().catch(async (error) => {
            if (error instanceof ClosedError) return this.#opening
            throw error
          })
    // One write of one document (a put that waited for a turn of the event loop, or behind another task):
    // the synchronous path when it can take it.
    if (batch.length === 1 && batch[0]!.ops.length === 1 && !batch[0]!.ifClock) {
      const [id, body] = batch[0]!.ops[0]!
      const clock = commitNow(state, this.#head, id, body)
      if (clock) {
        batch[0]!.resolve(clock)
        this.#compactor.maybeCompact(state)
        return
      }
    }
    const { accepted, previous } = await screenWrites(this.name, state, batch)
    if (accepted.length === 0) return
    const ops = accepted.length === 1 ? accepted[0]!.ops : accepted.flatMap((write) => write.ops)
    const clock = await commitOps(state, this.#head, ops, previous)
    for (const write of accepted) write.resolve(clock)
    this.#compactor.maybeCompact(state)
  }

  /**
   * A read answered from memory resolves on microtasks alone, so a loop of awaited reads would starve every
   * timer and I/O callback (a sync's pull, a server's reply, a compaction's file writes) until it ends, as a
   * loop of puts would without the write queue's turns. The turn comes once the read has its answer: a read
   * still takes its state when it is called, so it never sees a write issued after it.
   */
  protected override async settle<R>(read: Promise<R>): Promise<R> {
    try {
      return await read
    } finally {
      const turn = this.#readPace.due()
      if (turn) await turn
    }
  }

  override query<T extends Doc = Doc>(field: string | MapFn, options?: QueryOptions): Promise<{ rows: QueryRow<T>[] }> {
    return this.settle(this.#query<T>(field, options))
  }

  /** Answers from an index brought up to date first, in the write queue (see Indexes). */
  async #query<T extends Doc = Doc>(field: string | MapFn, options?: QueryOptions): Promise<{ rows: QueryRow<T>[] }> {
    const checked = checkQueryOptions(options)
    const map = mapper(field)
    const identity = indexIdentity(field, checked)
    const state = this.#readyNow() ?? (await this.#ready())
    if (identity.kind === 'memory') {
      const index = await this.#queue.exclusive(() => this.#indexes.inMemory(state, identity.fn, map))
      const { docRoot, range } = index.snapshot()
      return { rows: await state.store.whilePinned(docRoot, () => queryIndex<T>(range, state.store, docRoot, checked)) }
    }
    const index = await this.#queue.exclusive(() => this.#indexes.persisted(state, identity.name, identity.source, map))
    const range = (gte: string | undefined, lt: string | undefined, reverse: boolean) =>
      scan(state.store, index.root, { gte, lt, reverse })
    return { rows: await state.store.whilePinned(index.docRoot, () => queryIndex<T>(range, state.store, index.docRoot, checked)) }
  }

  /** See Compactor. */
  async compact(): Promise<void> {
    const state = await this.#ready()
    // Not in the write queue: the compactor queues its two short steps there and rewrites in between.
    await this.#compactor.compact(state)
  }

  subscribe(listener: (changed: ChangeRow[]) => void): () => void {
    return this.#feed.subscribe(listener)
  }

  clock(): Promise<Clock> {
    const now = this.#readyNow()
    return this.settle(now ? Promise.resolve(clockOf(now)) : this.#ready().then(clockOf))
  }

  async at(clock: Clock): Promise<ReadView> {
    if (!Array.isArray(clock)) throw new TypeError(`at() expects a clock (an array of CID strings), got ${describe(clock)}`)
    const state = await this.#ready()
    const frozen = [...clock]
    await this.#rootAt(frozen)
    // Resolved again at each read: a delta event's tree is derived, and a later write may sweep it (the
    // derivation is remembered, so this is a lookup while it lasts).
    return new HistoricalView(this.name, frozen, async () => {
      // A fixed clock: the turn (see settle) may come first.
      const turn = this.#readPace.due()
      if (turn) await turn
      await this.#ready()
      return { store: state.store, root: await this.#rootAt(frozen), clock: frozen }
    }, (since) => this.#rootAt(since))
  }

  async exportKey(): Promise<string> {
    const state = await this.#ready()
    return keyToString(state.store.key.raw)
  }

  /** See Database.rotateKey: the new key, then a commit sealed with it (which syncs push as usual). */
  async rotateKey(): Promise<string> {
    const state = this.#readyNow() ?? (await this.#ready())
    return this.#queue.exclusive(async () => {
      await rotateKeyRing(state.store.key as KeyRing, state.storage, this.name)
      await commitOps(state, this.#head, [])
      return keyToString(state.store.key.raw)
    })
  }

  connect(connector: Connector, options: SyncOptions = {}): Sync {
    if (this.#closed) throw new ClosedError(this.name)
    checkConnector(connector)
    const { sync: checked } = splitConnectOptions('connect()', options, [])
    const sync: Sync = createSync(this.#replica(), connector, checked, () => this.#syncs.delete(sync))
    this.#syncs.set(sync, connector)
    return sync
  }

  async info(): Promise<DatabaseInfo> {
    const state = this.#readyNow() ?? (await this.#ready())
    // The head when called: what it reports (clock and count) is of one state, whatever is written meanwhile.
    const head = state.head
    const root = await rootAt(state, head)
    let counted = this.#counted
    if (counted?.root !== root.toString()) {
      const count = await state.store.whilePinned(root, () => countLive(state.store, root))
      this.#counted = counted = { root: root.toString(), count }
    }
    const files = { count: 0, bytes: 0 }
    const sizes = state.storage.fileSizes ? await state.storage.fileSizes() : await readSizes(state.storage)
    for (const size of sizes.values()) {
      files.count++
      files.bytes += size
    }
    const syncs = await Promise.all(
      [...this.#syncs].map(async ([sync, connector]) => ({
        connector: connector.name,
        ...(connector.id === undefined ? {} : { backend: connector.id }),
        status: sync.status,
        paused: sync.paused,
        pending: await sync.pending(),
      })),
    )
    return {
      name: this.name,
      location: state.storage.location,
      branch: this.#branch,
      clock: head?.heads.map(String) ?? [],
      docCount: counted.count,
      files,
      syncs,
    }
  }

  async destroy(options: DestroyOptions = {}): Promise<void> {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`destroy() options must be an object, got ${describe(options)}`)
    }
    if (options.key !== undefined && typeof options.key !== 'boolean') {
      throw new TypeError(`destroy() option key must be true or false, got ${describe(options.key)}`)
    }
    await this.close()
    // A database that failed to open (a wrong key, a corrupt record) is destroyed through a storage opened
    // for the purpose; a directory another process holds fails here with DatabaseLockedError.
    const storage = await openStorage(this.name, this.#options)
    try {
      const erase = async () => {
        for (const file of await storage.listFiles()) await storage.deleteFile(file)
        for (const record of await storage.listRecords()) {
          if (record !== 'keybag' || options.key) await storage.deleteRecord(record)
        }
      }
      const alone = storage.whileAlone ? await storage.whileAlone(erase) : (await erase(), true)
      if (!alone) throw new DatabaseInUseError(this.name, storage.location)
    } finally {
      await storage.close()
    }
  }

  #replica(): Promise<Replica> {
    return this.#ready({ repair: false }).then((state) => ({
      name: this.name,
      branch: this.#branch,
      store: state.store,
      storage: state.storage,
      head: () => state.head,
      merge: (remote) => this.#queue.exclusive(() => this.#head.merge(state, remote)),
      idle: () => this.#queue.idle(),
      onHead: (listener) => this.#feed.onHead(listener),
      onClose: (hook) => {
        this.#closeHooks.push(hook)
      },
      retainFiles: (retains) => this.#compactor.retainFiles(state, retains),
    }))
  }

  async close(): Promise<void> {
    if (this.#closed) return
    // A compaction running in the background ends first (its last step is in the write queue).
    await this.#compactor.close()
    await this.#queue.idle()
    this.#closed = true
    for (const hook of this.#closeHooks.splice(0)) await hook().catch(() => {})
    // A listener added now would never hear anything: subscribe() throws ClosedError from here on.
    this.#feed.close()
    const state = await this.#opening.catch(() => undefined)
    await state?.storage.close()
  }
}

const RESOLVED = Promise.resolve()

const clockOf = (state: OpenState): Clock => state.head?.heads.map(String) ?? []

async function snapshotOf(state: OpenState): Promise<Snapshot> {
  const head = state.head
  return { store: state.store, root: await rootAt(state, head), clock: head?.heads.map(String) ?? [] }
}

/** File sizes from storage that cannot tell them without reading (IndexedDB). */
async function readSizes(storage: Storage): Promise<Map<string, number>> {
  const sizes = new Map<string, number>()
  for (const file of await storage.listFiles()) {
    const bytes = await storage.readFile(file)
    if (bytes) sizes.set(file, bytes.length)
  }
  return sizes
}

/**
 * `bulk()`'s options: `ifClock`, checked (an array of event CID strings, as `clock()` gives), sorted for the
 * comparison at commit; a TypeError naming a bad value, before anything is queued.
 */
function checkBulkOptions(options: BulkOptions | undefined): readonly string[] | undefined {
  if (options === undefined) return undefined
  if (options === null || typeof options !== 'object') throw new TypeError(`bulk() options must be an object, got ${describe(options)}`)
  const unknown = Object.keys(options).filter((key) => key !== 'ifClock')
  if (unknown.length) throw new TypeError(`bulk() options: unknown option ${JSON.stringify(unknown[0])} (known: ifClock)`)
  const { ifClock } = options
  if (ifClock === undefined) return undefined
  if (!Array.isArray(ifClock) || !ifClock.every((head) => typeof head === 'string' && head.length > 0)) {
    throw new TypeError(`bulk() option ifClock must be a clock (an array of event CID strings, as clock() gives), got ${describe(ifClock)}`)
  }
  return [...ifClock].sort()
}

function sameClockStrings(sorted: readonly string[], clock: readonly string[]): boolean {
  const other = [...clock].sort()
  return other.length === sorted.length && other.every((head, i) => head === sorted[i])
}
