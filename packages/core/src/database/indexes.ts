import { MissingBlockError } from '../blockstore/store.js'
import { rootOf } from '../clock/root.js'
import { BatchedCommit } from '../index/batched-commit.js'
import { allRows, buildIndex } from '../index/build.js'
import { indexChanges, updateIndex } from '../index/indexer.js'
import { MemoryIndex } from '../index/memory.js'
import { mapper, type Mapper } from '../index/query.js'
import { writeIndexes, type IndexState } from '../index/record.js'
import type { CID } from '../blockstore/block.js'
import type { MapFn } from './api.js'
import { rootAt } from './head-tree.js'
import type { OpenState } from './open.js'

/**
 * A first build (or a rebuild) of a persisted index, committed in batches as it is made (index/build.ts): the
 * memory it takes is bounded whatever the database's size. Returns the root and the file that holds it.
 */
async function buildPersisted(state: OpenState, map: Mapper, docRoot: CID): Promise<{ root: CID; file: string }> {
  const batches = new BatchedCommit(state.store, state.head?.heads ?? [])
  const target = { sink: batches.add, flush: batches.flush }
  const built = await state.store.whilePinned(docRoot, () => buildIndex(state.store, map, docRoot, target))
  const root = built ?? state.emptyRoot
  await batches.flush()
  return { root, file: state.store.locationOf(root) ?? '' }
}

/**
 * Keeps secondary indexes in step with the documents. Indexes are updated lazily, when queried, rather than
 * in the write transaction: the database does not know which indexes exist until they are queried (a map
 * function is only known by the query that passes it), writes stay as fast as without indexes, and an
 * update after many writes is one tree diff and one small file instead of one per write. Callers run the
 * updates in the write queue, so a query sees every write acknowledged before it.
 */
export class Indexes {
  readonly #branch: string
  /** Map functions of the persisted indexes queried in this session, to update or rebuild them. */
  readonly #mappers = new Map<string, Mapper>()
  /**
   * The document tree each persisted index reflects stays pinned: it may be a delta head's derived tree,
   * which the next diff reads and a checkpoint would otherwise sweep.
   */
  readonly #pinned = new Map<string, () => void>()
  /** The in-memory indexes of unnamed map functions, per function object (see indexIdentity). */
  readonly #memoryIndexes = new WeakMap<MapFn, MemoryIndex>()

  constructor(branch: string) {
    this.#branch = branch
  }

  /** The persisted index `name` brought up to the current head, and its record stored. */
  async persisted(state: OpenState, name: string, source: string | undefined, map: Mapper): Promise<IndexState> {
    this.#mappers.set(name, map)
    const head = state.head
    const docRoot = await rootAt(state, head)
    let current = state.indexes.get(name)
    // A named index built by another map function source is rebuilt, never answered from.
    if (current && current.source !== source) current = undefined
    if (current && current.docRoot.equals(docRoot)) return current
    // The tree it reflects may be a delta head's, derived and swept since (or never derived since opening).
    if (current?.docEvent && !state.store.has(current.docRoot) && !state.store.locationOf(current.docRoot)) {
      await rootOf(state.store, current.docEvent).catch(() => undefined)
    }
    let root: CID
    let file = current?.file ?? ''
    if (!current) ({ root, file } = await buildPersisted(state, map, docRoot))
    else {
      try {
        const { root: updated, blocks } = await updateIndex(state.store, map, current.root, current.docRoot, docRoot)
        root = updated
        if (blocks.length) file = await state.store.commit(blocks, state.head?.heads ?? [])
      } catch (error) {
        // The tree it reflects can no longer be read (compacted away, or a derived tree gone): rebuild it.
        if (!(error instanceof MissingBlockError)) throw error
        ;({ root, file } = await buildPersisted(state, map, docRoot))
      }
    }
    // A delta head's tree is in no file: the record names the head event (and its file) to derive it from.
    const docFile = state.store.locationOf(docRoot)
    const derived = !docFile && head?.heads.length === 1
    const next: IndexState = {
      name,
      ...(source === undefined ? {} : { source }),
      root,
      file: state.store.locationOf(root) ?? file,
      docRoot,
      docFile: docFile ?? (derived ? head.files[0]! : ''),
      ...(derived ? { docEvent: head.heads[0]! } : {}),
    }
    state.indexes.set(name, next)
    this.#pinned.get(name)?.()
    this.#pinned.set(name, state.store.pin(docRoot))
    if (next.file && next.docFile) await writeIndexes(state.storage, this.#branch, state.indexes)
    return next
  }

  /** The in-memory index of the unnamed map function `fn`, brought up to the current head. */
  async inMemory(state: OpenState, fn: MapFn, map: Mapper): Promise<MemoryIndex> {
    const docRoot = await rootAt(state)
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
    // Read leaf by leaf, not as a diff from the empty tree (which holds every document at once).
    index.apply(await state.store.whilePinned(docRoot, () => allRows(state.store, map, docRoot)), docRoot)
    this.#memoryIndexes.set(fn, index)
    return index
  }

  /**
   * The indexes a compaction keeps, as unsaved blocks in the store: brought up to date and rebuilt from the
   * live documents, which drops their tombstones. An index whose map function this session does not know is
   * kept when current and dropped when stale (the next query rebuilds it).
   */
  async rebuiltFor(state: OpenState, headRoot: CID): Promise<Map<string, IndexState>> {
    const indexes = new Map<string, IndexState>()
    for (const [name, index] of state.indexes) {
      const map = this.#mappers.get(name) ?? (name.startsWith('field:') ? mapper(name.slice(6)) : undefined)
      if (map) {
        // Unsaved blocks are in memory until the compaction writes them, so the rows are sorted in one run.
        const built = await buildIndex(state.store, map, headRoot, {
          sink: ({ block, links }) => state.store.putUnsaved(block, links),
          flush: async () => {},
          runRows: Infinity,
        })
        const root = built ?? state.emptyRoot
        indexes.set(name, { ...index, root, docRoot: headRoot, docEvent: undefined })
      } else if (index.docRoot.equals(headRoot)) {
        indexes.set(name, index)
      }
    }
    return indexes
  }
}
