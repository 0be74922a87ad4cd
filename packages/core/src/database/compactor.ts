import type { CID } from '../blockstore/block.js'
import { writeCompaction } from '../blockstore/compact.js'
import { writeCompacted } from './compaction-writer.js'
import { loadEvent } from '../clock/event.js'
import { rootOf } from '../clock/root.js'
import { KeyRing } from '../crypto/key-epochs.js'
import { ClosedError } from '../errors.js'
import { decodeReplicatedRecord, encodeReplicatedRecord } from '../format/replicated-record.js'
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

/**
 * Rewrites every block the head needs (documents, indexes, head events) into new files of about 256 KiB and
 * deletes the local copies of all other files, on request or every `compactEvery` files. Reading at a clock
 * older than the compaction afterwards needs a connected replica that still holds the old files (they are
 * never deleted remotely); without one it fails with HistoryUnavailableError. Current state never depends
 * on a deleted file: the compaction files name only each other, and the compaction record relocates every
 * block for headers that still name an old file.
 */
export class Compactor {
  readonly #parts: CompactorParts
  /** Sync's predicates: a local file any of them retains is not deleted by a compaction (see Replica). */
  readonly #retainers = new Set<(file: string) => boolean>()
  /** Whether a sync was ever connected to this database (a durable record, see maybeCompact). */
  #replicated: boolean | undefined
  #compacting = false

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
  maybeCompact(state: OpenState): void {
    const every = this.#parts.compactEvery ?? COMPACT_EVERY
    if (every <= 0 || state.filesSinceCompaction < every || this.#compacting) return
    const minBytes = this.#parts.compactEvery === undefined ? DEFAULT_COMPACT_MIN_BYTES : 0
    if (state.bytesSinceCompaction < Math.max(COMPACT_GROWTH * state.compactedBytes, minBytes)) return
    this.#compacting = true
    void this.#parts
      .exclusive(async () => {
        // A database that replicates is not compacted automatically while no sync is connected: only a sync
        // knows which files its backend lacks, and deleting one of those would break the history other
        // devices walk. The next write after a sync connects compacts.
        await this.compact(state, { automatic: true })
      })
      .catch((error) => {
        if (!(error instanceof ClosedError)) console.error(`Automatic compaction of ${JSON.stringify(this.#parts.name)} failed:`, error)
      })
      .finally(() => {
        this.#compacting = false
      })
  }

  /**
   * Compaction deletes local files that other instances over the same storage (tabs, `database()` calls in
   * one process) may still need, so it runs only while this instance is the only one open (none can open
   * meanwhile), after merging every head the others stored; otherwise it waits for a later turn. Run it in
   * the write queue.
   */
  async compact(state: OpenState, options: { automatic?: boolean } = {}): Promise<void> {
    if (!state.storage.whileAlone) return this.#compactAlone(state, options)
    await state.storage.whileAlone(async () => {
      await this.#parts.head.mergeStored(state)
      await this.#compactAlone(state, options)
    })
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

  async #compactAlone(state: OpenState, { automatic = false }: { automatic?: boolean } = {}): Promise<void> {
    const head = state.head
    if (!head) return
    const { store, storage } = state
    const { branch } = this.#parts
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
    const headRoot = await rootAt(state, head)
    const indexes = await this.#parts.indexes.rebuiltFor(state, headRoot)
    // The tree of each head event (the head's own tree when it has one event: a delta head's parents may be
    // gone since an earlier compaction, and its tree is the head's).
    const headRoots = head.heads.length === 1 ? [headRoot] : await Promise.all(head.heads.map((cid) => rootOf(store, cid)))
    const roots = [headRoot, ...headRoots]
    for (const index of indexes.values()) roots.push(index.root)
    const history: [CID, string][] = []
    for (const cid of head.heads) {
      for (const parent of (await loadEvent(store, cid)).p) {
        const file = store.locationOf(parent)
        if (file) history.push([parent, file])
      }
    }
    const unique = [...new Map(roots.map((cid) => [cid.toString(), cid])).values()]
    let bytes = 0
    const stopCounting = store.onFileWritten((_, size) => {
      bytes += size
    })
    let written: Awaited<ReturnType<typeof writeCompacted>>
    try {
      written = await writeCompacted(store, unique, head.heads, headRoots, retained)
    } finally {
      stopCounting()
    }
    const { files, eventFile, located } = written
    const fileIndex = new Map(files.map((file, i) => [file, i]))
    await writeCompaction(storage, { files, blocks: located.map(([cid, file]) => [cid, fileIndex.get(file)!]), history, bytes })
    // This compaction placed every block it wrote; the previous one's record no longer applies.
    store.deferLocations(undefined)
    for (const [name, index] of indexes) {
      indexes.set(name, {
        ...index,
        file: store.locationOf(index.root)!,
        docFile: store.locationOf(index.docRoot)!,
        docEvent: undefined,
      })
    }
    state.indexes = indexes
    await writeIndexes(storage, branch, indexes)
    const compacted: HeadState = { ...head, root: headRoot, files: head.heads.map(() => eventFile) }
    await writeHead(storage, branch, compacted)
    state.head = compacted
    // The compaction deleted the files a delta head's parents live in: the next write is a checkpoint, so
    // no later delta derives its tree through them (the head's own tree is in the compaction's files).
    state.deltaDepth = undefined
    const keep = new Set([...files, ...retained])
    // The key-epoch file carries the earlier keys to other devices: it is never deleted (crypto/key-epochs.ts).
    if (store.key instanceof KeyRing && store.key.epochFile) keep.add(store.key.epochFile)
    // The files the compaction's files name (attachment chunks, kept files) stay: the state needs them.
    for (const file of files) for (const named of await store.fileReferences(file)) keep.add(named)
    for (const file of await storage.listFiles()) if (!keep.has(file) && !this.#retains(file)) await storage.deleteFile(file)
    state.filesSinceCompaction = 0
    state.bytesSinceCompaction = 0
    state.compactedBytes = bytes
    this.#parts.feed.headChanged()
  }
}
