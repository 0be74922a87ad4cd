import type { Block, CID } from '../blockstore/block.js'
import { encodeCompaction, writeCompaction, type EncodedCompaction } from '../blockstore/compact.js'
import { MissingBlockError, type BlockStore } from '../blockstore/store.js'
import { COMPACT_FILE_BYTES, writeCompacted } from './compaction-writer.js'
import { Pace } from './next-turn.js'
import { CompactionNeeds } from './compaction-needs.js'
import { DeletedFiles } from './compaction-deleted.js'
import { loadEvent } from '../clock/event.js'
import { rootOf } from '../clock/root.js'
import { load, type BranchNode, type LeafNode } from '../crdt/tree.js'
import { KeyRing } from '../crypto/key-epochs.js'
import { ClosedError, DatabaseInUseError } from '../errors.js'
import { attachmentLinks, decodeManifest } from '../format/attachment.js'
import { isLinklessLeaf } from '../format/tree-node.js'
import { decodeReplicatedRecord, encodeReplicatedRecord } from '../format/replicated-record.js'
import type { IndexState } from '../index/record.js'
import { writeIndexes } from '../index/record.js'
import type { ChangeFeed } from './changes.js'
import { rootAt } from './head-tree.js'
import { writeHead, type HeadState } from './head.js'
import type { LocalHead } from './head-state.js'
import type { Indexes } from './indexes.js'
import type { OpenState } from './open.js'

/** Local record present once a sync was connected: automatic compaction then waits for a connected sync. */
const REPLICATED = 'replicated'

/** Default of `compactEvery`: local files written since the last compaction that trigger the next one. */
const COMPACT_EVERY = 100

/** Bytes written since the last compaction, as a share of its size, before an automatic one runs. */
const COMPACT_GROWTH = 0.5

/**
 * With the default `compactEvery`, an automatic compaction also waits for this many bytes written since the
 * last one: a small database would otherwise be rewritten every 100 single puts of ~1 KB (most of the time
 * of 1 000 awaited puts into a new database, apps/bench W1), to reclaim a few hundred KB.
 */
const DEFAULT_COMPACT_MIN_BYTES = 1024 * 1024

/** Walks of what was written since the snapshot made before the swap, at most (see #compactAlone). */
const PRE_WALKS = 4
/** A walk that visited fewer blocks than this leaves the swap little to walk: no further one. */
const PRE_WALK_ENOUGH = 256

/** Files deleted at once after a compaction (each deletion waits for the file system, not for the others). */
const DELETE_BATCH = 32

export interface CompactorParts {
  name: string
  branch: string
  compactEvery: number | undefined
  /** Runs a task in the database's write queue. */
  exclusive: <T>(task: () => Promise<T>) => Promise<T>
  head: LocalHead
  indexes: Indexes
  feed: ChangeFeed
}

/** What a compaction rewrites, taken in the write queue (see Compactor.compact). */
interface Snapshot {
  head: HeadState
  headRoot: CID
  /** The tree of each head event. */
  headRoots: CID[]
  /** The head events' parents and their files, for the compaction's history. */
  history: [CID, string][]
  indexes: Map<string, IndexState>
  /** The local files at the snapshot: only these may be deleted. */
  files: Set<string>
  /** Files a connected sync's backend lacks: they stay, and travel with the compaction's files. */
  retained: Set<string>
  /** Transactions committed since the snapshot (file, bytes), the compaction's own included. */
  commits: [string, number][]
  /** Sizes of the files written since the snapshot. */
  sizes: Map<string, number>
  release: () => void
}

/** What the background part wrote. */
interface Written {
  files: string[]
  eventFile: string
  /** Every block it wrote, and its file. */
  located: Map<string, string>
  /** The keys of `located` (built here, not in the swap: a set of every block of the database). */
  compacted: Set<string>
  indexes: Map<string, IndexState>
  bytes: number
  /** The compaction's files and every file they name (attachment chunks, retained files). */
  keep: Set<string>
  /** Its compaction record, stored after the swap (see #compactAlone). */
  record: EncodedCompaction
}

