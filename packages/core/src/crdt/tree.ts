import { CID, type Block, type BlockFetcher } from '../blockstore/block.js'
import { attachmentLinks } from '../format/attachment.js'
import { countLiveEntries, decodeTreeNode, encodeTreeNode, encodeTreeNodeNow, type BranchNode, type LeafNode, type TreeNode } from '../format/tree-node.js'
import { compareKeys, type Entry } from './entry.js'

/**
 * The document map: a prolly tree (a B-tree whose node boundaries are chosen by hashing keys), so its shape
 * depends only on the set of keys: two replicas holding the same entries hold the same root CID, a change
 * rewrites one path, and two trees are diffed by skipping the subtrees whose CIDs they share.
 *
 * A node ends after a key whose hash has (level + 1) × BITS low zero bits; nodes are ~32 entries wide. Keys
 * are never removed (deletes are tombstones), so an update only ever splits nodes, which keeps it incremental.
 */
export type { BranchNode, LeafNode, TreeNode }

export interface NewBlock {
  block: Block
  links: CID[]
}

const BITS = 5

function hashKey(key: string): number {
  // FNV-1a over UTF-16 units, then murmur3's finalizer to spread the low bits.
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

export function endsNode(key: string, level: number): boolean {
  const bits = (level + 1) * BITS
  if (bits >= 32) return hashKey(key) === 0
  return (hashKey(key) & ((1 << bits) - 1)) === 0
}

export type Ref = [lastKey: string, cid: CID]

export async function load(store: BlockFetcher, cid: CID): Promise<TreeNode> {
  return decodeTreeNode((await store.get(cid)).value, cid)
}

export async function makeNode(node: TreeNode, out: NewBlock[]): Promise<Ref> {
  return placeNode(await encodeTreeNode(node), out)
}

function placeNode(block: Block<TreeNode>, out: NewBlock[]): Ref {
  const node = block.value
  // A leaf links the attachment manifests of its documents, so its file names where they live.
  const links = node.l === 0 ? attachmentLinks((node as LeafNode).e) : (node as BranchNode).e.map(([, cid]) => cid)
  out.push({ block, links })
  const last = node.e[node.e.length - 1]
  return [last ? last[0] : '', block.cid]
}

export async function emptyTree(out: NewBlock[]): Promise<CID> {
  return (await makeNode({ l: 0, e: [] }, out))[1]
}

/**
 * The entry of `key` under `root`. Walks without an async step while the nodes on the way are held decoded
 * (every write looks up the id it writes: a single put's path is in the cache).
 */
export function lookup(store: BlockFetcher, root: CID, key: string): Promise<Entry | undefined> {
  try {
    const held = lookupHeld(store, root, key)
    return held && 'notHeld' in held ? lookupLoading(store, held.notHeld, key) : Promise.resolve(held)
  } catch (error) {
    // A block that is not a tree node fails as the loading walk's would: a rejected promise.
    return Promise.reject(error)
  }
}

/**
 * The entry of `key` under `root` (undefined when there is none) as far as the nodes on the way are held
 * decoded in memory (`peek`), with no async step; `{ notHeld }` names the first node that is not.
 */
export function lookupHeld(store: BlockFetcher, root: CID, key: string): Entry | undefined | { notHeld: CID } {
  let cid = root
  for (;;) {
    const held = store.peek?.(cid)
    if (!held) return { notHeld: cid }
    const node = decodeTreeNode(held.value, cid)
    if (node.l === 0) return findInLeaf(node as LeafNode, key)
    const refs = (node as BranchNode).e
    cid = refs[firstRefCovering(refs, key)]![1]
  }
}

async function lookupLoading(store: BlockFetcher, root: CID, key: string): Promise<Entry | undefined> {
  let node = await load(store, root)
  while (node.l !== 0) {
    const refs = (node as BranchNode).e
    const index = firstRefCovering(refs, key)
    node = await load(store, refs[index]![1])
  }
  return findInLeaf(node as LeafNode, key)
}

function findInLeaf(leaf: LeafNode, key: string): Entry | undefined {
  const entries = leaf.e
  let lo = 0
  let hi = entries.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const c = compareKeys(entries[mid]![0], key)
    if (c === 0) return entries[mid]
    if (c < 0) lo = mid + 1
    else hi = mid - 1
  }
  return undefined
}

