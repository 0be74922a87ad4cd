import { linksUnopenedManifests, openLinkedManifests, openManifests } from '../attachments/write.js'
import type { Block, CID } from '../blockstore/block.js'
import { MissingBlockError, type BlockStore } from '../blockstore/store.js'
import { containsEvents } from '../clock/ancestry.js'
import { isDelta, loadEvent, makeDeltaEvent, makeDeltaEventNow, makeEvent, makeEventNow, type ClockEvent } from '../clock/event.js'
import { checkedHeadRoot } from '../clock/root.js'
import { attachmentLinks } from '../format/attachment.js'
import { InconsistentHeadError } from '../errors.js'
import { resolveRoot } from '../clock/resolve.js'
import type { Entry } from '../crdt/entry.js'
import { sameClock } from '../clock/same-clock.js'
import { mergeTrees } from '../crdt/merge.js'
import { applyEntries, applyEntriesNow, diff } from '../crdt/tree.js'
import type { ChangeRow } from './api.js'
import type { ChangeFeed } from './changes.js'
import { markMerged, readHeads, writeHead, writeHeadNow, type HeadState } from './head.js'
import { hasPendingTree, notePendingTree, pendingEntries, pendingTree, rootAt, sortedEntries } from './head-tree.js'
import { nextTurn } from './next-turn.js'
import type { OpenState } from './open.js'
import { toRow } from './view.js'
import { hashesNow } from '../kit/sha256-cid.js'
import type { SynchronousWrites } from '../storage/api.js'

/**
 * Moves the local head forward (a commit, a merge of another head, the adoption of a head that contains it),
 * stores it in the head record, and announces it. Callers run one at a time (the write queue).
 */
export class LocalHead {
  readonly #branch: string
  readonly #feed: ChangeFeed
  readonly #isClosed: () => boolean
  readonly #mergeWritten: (state: OpenState) => void
  /**
   * Set by the compactor once a compaction chose files to delete: before a merge's head is stored, or a write
   * naming attachments, keeps (or stores again) those files the new state needs (see DeletedFiles).
   */
  keepDeleted: KeepDeleted | undefined

  /** `mergeWritten` is told when a merge wrote a new file (it may be time to compact). */
  constructor(branch: string, feed: ChangeFeed, isClosed: () => boolean, mergeWritten: (state: OpenState) => void) {
    this.#branch = branch
    this.#feed = feed
    this.#isClosed = isClosed
    this.#mergeWritten = mergeWritten
  }