/**
 * Rewrites every block the head needs (documents, indexes, head events) into new files of about 256 KiB and
 * deletes the local copies of all other files, on request or every `compactEvery` files. Reading at a clock
 * older than the compaction afterwards needs a connected replica that still holds the old files (they are
 * never deleted remotely); without one it fails with HistoryUnavailableError. Current state never depends
 * on a deleted file: the compaction files name only each other (and files written after the snapshot, which
 * stay), and the compaction record relocates every block for headers that still name an old file.
 *
 * The rewrite is O(database) and runs OUTSIDE the write queue: a short step in the queue takes a snapshot of
 * the head, the rewrite reads and writes meanwhile (writes go on), and a second short step in the queue,
 * O(what was written since), makes it current (see `#swap`). Writes never wait for the rewrite.
 */
export class Compactor {
  readonly #parts: CompactorParts
  /** Sync's predicates: a local file any of them retains is not deleted by a compaction (see Replica). */
  readonly #retainers = new Set<(file: string) => boolean>()
  /** Whether a sync was ever connected to this database (a durable record, see maybeCompact). */
  #replicated: boolean | undefined
  #compacting = false
  /** The compaction running now, if any: compactions run one at a time. */
  #running: Promise<unknown> = Promise.resolve()
  #closing = false
  /** What compactions chose to delete; a merge made after a swap keeps or stores again what it needs. */
  readonly #deleted = new DeletedFiles()

  constructor(parts: CompactorParts) {
    this.#parts = parts
  }

  /** See Replica.retainFiles. The first one also records, durably, that this database replicates. */
  retainFiles(state: OpenState, retains: (file: string) => boolean): () => void {
    this.#retainers.add(retains)
    if (!this.#replicated) {
      this.#replicated = true
      void state.storage.writeRecord(REPLICATED, encodeReplicatedRecord()).catch((error) =>
        console.error(`database ${JSON.stringify(this.#parts.name)}: recording that it replicates failed:`, error),
      )
    }
    return () => this.#retainers.delete(retains)
  }