/** The first child whose last key is >= key; the last child covers everything beyond. */
export function firstRefCovering(refs: Ref[], key: string): number {
  let lo = 0
  let hi = refs.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareKeys(refs[mid]![0], key) >= 0) hi = mid
    else lo = mid + 1
  }
  return lo
}

/**
 * The entries with `gte <= key < lt` (either bound optional), in key order or reversed. Lazy: only the nodes
 * on the way to the entries read are loaded, so a range of 100 entries costs a few node reads whatever the
 * tree's size.
 */
export async function* scan(
  store: BlockFetcher,
  root: CID,
  options: { gte?: string; lt?: string; reverse?: boolean } = {},
): AsyncGenerator<Entry> {
  const { gte, lt, reverse } = options
  const node = await load(store, root)
  if (node.l === 0) {
    const entries = (node as LeafNode).e
    if (reverse) {
      for (let i = entries.length - 1; i >= 0; i--) {
        const key = entries[i]![0]
        if (lt !== undefined && key >= lt) continue
        if (gte !== undefined && key < gte) return
        yield entries[i]!
      }
    } else {
      for (const entry of entries) {
        if (gte !== undefined && entry[0] < gte) continue
        if (lt !== undefined && entry[0] >= lt) return
        yield entry
      }
    }
    return
  }
  const refs = (node as BranchNode).e
  if (reverse) {
    const start = lt === undefined ? refs.length - 1 : firstRefCovering(refs, lt)
    for (let i = start; i >= 0; i--) {
      if (gte !== undefined && i < start && refs[i]![0] < gte) return
      yield* scan(store, refs[i]![1], options)
    }
    return
  }
  const start = gte === undefined ? 0 : firstRefCovering(refs, gte)
  for (let i = start; i < refs.length; i++) {
    if (lt !== undefined && i > start && refs[i - 1]![0] >= lt) return
    yield* scan(store, refs[i]![1], options)
  }
}

/**
 * The live entries (documents, not tombstones) of the tree under `root`. Leaves are counted from their bytes
 * (`countLiveEntries`), asked for undecoded: a count of every document decoded every leaf before.
 */
export async function countLive(store: BlockFetcher & { getUndecoded(cid: CID): Promise<Block> }, root: CID): Promise<number> {
  const counted = countLiveEntries((await store.getUndecoded(root)).bytes)
  if (counted !== undefined) return counted
  const node = await load(store, root)
  let live = 0
  if (node.l === 0) {
    for (const entry of (node as LeafNode).e) if (entry[2] !== null) live++
    return live
  }
  for (const [, child] of (node as BranchNode).e) live += await countLive(store, child)
  return live
}

/** For an id on both sides: true keeps `incoming`, false keeps `existing`, an entry replaces both. */
export type Resolve = (incoming: Entry, existing: Entry) => boolean | Entry

/**
 * Applies sorted entries to the tree. `takeIncoming` decides each id present on both sides. Returns the new
 * root and the blocks it created (nothing is written: the caller commits them as one file).
 */
export async function applyEntries(
  store: BlockFetcher,
  root: CID,
  incoming: Entry[],
  takeIncoming: Resolve,
): Promise<{ root: CID; blocks: NewBlock[] }> {
  const out: NewBlock[] = []
  if (incoming.length === 0) return { root, blocks: out }
  const walk = applySteps(root, incoming, takeIncoming, out)
  let step = walk.next()
  while (!step.done) {
    const need = step.value
    step = walk.next(need.load ? await load(store, need.load) : await encodeTreeNode(need.encode!))
  }
  return { root: step.value, blocks: out }
}