  /**
   * Writes one file and a new clock event at `height` for a transaction that wrote `entries` (sorted by id),
   * then the local head. A small transaction over a single head writes a delta event (its entries, no tree
   * nodes: see format/event.ts), and its tree is not built: the head names no root, and head-tree.ts builds
   * it when a reader asks. Every `CHECKPOINT_EVERY`-th event, a large one, or one over several heads writes a
   * checkpoint: the tree with every pending entry applied, whose file also holds every derived node it reaches.
   */
  async advance(state: OpenState, entries: Entry[], height: number, rows: () => ChangeRow[]): Promise<void> {
    const { store } = state
    const previous = state.head
    const parents = previous?.heads ?? []
    let delta: { block: Block; links: CID[] } | undefined
    if (parents.length === 1 && state.deltaDepth !== undefined && state.deltaDepth < CHECKPOINT_EVERY - 1 && entries.length <= DELTA_MAX_ENTRIES) {
      delta = await makeDeltaEvent(parents[0]!, height, entries)
      if (delta.block.bytes.length > DELTA_MAX_BYTES) delta = undefined
    }
    // An attachment written back from a version a compaction dropped: its files stay, or the write fails.
    if (this.keepDeleted) {
      const manifests = attachmentLinks(entries)
      if (manifests.length) await this.keepDeleted(store, [], undefined, [], manifests)
    }
    let head: HeadState
    if (delta) {
      // Its links past the parent are the attachment manifests its entries name.
      if (delta.links.length > 1) await openManifests(store, delta.links.slice(1))
      const file = await store.commit([delta], [delta.block.cid])
      head = { heads: [delta.block.cid], files: [file], height }
      notePendingTree(head, previous, state.emptyRoot, entries)
    } else {
      const pending = pendingTree(previous, state.emptyRoot)
      const all = pendingEntries(pending)
      for (const entry of entries) all.set(entry[0], entry)
      const { root, blocks } = await store.whilePinned(pending.base, () => applyEntries(store, pending.base, sortedEntries(all), () => true))
      await openLinkedManifests(store, blocks)
      const event = await makeEvent(parents, height, root)
      const file = await store.commit([...blocks, event], [event.block.cid])
      store.noteEventRoot(event.block.cid, root)
      head = { heads: [event.block.cid], files: [file], root, height }
    }
    await writeHead(state.storage, this.#branch, head)
    state.head = head
    state.deltaDepth = delta ? state.deltaDepth! + 1 : 0
    if (!delta) store.sweepDerived([head.root!])
    this.#feed.emit(this.#feed.hasSubscribers ? rows() : [])
  }

  /**
   * `advance` for the common transaction, done before it returns: a delta event over the one head, or the
   * checkpoint due every `CHECKPOINT_EVERY` events built from the tree nodes held in memory, its file and the
   * head record written through the storage's synchronous writes (Storage.writeNow), the same bytes `advance`
   * writes. Returns the new head; undefined, with nothing written, when the transaction needs more (an
   * attachment, a node not held, a merge of several heads, a step that answers only with a promise):
   * `advance` takes it then.
   */
  advanceNow(state: OpenState, entries: Entry[], height: number, rows: () => ChangeRow[]): HeadState | undefined {
    const previous = state.head
    const depth = state.deltaDepth
    const parents = previous?.heads ?? []
    if (parents.length > 1 || entries.length > DELTA_MAX_ENTRIES) return undefined
    // Nothing is done in one step where hashing or the cipher answer with a promise (the browser).
    const writes = hashesNow ? state.storage.writeNow?.() : undefined
    if (!writes) return undefined
    let head: HeadState
    if (previous && depth !== undefined && depth < CHECKPOINT_EVERY - 1) {
      const delta = makeDeltaEventNow(parents[0]!, height, entries)
      // Links past the parent are attachment manifests, which `advance` opens (and keeps from a compaction).
      if (!delta || delta.links.length > 1 || delta.block.bytes.length > DELTA_MAX_BYTES) return undefined
      const file = state.store.commitNow([delta], [delta.block.cid], writes)
      if (!file) return undefined
      head = { heads: [delta.block.cid], files: [file], height }
      notePendingTree(head, previous, state.emptyRoot, entries)
    } else {
      const checkpoint = this.#checkpointNow(state, previous, entries, height, writes)
      if (!checkpoint) return undefined
      head = checkpoint
    }
    writeHeadNow(writes, state.storage, this.#branch, head)
    state.head = head
    state.deltaDepth = head.root ? 0 : depth! + 1
    if (head.root) this.#sweepAfterReaders(state)
    // Last: a listener may write again (its write is a later transaction).
    this.#feed.emit(this.#feed.hasSubscribers ? rows() : [])
    return head
  }

  /**
   * `advance`'s checkpoint over `previous` (one head, or none: a new database's first write), its file written,
   * when the nodes it rewrites are held.
   */
  #checkpointNow(state: OpenState, previous: HeadState | undefined, entries: Entry[], height: number, writes: SynchronousWrites): HeadState | undefined {
    const { store } = state
    const pending = pendingTree(previous, state.emptyRoot)
    const all = pendingEntries(pending)
    for (const entry of entries) all.set(entry[0], entry)
    const built = applyEntriesNow(store, pending.base, sortedEntries(all), () => true)
    // A leaf linking an attachment manifest this device has not opened: `advance` opens it (openLinkedManifests).
    if (!built || linksUnopenedManifests(store, built.blocks)) return undefined
    const event = makeEventNow(previous?.heads ?? [], height, built.root)
    const file = event && store.commitNow([...built.blocks, event], [event.block.cid], writes)
    if (!file) return undefined
    store.noteEventRoot(event.block.cid, built.root)
    return { heads: [event.block.cid], files: [file], root: built.root, height }
  }

  /**
   * After a checkpoint made in one step: drops the derived nodes no live tree reaches on a later turn, not
   * now. A read called just before the write has taken its snapshot but pins its root only a few microtasks
   * later (store.whilePinned), and a sweep in between dropped the nodes it was about to walk.
   */
  #sweepAfterReaders(state: OpenState): void {
    if (this.#sweepDue) return
    this.#sweepDue = true
    void nextTurn().then(() => {
      this.#sweepDue = false
      // The tree the head builds on: its root, or the checkpoint under its deltas (none known: the next one sweeps).
      const head = state.head
      const base = head?.root ?? (head && hasPendingTree(head) ? pendingTree(head, state.emptyRoot).base : undefined)
      if (base) state.store.sweepDerived([base])
    })
  }

  #sweepDue = false

  /** Merges a remote head into the local one (one new file when the two diverged). */
  async merge(state: OpenState, remote: HeadState): Promise<void> {
    remote.heads.forEach((cid, i) => state.store.locate(cid, remote.files[i]!))
    // The head files carry the locations of everything the remote tree links to; a delta head's tree is
    // derived from its events (and must be the root it names).
    await Promise.all(remote.files.map((file) => state.store.loadFile(file)))
    const local = state.head
    // A writer's delta events on top of the local head (live sync): their entries are what changed, and the
    // tree is built when a reader asks (head-tree.ts), as the writer's own is.
    const entries = local && (await deltaEntriesSince(state.store, remote, local))
    if (local && entries) {
      await this.#adoptDeltas(state, remote, local, entries)
      return
    }
    const remoteRoot = await checkedHeadRoot(
      state.store,
      remote,
      () => resolveRoot(state.store, remote.heads, state.emptyRoot, remote.heads.map(String)),
      (derived) =>
        new InconsistentHeadError(
          `The head ${remote.heads.join(',')} (file ${remote.files.join(',')})`,
          `it names root ${remote.root}, but its head events give root ${derived}`,
        ),
    )
    if (remote.heads.length === 1) state.store.noteEventRoot(remote.heads[0]!, remoteRoot)
    if (!local) {
      await this.#adopt(state, remote, remoteRoot, state.emptyRoot)
      return
    }
    // The clocks are joined, not only the trees: a remote head whose tree adds nothing (its writes lost by
    // the merge rule) still becomes a parent, so every clock any replica flushed stays in the history a
    // fresh device walks. Only when one clock already contains the other is no event needed.
    if (await containsEvents(state.store, local.heads, remote.heads)) return
    const localRoot = await rootAt(state, local)
    if (await containsEvents(state.store, remote.heads, local.heads, { fetch: true })) {
      await this.#adopt(state, remote, remoteRoot, localRoot)
      return
    }
    const merged = await mergeTrees(state.store, localRoot, remoteRoot)
    await openLinkedManifests(state.store, merged.blocks)
    const height = Math.max(local.height, remote.height) + 1
    const parents = [...new Map([...local.heads, ...remote.heads].map((cid) => [cid.toString(), cid])).values()]
    const event = await makeEvent(parents, height, merged.root)
    const file = await state.store.commit([...merged.blocks, event], [event.block.cid])
    state.store.noteEventRoot(event.block.cid, merged.root)
    await this.keepDeleted?.(state.store, [event.block.cid], merged.root, local.heads)
    // Only now are the merged tree's new blocks in the store.
    const rows = this.#feed.hasSubscribers ? await changedRows(state.store, localRoot, merged.root) : []
    const head: HeadState = { heads: [event.block.cid], files: [file], root: merged.root, height }
    await writeHead(state.storage, this.#branch, head)
    state.head = head
    state.deltaDepth = 0
    state.store.sweepDerived([merged.root])
    this.#feed.emit(rows)
    this.#mergeWritten(state)
  }

  /**
   * Merges every head in the stored record (the head and the `unmerged` heads of other writers, see head.ts),
   * then stores the result when the record held anything else, which also drops the merged entries.
   */
  async mergeStored(state: OpenState): Promise<void> {
    const stored = await readHeads(state.storage, this.#branch)
    for (const head of stored) {
      if (this.#isClosed()) return
      if (!sameClock(head, state.head)) await this.merge(state, head)
      markMerged(state.storage, this.#branch, head)
    }
    const local = state.head
    if (local && !this.#isClosed() && (stored.length > 1 || (stored[0] && !sameClock(stored[0], local)))) {
      await writeHead(state.storage, this.#branch, local)
    }
  }

  /**
   * Takes a remote head made of delta events on top of the local head, `entries` theirs in order: the rows
   * that changed are those entries (no tree diff), and the tree waits for a reader, as after a local delta.
   */
  async #adoptDeltas(state: OpenState, remote: HeadState, local: HeadState, entries: Entry[]): Promise<void> {
    await this.keepDeleted?.(state.store, remote.heads, undefined, local.heads)
    const head: HeadState = { heads: remote.heads, files: remote.files, height: remote.height }
    notePendingTree(head, local, state.emptyRoot, entries)
    const rows = this.#feed.hasSubscribers ? sortedEntries(new Map(entries.map((entry) => [entry[0], entry]))).map((entry) => toRow(entry, state.store)) : []
    if (local.root && state.store.locationOf(local.root) && isDelta(await loadEvent(state.store, local.heads[0]!))) {
      // The local head is a delta whose tree a compaction wrote, and whose earlier events' files it deleted:
      // after a reopen its tree is known only from the head record naming it, so a root-less head over it
      // could not be opened again without a backend. The adopted head's tree is written now instead, as a
      // checkpoint on top of it, before any record names it.
      state.head = head
      state.deltaDepth = undefined
      await this.advance(state, [], head.height + 1, () => [])
      this.#feed.emit(rows)
      return
    }
    await writeHead(state.storage, this.#branch, head)
    state.head = head
    // How far the adopted head is from its checkpoint is not known here: the next write is a checkpoint.
    state.deltaDepth = undefined
    this.#feed.emit(rows)
  }

  /** Takes a remote head that already contains everything local (no new file is written). */
  async #adopt(state: OpenState, remote: HeadState, remoteRoot: CID, previousRoot: CID): Promise<void> {
    await this.keepDeleted?.(state.store, remote.heads, remoteRoot, state.head?.heads ?? [])
    // Listing what changed reads both trees; without listeners a new device stays lazy.
    const rows = this.#feed.hasSubscribers ? await changedRows(state.store, previousRoot, remoteRoot) : []
    await writeHead(state.storage, this.#branch, remote)
    state.head = { ...remote, root: remoteRoot }
    // How far the adopted head is from its checkpoint is not known here: the next write is a checkpoint.
    state.deltaDepth = undefined
    this.#feed.emit(rows)
  }
}

/** See LocalHead.keepDeleted and DeletedFiles.keepFor. */
export type KeepDeleted = (store: BlockStore, heads: readonly CID[], root: CID | undefined, local: readonly CID[], manifests?: readonly CID[]) => Promise<void>

/**
 * A checkpoint at least every this many events: a cold reader of a delta head reads at most this many
 * small files before the tree it builds on, and the derived nodes a writer holds stay bounded. Measured
 * (packages/core/bench/sequential-puts.ts): 16 → 32 halves the amortized checkpoint bytes per put.
 */
export const CHECKPOINT_EVERY = 32
/** Larger transactions write a checkpoint: their entries would cost more than the tree path they change. */
const DELTA_MAX_ENTRIES = 64
const DELTA_MAX_BYTES = 16 * 1024

/**
 * The entries of the delta events from `remote` back to `local` (oldest first), when `remote` names no root
 * and is a chain of at most CHECKPOINT_EVERY delta events whose last parent is `local`'s single head;
 * undefined otherwise (a checkpoint or a merge on the way, another history, an event not to be had now).
 */
async function deltaEntriesSince(store: BlockStore, remote: HeadState, local: HeadState): Promise<Entry[] | undefined> {
  if (remote.root || remote.heads.length !== 1 || local.heads.length !== 1) return undefined
  const target = local.heads[0]!.toString()
  const chain: Entry[][] = []
  let at = remote.heads[0]!
  for (let step = 0; step < CHECKPOINT_EVERY; step++) {
    let event: ClockEvent
    try {
      event = await loadEvent(store, at)
    } catch (error) {
      if (error instanceof MissingBlockError) return undefined
      throw error
    }
    if (!isDelta(event)) return undefined
    chain.push(event.d)
    at = event.p[0]
    if (at.toString() === target) return chain.reverse().flat()
  }
  return undefined
}

async function changedRows(store: BlockStore, from: CID, to: CID): Promise<ChangeRow[]> {
  return (await diff(store, from, to)).map(({ entry }) => toRow(entry, store))
}