  /**
   * Queues a compaction when enough files were written since the last one (option `compactEvery`) and their
   * bytes reach `COMPACT_GROWTH` of what the last compaction wrote (and, by default, 1 MiB): a compaction rewrites the whole live
   * database, so at a fixed file count its cost per write would grow with the database (a 1M-doc database
   * rewrote ~200 MB every 100 puts); paced by bytes, each written byte is rewritten a bounded number of times.
   */
  maybeCompact(state: OpenState, { catchUp = false }: { catchUp?: boolean } = {}): void {
    const every = this.#parts.compactEvery ?? COMPACT_EVERY
    if (every <= 0 || state.filesSinceCompaction < every || this.#compacting || (this.#closing && !catchUp)) return
    const minBytes = this.#parts.compactEvery === undefined ? DEFAULT_COMPACT_MIN_BYTES : 0
    if (state.bytesSinceCompaction < Math.max(COMPACT_GROWTH * state.compactedBytes, minBytes)) return
    this.#compacting = true
    // A database that replicates is not compacted automatically while no sync is connected: only a sync
    // knows which files its backend lacks, and deleting one of those would break the history other devices
    // walk. The next write after a sync connects compacts.
    void this.compact(state, { automatic: true, catchUp })
      .then(
        (done) => {
          this.#compacting = false
          // What was written while it ran counts towards the next one, which may be due already: it runs even
          // when the database is closing (close() waits for it), as it would have had it held the write queue.
          if (done) this.maybeCompact(state, { catchUp: true })
        },
        (error) => {
          this.#compacting = false
          if (!(error instanceof ClosedError)) console.error(`Automatic compaction of ${JSON.stringify(this.#parts.name)} failed:`, error)
        },
      )
  }

  /**
   * Compaction deletes local files that other instances over the same storage (tabs, `database()` calls in
   * one process) may still read, so its swap and deletions run only while this instance is the only one open
   * (none can open meanwhile: an instance opening then waits for them, not for the rewrite), after merging
   * every head the others stored. It starts only while this instance is alone, and when another opened
   * during the rewrite and is still open at the swap, the rewrite is dropped (its files, referenced by
   * nothing, go with the next compaction). Then an automatic compaction waits for a later turn and `compact()`
   * rejects with DatabaseInUseError, nothing changed. Not to be called from the write queue (it queues its
   * two short steps there). Resolves true when it compacted.
   */
  compact(state: OpenState, options: { automatic?: boolean; catchUp?: boolean } = {}): Promise<boolean> {
    if (this.#closing && !options.catchUp) return Promise.reject(new ClosedError(this.#parts.name))
    const run = this.#running.then(async () => {
      const { whileAlone } = state.storage
      // A device that syncs reads lazily, holding only the files it read: the rewrite reads every block.
      const lazy = async (error: unknown): Promise<never> => {
        if (!(error instanceof MissingBlockError) || !(await this.#replicates(state))) throw error
        throw new MissingBlockError(
          error.cid,
          `compact() of ${JSON.stringify(this.#parts.name)} reads every block; this device holds only the files it read ` +
            `(it syncs, and reads lazily), and no connected sync serves this one. Connect a sync, then compact() again. ` +
            `Nothing was changed`,
          { cause: error },
        )
      }
      if (!whileAlone) return this.#compactAlone(state, options, (task) => task().then(() => true)).catch(lazy)
      let refused = false
      const alone = async (task: () => Promise<void>) => {
        const ran = await whileAlone.call(state.storage, task)
        if (!ran) refused = true
        return ran
      }
      // Held through the rewrite, an instance opening meanwhile waited for the whole compaction (7.4 s at
      // 100 000 documents): only the swap and the deletions hold it. A rewrite begun while another instance is
      // open would only be dropped at its swap.
      const done = (await alone(async () => {})) && (await this.#compactAlone(state, { ...options, merge: true }, alone).catch(lazy))
      if (refused && !options.automatic) throw new DatabaseInUseError(this.#parts.name, state.storage.location, 'compact()')
      return done
    })
    this.#running = run.catch(() => {})
    return run
  }

  /**
   * No compaction starts from now on but the one that the running one makes due (see maybeCompact); resolves
   * once they have ended.
   */
  async close(): Promise<void> {
    this.#closing = true
    let running: Promise<unknown>
    do {
      running = this.#running
      await running
    } while (running !== this.#running)
  }

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

  /** `alone` runs the swap and the deletions while no other instance is open; false: it did not run them. */
  async #compactAlone(
    state: OpenState,
    options: { automatic?: boolean; merge?: boolean },
    alone: (task: () => Promise<void>) => Promise<boolean>,
  ): Promise<boolean> {
    const snapshot = await this.#parts.exclusive(() => this.#snapshot(state, options))
    if (!snapshot) return false
    try {
      const written = await this.#write(state, snapshot)
      const needs = new CompactionNeeds(state.store, written.compacted, (file) => snapshot.files.has(file))
      // What was written since the snapshot is walked here first, while writes go on, again until a walk finds
      // little new: the swap then walks only what was written during the last of these (a bulk load writes
      // thousands of tree nodes during a compaction, which took ~2 s to walk in the queue at 300k documents).
      needs.pace = new Pace()
      for (let round = 0; round < PRE_WALKS; round++) {
        const head = state.head!
        if (head === snapshot.head) break
        await needs.derivable(head)
        if (needs.visited < PRE_WALK_ENOUGH) break
      }
      // The state written since is copied outside the queue too, into files that name only the compaction's
      // files and each other (see #anchor), again until a round copies little: the swap's anchor then copies
      // what the last round left. Copied in the queue, a bulk load during a compaction held it for 1.5-2.5 s at
      // 300k documents.
      const settled = new Set(written.files)
      for (let round = 0; round < PRE_WALKS; round++) {
        const head = state.head!
        if (head === snapshot.head) break
        if ((await this.#copyUnsettled(state, head, settled, needs.pace)) < PRE_WALK_ENOUGH) break
      }
      needs.pace = undefined
      return await alone(async () => {
        const unneeded = await this.#parts.exclusive(async () => {
          // What others that opened and closed during the rewrite stored (their files came after the snapshot,
          // so they stay; their trees are walked like any write made since).
          if (options.merge) await this.#parts.head.mergeStored(state)
          return this.#swap(state, snapshot, written, needs, settled)
        })
        // The record replaces the previous compaction's, which the stored head may need until the swap: a head
        // written during that compaction's rewrite (a checkpoint, and deltas on it) names the files it deleted
        // for the nodes it shared, and only its record relocates them; the snapshot's tree holds none of those
        // its deltas replaced. Stored before the swap, a kill -9 (or a swap refused) until the head moved left
        // a head that could not be opened (MissingBlockError deriving its tree). From the swap on, the stored
        // head needs this record alone, and only once it is stored may the files it stands for go.
        await writeCompaction(state.storage, written.record)
        // Outside the write queue too (a compaction of a database written by single puts deletes thousands):
        // what is deleted was chosen in the swap (local writes link the compacted blocks, the files written
        // since the snapshot, and what the swap kept), less what a merge made since needs (DeletedFiles).
        const pace = new Pace()
        for (let i = 0; i < unneeded.length; i += DELETE_BATCH) {
          await this.#deleted.delete(unneeded.slice(i, i + DELETE_BATCH), (file) => (this.#retains(file) ? undefined : state.storage.deleteFile(file)))
          const turn = pace.due()
          if (turn) await turn
        }
      })
    } finally {
      snapshot.release()
    }
  }

  /** In the write queue: what the compaction rewrites. O(heads), plus the tree of a delta head's pending entries. */
  async #snapshot(state: OpenState, { automatic = false, merge = false }: { automatic?: boolean; merge?: boolean }): Promise<Snapshot | undefined> {
    if (merge) await this.#parts.head.mergeStored(state)
    const head = state.head
    if (!head) return undefined
    const { store, storage } = state
    // A database that replicates is not compacted automatically while no sync is connected (see
    // maybeCompact). What the syncs retain is asked once, now: a sync that closes meanwhile must not free
    // its files halfway.
    const replicates = await this.#replicates(state)
    const local = await storage.listFiles()
    // From here to the list of retained files nothing awaits: a sync closing in between would retain nothing.
    if (automatic && replicates && this.#retainers.size === 0) return undefined
    // Files a connected backend does not hold yet survive the compaction (deleting them would lose what they
    // carry for every other device); the compaction's files name them, so the next push still uploads them.
    const retained = new Set(local.filter((file) => this.#retains(file)))
    const headRoot = await rootAt(state, head)
    // The tree of each head event (the head's own tree when it has one event: a delta head's parents may be
    // gone since an earlier compaction, and its tree is the head's).
    const headRoots = head.heads.length === 1 ? [headRoot] : await Promise.all(head.heads.map((cid) => rootOf(store, cid)))
    const history: [CID, string][] = []
    for (const cid of head.heads) {
      for (const parent of (await loadEvent(store, cid)).p) {
        const file = store.locationOf(parent)
        if (file) history.push([parent, file])
      }
    }
    // The next write is a checkpoint: a delta written meanwhile would derive its tree through the snapshot
    // head's chain, whose files this compaction deletes (a chain never crosses a compaction).
    state.deltaDepth = undefined
    // A write meanwhile that checkpoints sweeps the derived nodes its tree does not reach: the rewrite reads these.
    const pins = [headRoot, ...headRoots].map((root) => store.pin(root))
    const commits: [string, number][] = []
    const sizes = new Map<string, number>()
    const stopCommits = store.onCommit((file, bytes) => void commits.push([file, bytes]))
    const stopSizes = store.onFileWritten((file, size) => void sizes.set(file, size))
    return {
      head,
      headRoot,
      headRoots,
      history,
      indexes: new Map(state.indexes),
      files: new Set(local),
      retained,
      commits,
      sizes,
      release: () => {
        stopCommits()
        stopSizes()
        for (const release of pins) release()
      },
    }
  }

  /** Outside the write queue: the O(database) part (rebuilding the indexes, rewriting the snapshot's blocks). */
  async #write(state: OpenState, snapshot: Snapshot): Promise<Written> {
    const { store } = state
    const { head, headRoot, headRoots, retained, history } = snapshot
    const pace = new Pace()
    // The indexes as they were at the snapshot, rebuilt from its tree, read through a store that lets writes
    // have their turns (the rebuild reads every document, mostly from the cache, on microtasks alone).
    const indexes = await this.#parts.indexes.rebuiltFor({ ...state, store: pacedStore(store, pace), indexes: snapshot.indexes }, headRoot)
    const roots = [headRoot, ...headRoots]
    for (const index of indexes.values()) roots.push(index.root)
    const unique = [...new Map(roots.map((cid) => [cid.toString(), cid])).values()]
    const { files, eventFile, located } = await writeCompacted(store, unique, head.heads, headRoots, retained, COMPACT_FILE_BYTES, pace)
    const bytes = files.reduce((sum, file) => sum + (snapshot.sizes.get(file) ?? 0), 0)
    const fileIndex = new Map(files.map((file, i) => [file, i]))
    // Encoded here, outside the write queue (it names every block of the database); stored after the swap.
    const record = encodeCompaction({ files, blocks: located.map(([cid, file]) => [cid, fileIndex.get(file)!]), history, bytes })
    const keep = new Set(files)
    // The files the compaction's files name (attachment chunks, kept files) stay: the state needs them.
    for (const file of files) for (const named of await store.fileReferences(file)) keep.add(named)
    const locatedFiles = new Map(located.map(([cid, file]) => [cid.toString(), file]))
    return { files, eventFile, located: locatedFiles, compacted: new Set(locatedFiles.keys()), indexes, bytes, keep, record }
  }

  /**
   * In the write queue: makes the compaction current and deletes the old files nothing needs. When nothing
   * was written since the snapshot, the head is the compacted one. Otherwise the head stays the newest
   * head: every file written since the snapshot stays, and so does every old file the state written since
   * still reaches outside the compacted blocks (CompactionNeeds, O(what was written since)); a head whose
   * tree could not be derived after a reopen without a deleted file is anchored (its events rewritten, linking
   * the tree, which is written with them). The first write after the snapshot was a checkpoint, so a delta
   * chain written meanwhile derives from a tree that stays.
   */
  async #swap(state: OpenState, snapshot: Snapshot, written: Written, needs: CompactionNeeds, settled: Set<string>): Promise<string[]> {
    const { store, storage } = state
    const { branch } = this.#parts
    const current = state.head!
    let head: HeadState | undefined
    if (current === snapshot.head) {
      head = { ...current, root: snapshot.headRoot, files: current.heads.map(() => written.eventFile) }
    } else {
      // Always anchored: the files written since the snapshot were sealed before the compaction wrote the
      // blocks they link, so their headers name, for those, the old files this swap deletes. Left as the head,
      // every walk of file headers from it (a push to a backend that lacks them, a device reading from that
      // backend, inspectLocal) met a file that is gone: a first sync after such a compaction failed for good.
      // The walk of the chain still notes the old files a read at a clock written meanwhile needs.
      await needs.derivable(current)
      head = await this.#anchor(state, current, snapshot, needs, settled)
    }
    // The indexes the snapshot had are the rebuilt ones (an update made meanwhile may link old files; the next
    // query updates them from the compacted tree); one first built since the snapshot is in new files.
    const indexes = new Map<string, IndexState>()
    for (const [name, index] of written.indexes) {
      indexes.set(name, {
        ...index,
        file: written.located.get(index.root.toString())!,
        docFile: written.located.get(index.docRoot.toString())!,
        docEvent: undefined,
      })
    }
    for (const [name, index] of state.indexes) if (!snapshot.indexes.has(name) && !indexes.has(name)) indexes.set(name, index)
    state.indexes = indexes
    await writeIndexes(storage, branch, indexes)
    if (head) {
      await writeHead(storage, branch, head)
      state.head = head
      if (head.heads.length === 1) store.noteEventRoot(head.heads[0]!, head.root!)
      // The next write is a checkpoint, so no later delta derives its tree through deleted files.
      state.deltaDepth = undefined
    }
    // This compaction placed every block it wrote; the previous one's record no longer applies.
    store.deferLocations(undefined)
    const keep = new Set([...written.keep, ...snapshot.retained, ...needs.files])
    // The key-epoch file carries the earlier keys to other devices: it is never deleted (crypto/key-epochs.ts).
    if (store.key instanceof KeyRing && store.key.epochFile) keep.add(store.key.epochFile)
    const unneeded = [...snapshot.files].filter((file) => !keep.has(file) && !this.#retains(file))
    this.#deleted.chose(store, unneeded, written.files)
    this.#parts.head.keepDeleted ??= (...args) => this.#deleted.keepFor(...args)
    const own = new Set([...written.files, ...settled, ...(head && head !== current ? head.files : [])])
    let files = 0
    let bytes = 0
    for (const [file, size] of snapshot.commits) {
      if (own.has(file)) continue
      files++
      bytes += size
    }
    state.filesSinceCompaction = files
    state.bytesSinceCompaction = bytes
    state.compactedBytes = written.bytes
    if (head) this.#parts.feed.headChanged()
    return unneeded
  }

  /**
   * Outside the write queue: copies the blocks of `head`'s tree that no `settled` file holds into new files
   * (see #anchor), which become settled. Returns how many it copied.
   */
  async #copyUnsettled(state: OpenState, head: HeadState, settled: Set<string>, pace: Pace | undefined): Promise<number> {
    const { store } = state
    const root = await rootAt(state, head)
    const roots = head.heads.length === 1 ? [root] : await Promise.all(head.heads.map((cid) => rootOf(store, cid)))
    // A write meanwhile that checkpoints sweeps the derived nodes its tree does not reach: these are copied.
    const pins = [...new Set(roots)].map((tree) => store.pin(tree))
    try {
      // In files of about a compaction file's size, written as the walk goes (the blocks come children first,
      // so each file links only into the files before it): holding every block of a large head's tree until
      // the walk ended raised a 1M-document load's peak RSS by ~120 MB. The event loop turns between files:
      // one commit of all of them sealed and hashed megabytes without a turn.
      let copied = 0
      await unsettledBlocks(store, roots, settled, pace, async (entries) => {
        const file = await store.commit(entries, head.heads, { cutAbove: Infinity })
        settled.add(file)
        copied += entries.length
        const turn = pace?.due()
        if (turn) await turn
      })
      return copied
    } finally {
      for (const release of pins) release()
    }
  }

  /**
   * Rewrites the head's events into a new file, each linking its tree, as the compaction does for the
   * snapshot's head, with every block of that tree the compaction did not rewrite (what was written since the
   * snapshot, and what an old file still holds): the new file names only the compaction's files, attachment
   * chunk files and itself, never a file whose header names a deleted one. A reopen reads the head's tree from
   * there, not through a chain of events whose files go; the files written meanwhile stay for reads at their
   * clocks (named in `history`). Notes the old files that tree still needs.
   */
  async #anchor(
    state: OpenState,
    current: HeadState,
    snapshot: Snapshot,
    needs: CompactionNeeds,
    settled: ReadonlySet<string>,
  ): Promise<HeadState> {
    const { store, storage } = state
    const root = await rootAt(state, current)
    const roots = current.heads.length === 1 ? [root] : await Promise.all(current.heads.map((cid) => rootOf(store, cid)))
    const entries = await unsettledBlocks(store, [root, ...roots], settled)
    const history: [CID, string[]][] = []
    for (const [i, cid] of current.heads.entries()) {
      const block = await store.get(cid)
      entries.push({ block, links: [roots[i]!] })
      for (const parent of (await loadEvent(store, cid)).p) {
        const holders = store.locationsOf(parent)
        if (holders.length) history.push([parent, [...holders]])
      }
    }
    // Files written since the snapshot that a connected backend lacks travel with it, as the compaction's do.
    const carry = (await storage.listFiles()).filter((file) => !snapshot.files.has(file) && this.#retains(file))
    const file = await store.commit(entries, current.heads, { history, carry })
    for (const tree of new Set([root, ...roots])) await needs.tree(tree)
    return { heads: current.heads, files: current.heads.map(() => file), root, height: current.height }
  }
}

/**
 * The blocks of the trees under `roots` that no `settled` file holds first (the compaction's files, and those
 * of earlier copies), with their links, each after the blocks it links (post-order): tree nodes and
 * attachment manifests (chunks stay in their own files, which have no references). The walk stops at settled
 * blocks, so what it returns links only settled blocks, chunks and each other: a file of them names no file
 * the compaction deletes.
 */
async function unsettledBlocks(
  store: BlockStore,
  roots: CID[],
  settled: ReadonlySet<string>,
  pace?: Pace,
  /** Given the blocks found so far, about COMPACT_FILE_BYTES at a time, then the rest (and not returned). */
  write?: (entries: { block: Block; links: CID[] }[]) => Promise<void>,
): Promise<{ block: Block; links: CID[] }[]> {
  let out: { block: Block; links: CID[] }[] = []
  let bytes = 0
  const emit = async (entry: { block: Block; links: CID[] }) => {
    out.push(entry)
    bytes += entry.block.bytes.length
    if (!write || bytes < COMPACT_FILE_BYTES) return
    const batch = out
    out = []
    bytes = 0
    await write(batch)
  }
  const seen = new Set<string>()
  const isSettled = (key: string) => settled.has(store.locationOf(key) ?? '')
  // Iterative: a frame is expanded (its block read, its children pushed) once, and emitted after its children.
  const stack: { cid: CID; entry?: { block: Block; links: CID[] } }[] = roots.map((cid) => ({ cid }))
  while (stack.length) {
    const frame = stack[stack.length - 1]!
    if (frame.entry) {
      stack.pop()
      await emit(frame.entry)
      continue
    }
    const key = frame.cid.toString()
    if (seen.has(key) || isSettled(key)) {
      stack.pop()
      continue
    }
    seen.add(key)
    const turn = pace?.due()
    if (turn) await turn
    const block = await store.getUndecoded(frame.cid)
    // Most leaves link nothing: told from their bytes, never decoded (see isLinklessLeaf).
    if (isLinklessLeaf(block.bytes)) {
      frame.entry = { block, links: [] }
      continue
    }
    const node = await load(store, frame.cid)
    if (node.l !== 0) {
      const children = (node as BranchNode).e.map(([, child]) => child)
      frame.entry = { block, links: children }
      for (const child of children) stack.push({ cid: child })
      continue
    }
    const manifests = attachmentLinks((node as LeafNode).e)
    frame.entry = { block, links: manifests }
    for (const manifest of manifests) {
      const manifestKey = manifest.toString()
      if (seen.has(manifestKey) || isSettled(manifestKey)) continue
      seen.add(manifestKey)
      const stored = await store.get(manifest)
      await emit({ block: stored, links: decodeManifest(stored.value, manifest).chunks.map(([, chunk]) => chunk) })
    }
  }
  if (write && out.length) {
    await write(out)
    return []
  }
  return out
}

/**
 * What an index rebuild uses of the store (Indexes.rebuiltFor: reads, and its new nodes kept unsaved), each
 * read first giving the event loop its turn when one is due.
 */
function pacedStore(store: BlockStore, pace: Pace): BlockStore {
  const paced: Pick<BlockStore, 'get' | 'has' | 'putUnsaved'> = {
    get: <T>(cid: CID) => {
      const turn = pace.due()
      return turn ? turn.then(() => store.get<T>(cid)) : store.get<T>(cid)
    },
    has: (cid) => store.has(cid),
    putUnsaved: (block, links) => store.putUnsaved(block, links),
  }
  return paced as BlockStore
}