/**
 * `applyEntries` done before returning, from the nodes held decoded in memory (a writer's own tree, which its
 * checkpoints rewrite: see LocalHead.advanceNow); undefined when a node on the way is not held, or hashing
 * answers with a promise (WebCrypto).
 */
export function applyEntriesNow(
  store: BlockFetcher,
  root: CID,
  incoming: Entry[],
  takeIncoming: Resolve,
): { root: CID; blocks: NewBlock[] } | undefined {
  const out: NewBlock[] = []
  if (incoming.length === 0) return { root, blocks: out }
  const walk = applySteps(root, incoming, takeIncoming, out)
  let step = walk.next()
  while (!step.done) {
    const need = step.value
    let answer: TreeNode | Block<TreeNode> | undefined
    if (need.load) {
      const held = store.peek?.(need.load)
      answer = held && decodeTreeNode(held.value, need.load)
    } else answer = encodeTreeNodeNow(need.encode!)
    if (!answer) return undefined
    step = walk.next(answer)
  }
  return { root: step.value, blocks: out }
}

/**
 * What the tree update asks of the one running it: a node to load, or one to encode. It is written once, as a
 * generator, for the two that run it: `applyEntries` (reads and hashes that may wait) and `applyEntriesNow`
 * (a single put's checkpoint, from what is held, with no async step).
 */
interface TreeNeed {
  load?: CID
  encode?: TreeNode
}
type TreeSteps<T> = Generator<TreeNeed, T, TreeNode | Block<TreeNode>>

function* loadStep(cid: CID): TreeSteps<TreeNode> {
  return (yield { load: cid }) as TreeNode
}

function* makeNodeStep(node: TreeNode, out: NewBlock[]): TreeSteps<Ref> {
  return placeNode((yield { encode: node }) as Block<TreeNode>, out)
}

function* applySteps(root: CID, incoming: Entry[], takeIncoming: Resolve, out: NewBlock[]): TreeSteps<CID> {
  const top = yield* loadStep(root)
  let refs = yield* updateSteps(top, incoming, takeIncoming, out)
  let level = top.l
  while (refs.length > 1) {
    level++
    refs = yield* chunkRefs(refs, level, out)
  }
  return refs[0]![1]
}

function* updateSteps(node: TreeNode, incoming: Entry[], takeIncoming: Resolve, out: NewBlock[]): TreeSteps<Ref[]> {
  if (node.l === 0) {
    const merged = mergeSorted((node as LeafNode).e, incoming, takeIncoming)
    return yield* chunkEntries(merged, out)
  }
  const refs = (node as BranchNode).e
  const next: Ref[] = []
  let i = 0
  for (let c = 0; c < refs.length; c++) {
    const ref = refs[c]!
    const isLast = c === refs.length - 1
    const start = i
    while (i < incoming.length && (isLast || compareKeys(incoming[i]![0], ref[0]) <= 0)) i++
    if (start === i) {
      next.push(ref)
      continue
    }
    const child = yield* loadStep(ref[1])
    next.push(...(yield* updateSteps(child, incoming.slice(start, i), takeIncoming, out)))
  }
  return yield* chunkRefs(next, node.l, out)
}

function mergeSorted(existing: Entry[], incoming: Entry[], takeIncoming: Resolve): Entry[] {
  const merged: Entry[] = []
  let a = 0
  let b = 0
  while (a < existing.length || b < incoming.length) {
    const x = existing[a]
    const y = incoming[b]
    if (!y) merged.push(existing[a++]!)
    else if (!x) merged.push(incoming[b++]!)
    else {
      const c = compareKeys(x[0], y[0])
      if (c < 0) merged.push(existing[a++]!)
      else if (c > 0) merged.push(incoming[b++]!)
      else {
        const resolved = takeIncoming(y, x)
        merged.push(resolved === true ? y : resolved === false ? x : resolved)
        a++
        b++
      }
    }
  }
  return merged
}

