import type { BlockFetcher, CID } from '../blockstore/block.js'
import type { Body, Entry } from '../crdt/entry.js'
import { load, type BranchNode, type LeafNode, type TreeNode } from '../crdt/tree.js'
import { emitRows } from './indexer.js'
import type { Mapper } from './query.js'
import { TreeBuilder, type BlockSink } from './tree-builder.js'

/** Where a build's nodes go: committed in batches (a persisted index), or kept unsaved (a compaction's rebuild). */
export interface BuildTarget {
  /** Receives each finished node, children first (see TreeBuilder). */
  sink: BlockSink
  /** Makes every block given to `sink` so far readable through the store, as the merge reads the runs back. */
  flush: () => Promise<void>
  /** Rows sorted in memory at once (default RUN_ROWS); Infinity keeps all rows in one in-memory run. */
  runRows?: number
}

/** ~17 MB of rows as objects (~270 B for an entry, its key and a small body): 16 runs at a million rows. */
const RUN_ROWS = 65_536
/** Characters of keys and values in a run before it is written, whatever the row count (large emitted values). */
const RUN_CHARS = 8_000_000
/** Runs merged at once: each holds one leaf and its file in the block cache while merged. */
const FAN_IN = 16

/**
 * The root of the index of `map` over the document tree `docRoot`, or undefined when it emits no row.
 *
 * Builds an index from nothing (its first query, or a rebuild) in memory bounded whatever the database's size,
 * as an external merge sort: the document tree is read in id order, leaf by leaf; the rows it emits are sorted
 * in runs of at most `RUN_ROWS` rows, each written as a tree of its own (a run that starts past the end of the
 * previous one continues that tree, so rows emitted in index order, such as a field that grows with the id,
 * make one run that is the index itself); the runs are then merged `FAN_IN` at a time into the index tree, the
 * last rows from memory.
 * Every tree is built bottom-up (TreeBuilder), so the index has the root an in-memory build gives.
 *
 * The cost: at more than one run, the rows are written twice (the run trees, then the index) and the run trees
 * stay in files nothing links to until the next compaction deletes them.
 */
export async function buildIndex(store: BlockFetcher, map: Mapper, docRoot: CID, target: BuildTarget): Promise<CID | undefined> {
  const runRows = target.runRows ?? RUN_ROWS
  /** Sorted runs: trees written, and at the end the last rows, sorted in memory. */
  let runs: (CID | Entry[])[] = []
  let buffer: Entry[] = []
  let chars = 0
  let run: TreeBuilder | undefined
  let runEnd = ''
  const sortBuffer = () => buffer.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  const writeBuffer = async () => {
    sortBuffer()
    if (run && buffer[0]![0] <= runEnd) {
      runs.push((await run.finish())!)
      run = undefined
    }
    run ??= new TreeBuilder(target.sink)
    for (const entry of buffer) {
      const closing = run.add(entry)
      if (closing) await closing
    }
    runEnd = buffer[buffer.length - 1]![0]
    buffer = []
    chars = 0
  }
  for await (const leaf of leavesOf(store, docRoot)) {
    for (const entry of leaf) {
      if (entry[2] === null) continue
      emitRows(map, entry[0], entry[2], (key, row) => {
        buffer.push([key, 0, row])
        chars += key.length + weight(row)
      })
    }
    if (buffer.length >= runRows || chars >= RUN_CHARS) await writeBuffer()
  }
  if (buffer.length && run && sortBuffer()[0]![0] <= runEnd) {
    // The last rows start a run of their own: merged from memory rather than written and read back.
    runs.push((await run.finish())!, buffer)
    run = undefined
  } else if (buffer.length) await writeBuffer()
  if (run) runs.push((await run.finish())!)
  while (runs.length > 1) {
    await target.flush()
    const merged: CID[] = []
    for (let i = 0; i < runs.length; i += FAN_IN) {
      const group = runs.slice(i, i + FAN_IN)
      if (group.length === 1) merged.push(group[0] as CID)
      else merged.push(await mergeRuns(store, group, new TreeBuilder(target.sink)))
    }
    runs = merged
  }
  return runs[0] as CID | undefined
}

/** Every row of the index of `map` over `docRoot`, read leaf by leaf (for an index kept in memory). */
export async function allRows(store: BlockFetcher, map: Mapper, docRoot: CID): Promise<Map<string, Body>> {
  const rows = new Map<string, Body>()
  for await (const leaf of leavesOf(store, docRoot)) {
    for (const entry of leaf) if (entry[2] !== null) emitRows(map, entry[0], entry[2], (key, row) => rows.set(key, row))
  }
  return rows
}

/**
 * The leaves of a tree in key order, each as its entries: the next few leaves are read while one is used (a
 * leaf read may decrypt a file), and the per-entry cost stays that of a loop, not of an async generator.
 */
async function* leavesOf(store: BlockFetcher, root: CID): AsyncGenerator<Entry[]> {
  const node = await load(store, root)
  if (node.l === 0) {
    yield (node as LeafNode).e
    return
  }
  const children = (node as BranchNode).e
  if (node.l > 1) {
    for (const [, child] of children) yield* leavesOf(store, child)
    return
  }
  const reads: Promise<TreeNode>[] = []
  for (let i = 0; i < children.length; i++) {
    while (reads.length < i + READ_AHEAD && reads.length < children.length) reads.push(load(store, children[reads.length]![1]))
    yield ((await reads[i]!) as LeafNode).e
  }
}

/** Leaves read ahead of the one a build uses. */
const READ_AHEAD = 4

/** Merges sorted runs (no key in two of them; trees, or rows in memory) into `builder`; returns its root. */
async function mergeRuns(store: BlockFetcher, runs: (CID | Entry[])[], builder: TreeBuilder): Promise<CID> {
  const cursors = runs.map((run) => ({ leaves: Array.isArray(run) ? inMemory(run) : leavesOf(store, run), leaf: [] as Entry[], at: 0 }))
  // A run's leaves are never empty (the builder makes none): an empty leaf marks a run merged to its end.
  const advance = async (cursor: (typeof cursors)[number]) => {
    const next = await cursor.leaves.next()
    cursor.leaf = next.done ? [] : next.value
    cursor.at = 0
  }
  await Promise.all(cursors.map(advance))
  for (;;) {
    let least: (typeof cursors)[number] | undefined
    for (const cursor of cursors) {
      if (cursor.at < cursor.leaf.length && (!least || cursor.leaf[cursor.at]![0] < least.leaf[least.at]![0])) least = cursor
    }
    if (!least) return (await builder.finish())!
    const closing = builder.add(least.leaf[least.at++]!)
    if (closing) await closing
    if (least.at === least.leaf.length) await advance(least)
  }
}

async function* inMemory(run: Entry[]): AsyncGenerator<Entry[]> {
  yield run
}

/** Roughly how many characters a row's body adds to a run. */
function weight(row: Record<string, unknown>): number {
  const value = 'm' in row ? row.m : row.v
  if (value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean') return 8
  if (typeof value === 'string') return value.length
  return JSON.stringify(value).length
}