function* chunkEntries(entries: Entry[], out: NewBlock[]): TreeSteps<Ref[]> {
  const refs: Ref[] = []
  let start = 0
  for (let i = 0; i < entries.length; i++) {
    if (endsNode(entries[i]![0], 0)) {
      refs.push(yield* makeNodeStep({ l: 0, e: entries.slice(start, i + 1) }, out))
      start = i + 1
    }
  }
  if (start < entries.length || refs.length === 0) refs.push(yield* makeNodeStep({ l: 0, e: entries.slice(start) }, out))
  return refs
}

function* chunkRefs(refs: Ref[], level: number, out: NewBlock[]): TreeSteps<Ref[]> {
  const result: Ref[] = []
  let start = 0
  for (let i = 0; i < refs.length; i++) {
    if (endsNode(refs[i]![0], level)) {
      result.push(yield* makeNodeStep({ l: level, e: refs.slice(start, i + 1) }, out))
      start = i + 1
    }
  }
  if (start < refs.length) result.push(yield* makeNodeStep({ l: level, e: refs.slice(start) }, out))
  return result
}

/**
 * The entries of tree `to` that are absent from or different in tree `from`, each with the version `from`
 * holds (if any). Work is proportional to the differences: shared subtrees are skipped by CID.
 */
export async function diff(
  store: BlockFetcher,
  from: CID,
  to: CID,
): Promise<{ entry: Entry; previous: Entry | undefined }[]> {
  if (from.equals(to)) return []
  let a = [await load(store, from)]
  let b = [await load(store, to)]
  let aCids: CID[] = [from]
  let bCids: CID[] = [to]
  const levelOf = (nodes: TreeNode[]) => nodes[0]!.l
  const expand = async (nodes: TreeNode[]) => {
    const cids: CID[] = []
    for (const node of nodes) for (const [, cid] of (node as BranchNode).e) cids.push(cid)
    return { cids, nodes: await Promise.all(cids.map((cid) => load(store, cid))) }
  }
  while (levelOf(a) > levelOf(b)) ({ cids: aCids, nodes: a } = await expand(a))
  while (levelOf(b) > levelOf(a)) ({ cids: bCids, nodes: b } = await expand(b))
  for (;;) {
    const aSet = new Set(aCids.map(String))
    const bSet = new Set(bCids.map(String))
    const aKeep = aCids.map((cid, i) => (bSet.has(cid.toString()) ? -1 : i)).filter((i) => i >= 0)
    const bKeep = bCids.map((cid, i) => (aSet.has(cid.toString()) ? -1 : i)).filter((i) => i >= 0)
    a = aKeep.map((i) => a[i]!)
    b = bKeep.map((i) => b[i]!)
    aCids = aKeep.map((i) => aCids[i]!)
    bCids = bKeep.map((i) => bCids[i]!)
    if (b.length === 0) return []
    if (levelOf(b) === 0) break
    ;({ cids: bCids, nodes: b } = await expand(b))
    if (a.length) ({ cids: aCids, nodes: a } = await expand(a))
  }
  const previous = new Map<string, Entry>()
  for (const node of a) for (const entry of (node as LeafNode).e) previous.set(entry[0], entry)
  const result: { entry: Entry; previous: Entry | undefined }[] = []
  for (const node of b) {
    for (const entry of (node as LeafNode).e) {
      const before = previous.get(entry[0])
      if (!before || before[1] !== entry[1] || !sameBody(before, entry)) result.push({ entry, previous: before })
    }
  }
  return result
}

function sameBody(a: Entry, b: Entry): boolean {
  return JSON.stringify(a.slice(2)) === JSON.stringify(b.slice(2))
}
